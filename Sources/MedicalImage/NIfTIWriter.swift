import CZlib
import Foundation
import Support

extension NIfTI {
    /// Writes .nii or .nii.gz (by extension), atomically, as NIfTI-1 little endian. `type` is the
    /// on-disk type; integer types store `round((value - intercept) / slope)` (clamped to the
    /// type's range) and record `scaling` in scl_slope/scl_inter, e.g.
    /// `Scaling(slope: 1, intercept: -1024)` to keep HU in uint16. Float types ignore `scaling`.
    public static func write(_ volume: Volume<Float>, to url: URL, as type: VoxelType = .float32,
                             scaling: Scaling? = nil) throws {
        if let s = scaling, !(s.slope.isFinite && s.slope != 0 && s.intercept.isFinite) {
            throw MedicalImageError(.badValue, url.path, "cannot write with scaling slope \(s.slope), intercept \(s.intercept)")
        }
        try checkWritable(volume.geometry, url)
        let isFloat = type == .float32 || type == .float64
        let stored = isFloat ? nil : scaling
        let header = headerBytes(geometry: volume.geometry, type: type, scaling: stored,
                                 codes: volume.transformCodes, path: url.path)
        let slope = stored?.slope ?? 1, inter = stored?.intercept ?? 0
        try writeFile(url, header: header, count: volume.voxels.count, elementSize: type.byteSize, level: 1) { start, n, out in
            volume.voxels.withUnsafeBufferPointer { v in
                encode(v.baseAddress! + start, n, type, slope: slope, inter: inter, into: out)
            }
        }
    }

    /// Writes a uint8 label map (.nii or .nii.gz by extension), atomically.
    public static func write(_ volume: Volume<UInt8>, to url: URL) throws {
        try checkWritable(volume.geometry, url)
        let header = headerBytes(geometry: volume.geometry, type: .uint8, scaling: nil,
                                 codes: volume.transformCodes, path: url.path)
        try writeFile(url, header: header, count: volume.voxels.count, elementSize: 1, level: 6) { start, n, out in
            volume.voxels.withUnsafeBytes { out.copyMemory(from: $0.baseAddress! + start, byteCount: n) }
        }
    }

    /// NIfTI-1 stores dims as int16 and the affine as float32: refuse what would not survive.
    static func checkWritable(_ g: Geometry, _ url: URL) throws {
        guard g.shape.allSatisfy({ $0 >= 1 && $0 <= Int(Int16.max) }) else {
            throw MedicalImageError(.unsupported, url.path, "shape \(g.shape) does not fit NIfTI-1 (each dimension 1...32767)")
        }
        guard g.affine.allSatisfy({ $0.isFinite && abs($0) < Double(Float.greatestFiniteMagnitude) }) else {
            throw MedicalImageError(.badValue, url.path, "affine has non-finite values: \(g.affine)")
        }
    }

    static func encode(_ src: UnsafePointer<Float>, _ n: Int, _ type: VoxelType, slope: Double, inter: Double,
                       into out: UnsafeMutableRawPointer) {
        @inline(__always) func ints<T: FixedWidthInteger>(_: T.Type) {
            let p = out.assumingMemoryBound(to: T.self)
            let lo = Double(T.min), hi = Double(T.max)
            for i in 0..<n {
                var r = ((Double(src[i]) - inter) / slope).rounded()
                if r.isNaN { r = 0 }
                p[i] = T(min(max(r, lo), hi)).littleEndian
            }
        }
        switch type {
        case .uint8: ints(UInt8.self)
        case .int8: ints(Int8.self)
        case .int16: ints(Int16.self)
        case .uint16: ints(UInt16.self)
        case .int32: ints(Int32.self)
        case .uint32: ints(UInt32.self)
        case .float32:
            let p = out.assumingMemoryBound(to: UInt32.self)
            for i in 0..<n { p[i] = src[i].bitPattern.littleEndian }
        case .float64:
            let p = out.assumingMemoryBound(to: UInt64.self)
            for i in 0..<n { p[i] = Double(src[i]).bitPattern.littleEndian }
        }
    }

    /// Streams header + data (gzip if the name ends in .gz) into an atomic file.
    /// `level`: zlib level; 1 for images (CT noise barely compresses further, and level 1 is
    /// several times faster), 6 for label maps (long runs, fast at any level, much smaller).
    static func writeFile(_ url: URL, header: [UInt8], count: Int, elementSize: Int, level: Int32,
                          fill: (Int, Int, UnsafeMutableRawPointer) -> Void) throws {
        let gz = url.pathExtension.lowercased() == "gz"
        let perChunk = max(1, (1 << 20) / elementSize)
        let buf = UnsafeMutableRawPointer.allocate(byteCount: perChunk * elementSize, alignment: 64)
        defer { buf.deallocate() }
        try AtomicFile.write(to: url) { handle in
            let sink: (UnsafeRawBufferPointer) throws -> Void
            var deflater: Deflater?
            if gz {
                let d = try Deflater(path: url.path, handle: handle, level: level)
                deflater = d
                sink = { try d.write($0, finish: false) }
            } else {
                sink = { try handle.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: $0.baseAddress!), count: $0.count, deallocator: .none)) }
            }
            try header.withUnsafeBytes { try sink($0) }
            var start = 0
            while start < count {
                let n = min(perChunk, count - start)
                fill(start, n, buf)
                try sink(UnsafeRawBufferPointer(start: buf, count: n * elementSize))
                start += n
            }
            try deflater?.write(UnsafeRawBufferPointer(start: buf, count: 0), finish: true)
        }
    }

    /// A NIfTI-1 little-endian header plus an empty extension flag (352 bytes), with the affine
    /// in both sform and qform so every reader sees the same geometry.
    static func headerBytes(geometry: Geometry, type: VoxelType, scaling: Scaling?, codes: TransformCodes?,
                            path: String) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 352)
        func put16(_ o: Int, _ v: Int16) { withUnsafeBytes(of: v.littleEndian) { for k in 0..<2 { h[o + k] = $0[k] } } }
        func put32(_ o: Int, _ v: Int32) { withUnsafeBytes(of: v.littleEndian) { for k in 0..<4 { h[o + k] = $0[k] } } }
        func putF(_ o: Int, _ v: Double) { put32(o, Int32(bitPattern: Float(v).bitPattern)) }
        put32(0, 348)
        h[38] = UInt8(ascii: "r")     // "regular", as nibabel writes
        let s = geometry.shape
        put16(40, 3)
        for d in 0..<3 { put16(42 + 2 * d, Int16(clamping: s[d])) }
        for d in 3..<7 { put16(42 + 2 * d, 1) }
        put16(70, Int16(NIfTIHeader.code(of: type)))
        put16(72, Int16(type.byteSize * 8))
        let q = QForm(affine: geometry.affine)
        putF(76, q.qfac)
        for d in 0..<3 { putF(80 + 4 * d, q.zooms[d]) }
        for d in 3..<7 { putF(80 + 4 * d, 1) }
        putF(108, 352)
        putF(112, scaling?.slope ?? 0)
        putF(116, scaling?.intercept ?? 0)
        h[123] = 2 | 8                    // mm, seconds
        let descrip = Array("LiverSeg".utf8)
        for (k, c) in descrip.enumerated() { h[148 + k] = c }
        // Keep the source's codes; a missing or zero one becomes the other's, else "scanner".
        let qc = codes?.qform ?? 0, sc = codes?.sform ?? 0
        let qcode = qc > 0 ? qc : (sc > 0 ? sc : 1)
        let scode = sc > 0 ? sc : (qc > 0 ? qc : 1)
        put16(252, Int16(clamping: qcode))
        put16(254, Int16(clamping: scode))
        for d in 0..<3 { putF(256 + 4 * d, q.quaternion[d]) }
        for d in 0..<3 { putF(268 + 4 * d, geometry.affine[d * 4 + 3]) }
        for k in 0..<12 { putF(280 + 4 * k, geometry.affine[k]) }
        for (k, c) in [UInt8(ascii: "n"), UInt8(ascii: "+"), UInt8(ascii: "1"), 0].enumerated() { h[344 + k] = c }
        return h
    }
}

/// The quaternion form of an affine, as nibabel's `set_qform`: zooms are the column norms,
/// qfac = −1 if the rotation part has a negative determinant, and shears are removed by
/// taking the nearest orthogonal matrix (polar decomposition) before the quaternion.
struct QForm {
    var zooms: [Double]
    var qfac: Double
    var quaternion: [Double]   // b, c, d with a ≥ 0

    init(affine m: [Double]) {
        var r = [Double](repeating: 0, count: 9)
        var z = [Double](repeating: 0, count: 3)
        for c in 0..<3 {
            let a: Double = m[c], b: Double = m[4 + c], d: Double = m[8 + c]
            z[c] = (a * a + b * b + d * d).squareRoot()
        }
        zooms = z
        for row in 0..<3 { for c in 0..<3 { r[row * 3 + c] = zooms[c] == 0 ? (row == c ? 1 : 0) : m[row * 4 + c] / zooms[c] } }
        qfac = Self.det(r) > 0 ? 1 : -1
        if qfac < 0 { for row in 0..<3 { r[row * 3 + 2] = -r[row * 3 + 2] } }
        r = Self.orthogonalize(r)
        quaternion = Self.quaternion(r)
    }

    static func det(_ a: [Double]) -> Double {
        let t0: Double = a[0] * (a[4] * a[8] - a[5] * a[7])
        let t1: Double = a[1] * (a[3] * a[8] - a[5] * a[6])
        let t2: Double = a[2] * (a[3] * a[7] - a[4] * a[6])
        return t0 - t1 + t2
    }

    /// Newton iteration R ← (R + R⁻ᵀ)/2 converges to the orthogonal polar factor.
    static func orthogonalize(_ r0: [Double]) -> [Double] {
        var r = r0
        for _ in 0..<30 {
            let d = det(r)
            if abs(d) < 1e-12 { return [1, 0, 0, 0, 1, 0, 0, 0, 1] }
            // Inverse transpose = cofactor matrix / det.
            func c(_ a: Int, _ b: Int, _ e: Int, _ f: Int) -> Double { r[a] * r[b] - r[e] * r[f] }
            let cof: [Double] = [c(4, 8, 5, 7), c(5, 6, 3, 8), c(3, 7, 4, 6),
                                 c(2, 7, 1, 8), c(0, 8, 2, 6), c(1, 6, 0, 7),
                                 c(1, 5, 2, 4), c(2, 3, 0, 5), c(0, 4, 1, 3)]
            var next = r
            var change = 0.0
            for k in 0..<9 {
                next[k] = 0.5 * (r[k] + cof[k] / d)
                change = max(change, abs(next[k] - r[k]))
            }
            r = next
            if change < 1e-15 { break }
        }
        return r
    }

    /// Quaternion (b, c, d) of a rotation matrix with a ≥ 0 (Shepperd's method).
    static func quaternion(_ r: [Double]) -> [Double] {
        let t = r[0] + r[4] + r[8]
        var w, x, y, z: Double
        if t > 0 {
            let s = (t + 1).squareRoot() * 2
            w = 0.25 * s; x = (r[7] - r[5]) / s; y = (r[2] - r[6]) / s; z = (r[3] - r[1]) / s
        } else if r[0] > r[4] && r[0] > r[8] {
            let s = (1 + r[0] - r[4] - r[8]).squareRoot() * 2
            w = (r[7] - r[5]) / s; x = 0.25 * s; y = (r[1] + r[3]) / s; z = (r[2] + r[6]) / s
        } else if r[4] > r[8] {
            let s = (1 + r[4] - r[0] - r[8]).squareRoot() * 2
            w = (r[2] - r[6]) / s; x = (r[1] + r[3]) / s; y = 0.25 * s; z = (r[5] + r[7]) / s
        } else {
            let s = (1 + r[8] - r[0] - r[4]).squareRoot() * 2
            w = (r[3] - r[1]) / s; x = (r[2] + r[6]) / s; y = (r[5] + r[7]) / s; z = 0.25 * s
        }
        if w < 0 { w = -w; x = -x; y = -y; z = -z }
        return [x, y, z]
    }
}

/// gzip compression into a file handle, one chunk at a time.
final class Deflater {
    private let strm: UnsafeMutablePointer<z_stream>
    private let out: UnsafeMutablePointer<UInt8>
    private let outSize = 1 << 18
    private let handle: FileHandle
    private let path: String

    init(path: String, handle: FileHandle, level: Int32) throws {
        self.path = path
        self.handle = handle
        strm = .allocate(capacity: 1)
        strm.initialize(to: z_stream())
        out = .allocate(capacity: outSize)
        // 15 + 16: maximal window with a gzip wrapper.
        let rc = deflateInit2_(strm, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                               Int32(MemoryLayout<z_stream>.size))
        if rc != Z_OK {
            strm.deallocate(); out.deallocate()
            throw MedicalImageError(.io, path, "zlib could not start compressing (code \(rc))")
        }
    }

    deinit {
        deflateEnd(strm)
        strm.deallocate()
        out.deallocate()
    }

    func write(_ bytes: UnsafeRawBufferPointer, finish: Bool) throws {
        strm.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
        strm.pointee.avail_in = UInt32(bytes.count)
        while true {
            strm.pointee.next_out = out
            strm.pointee.avail_out = UInt32(outSize)
            let rc = deflate(strm, finish ? Z_FINISH : Z_NO_FLUSH)
            if rc == Z_STREAM_ERROR {
                throw MedicalImageError(.io, path, "zlib compression failed")
            }
            let have = outSize - Int(strm.pointee.avail_out)
            if have > 0 { try handle.write(contentsOf: Data(bytesNoCopy: out, count: have, deallocator: .none)) }
            if finish { if rc == Z_STREAM_END { break } } else if strm.pointee.avail_out != 0 { break }
        }
    }
}
