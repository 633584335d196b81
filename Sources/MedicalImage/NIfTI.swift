import Foundation

/// NIfTI-1 and NIfTI-2 files (.nii, .nii.gz) with nibabel's semantics for scaling and affines.
public enum NIfTI {
    /// What the header says, checked: enough for `liverseg info` without decoding the voxels.
    public struct Header: Sendable {
        public var raw: NIfTIHeader
        public var shape: [Int]
        public var type: VoxelType
        public var scaling: Scaling?
        /// Voxel→RAS affine chosen as nibabel does; `affineSource` says which: "sform", "qform" or "none".
        public var affine: [Double]
        public var affineSource: String
        public var isGzip: Bool
        /// Bytes of header extensions between the header and the data.
        public var extensionBytes: Int
        public var dataOffset: Int

        public var version: Int { raw.version }
        public var bigEndian: Bool { raw.bigEndian }
        public var transformCodes: TransformCodes { TransformCodes(qform: raw.qformCode, sform: raw.sformCode) }
        public var geometry: Geometry { Geometry(shape: shape, affine: affine) }
    }

    /// Refuses volumes whose Float copy would not fit in this machine's memory.
    static var maxDecodedBytes: Int { Int(min(ProcessInfo.processInfo.physicalMemory, UInt64(Int.max))) }

    // MARK: reading

    public static func readHeader(_ url: URL) throws -> Header {
        let stream = try ByteStream(path: url.path)
        return try header(of: stream)
    }

    /// Intensities after scl_slope/inter (nibabel semantics); onDiskType and scaling filled in.
    public static func read(_ url: URL) throws -> Volume<Float> {
        try read(stream: ByteStream(path: url.path))
    }

    /// Same as `read(_:)` from bytes in memory (fuzzing, network buffers); `name` appears in errors.
    public static func read(bytes: [UInt8], name: String = "<memory>") throws -> Volume<Float> {
        try read(stream: ByteStream(bytes: bytes, name: name))
    }

    /// Label maps (values must be integers 0...255 after scaling, else a clear error).
    public static func readLabels(_ url: URL) throws -> Volume<UInt8> {
        try readLabels(stream: ByteStream(path: url.path))
    }

    public static func readLabels(bytes: [UInt8], name: String = "<memory>") throws -> Volume<UInt8> {
        try readLabels(stream: ByteStream(bytes: bytes, name: name))
    }

    /// The volume and the checked header it came from (for `info`).
    public static func readWithHeader(_ url: URL) throws -> (volume: Volume<Float>, header: Header) {
        let stream = try ByteStream(path: url.path)
        let h = try header(of: stream)
        return (try read(stream: stream, header: h), h)
    }

    static func read(stream: ByteStream) throws -> Volume<Float> {
        try read(stream: stream, header: header(of: stream))
    }

    static func read(stream: ByteStream, header h: Header) throws -> Volume<Float> {
        let count = h.shape[0] * h.shape[1] * h.shape[2]
        let voxels = try [Float](unsafeUninitializedCapacity: count) { buf, initialized in
            try decode(stream, h, count: count) { start, chunk in
                (buf.baseAddress! + start).update(from: chunk.baseAddress!, count: chunk.count)
            } direct: { start in buf.baseAddress! + start }
            initialized = count
        }
        return Volume(geometry: h.geometry, voxels: voxels, onDiskType: h.type, scaling: h.scaling,
                      transformCodes: h.transformCodes)
    }

    /// The scan for plane-by-plane use: 8- and 16-bit integer data stays raw (`ScanVolume`
    /// applies the scaling per plane), everything else is decoded to Float as by `read`.
    public static func readScan(_ url: URL) throws -> ScanVolume {
        let stream = try ByteStream(path: url.path)
        let h = try header(of: stream)
        guard [.int8, .uint8, .int16].contains(h.type) else { return ScanVolume(try read(stream: stream, header: h)) }
        let count = h.shape[0] * h.shape[1] * h.shape[2]
        let voxels = try [Int16](unsafeUninitializedCapacity: count) { buf, initialized in
            try readChunks(stream, h, count: count) { start, raw, n in
                let dst = buf.baseAddress! + start
                switch h.type {
                case .int16:
                    let p = raw.assumingMemoryBound(to: Int16.self)
                    if h.bigEndian { for i in 0..<n { dst[i] = p[i].byteSwapped } } else { dst.update(from: p, count: n) }
                case .int8:
                    let p = raw.assumingMemoryBound(to: Int8.self)
                    for i in 0..<n { dst[i] = Int16(p[i]) }
                default:
                    let p = raw.assumingMemoryBound(to: UInt8.self)
                    for i in 0..<n { dst[i] = Int16(p[i]) }
                }
            }
            initialized = count
        }
        return ScanVolume(geometry: h.geometry, storage: .int16(voxels, scaling: h.scaling), onDiskType: h.type,
                          transformCodes: h.transformCodes)
    }

    static func readLabels(stream: ByteStream) throws -> Volume<UInt8> {
        let h = try header(of: stream)
        let count = h.shape[0] * h.shape[1] * h.shape[2]
        var labels = [UInt8](repeating: 0, count: count)
        var bad: (index: Int, value: Float)?
        try labels.withUnsafeMutableBufferPointer { out in
            try decode(stream, h, count: count) { start, chunk in
                if bad != nil { return }
                for (n, v) in chunk.enumerated() {
                    guard v >= 0, v <= 255, v == v.rounded() else { bad = (start + n, v); return }
                    out[start + n] = UInt8(v)
                }
            } direct: { _ in nil }
        }
        if let bad {
            let nx = h.shape[0], ny = h.shape[1]
            let i = bad.index % nx, j = (bad.index / nx) % ny, k = bad.index / (nx * ny)
            throw MedicalImageError(.badValue, stream.path,
                "not a label map: voxel (\(i), \(j), \(k)) is \(bad.value); labels must be integers 0...255")
        }
        return Volume(geometry: h.geometry, voxels: labels, onDiskType: h.type, scaling: h.scaling,
                      transformCodes: h.transformCodes)
    }

    /// Reads and checks the header, then skips extensions so the stream sits at the first voxel.
    static func header(of stream: ByteStream) throws -> Header {
        let path = stream.path
        if stream.storedSize == 0 { throw MedicalImageError(.truncated, path, "file is empty") }
        let first = try stream.readBytes(4, what: "header")
        let (size, bigEndian) = try NIfTIHeader.sizeAndOrder(first, path: path)
        let rest = try stream.readBytes(size - 4, what: "NIfTI-\(size == 348 ? 1 : 2) header")
        let raw = try NIfTIHeader(bytes: first + rest, bigEndian: bigEndian, path: path)
        let shape = try raw.shape(path: path)
        guard let type = NIfTIHeader.voxelType(code: raw.datatypeCode) else {
            throw MedicalImageError(.unsupported, path,
                "datatype \(NIfTIHeader.typeName(code: raw.datatypeCode)) is not supported (uint8, int8, int16, uint16, int32, uint32, float32, float64 are)")
        }
        if raw.bitpix != type.byteSize * 8 {
            // nibabel trusts datatype over bitpix; so do we, but a zero/garbage bitpix is common.
        }
        let scaling = try raw.scaling(path: path)
        let (affine, source) = try raw.bestAffine(shape: shape, path: path)
        guard raw.voxOffset.isFinite, raw.voxOffset >= 0, raw.voxOffset == raw.voxOffset.rounded(),
              raw.voxOffset < Double(Int.max / 2) else {
            throw MedicalImageError(.badHeader, path, "vox_offset is \(raw.voxOffset); it must be a whole number of bytes ≥ 0")
        }
        // nibabel raises an offset below header + extension flag to that minimum.
        let dataOffset = max(Int(raw.voxOffset), raw.minimumDataOffset)

        var count = 1
        for d in shape {
            let (m, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw MedicalImageError(.badHeader, path, "dims \(shape) overflow a voxel count") }
            count = m
        }
        let (dataBytes, o1) = count.multipliedReportingOverflow(by: type.byteSize)
        let (floatBytes, o2) = count.multipliedReportingOverflow(by: 4)
        let (end, o3) = dataBytes.addingReportingOverflow(dataOffset)
        guard !o1, !o2, !o3 else { throw MedicalImageError(.badHeader, path, "dims \(shape) are absurd (the byte count overflows)") }
        if stream.isGzip {
            guard end <= stream.maxDecodedSize else {
                throw MedicalImageError(.truncated, path,
                    "header claims \(shape) \(type.rawValue) voxels (\(end) bytes decoded), more than this \(stream.storedSize)-byte gzip file can hold")
            }
        } else if dataOffset > stream.storedSize {
            throw MedicalImageError(.badHeader, path, "vox_offset \(dataOffset) lies beyond the end of the \(stream.storedSize)-byte file")
        } else if end > stream.storedSize {
            throw MedicalImageError(.truncated, path,
                "file is truncated: \(shape) \(type.rawValue) voxels need \(dataBytes) bytes from offset \(dataOffset), the file has \(stream.storedSize - dataOffset)")
        }
        guard floatBytes <= maxDecodedBytes else {
            throw MedicalImageError(.badHeader, path, "dims \(shape) would need \(floatBytes) bytes of memory, more than this machine has")
        }
        let extensionBytes = dataOffset - size
        try stream.skip(extensionBytes, what: "header extensions (vox_offset \(dataOffset))")
        return Header(raw: raw, shape: shape, type: type, scaling: scaling, affine: affine, affineSource: source,
                      isGzip: stream.isGzip, extensionBytes: max(0, extensionBytes - 4), dataOffset: dataOffset)
    }

    /// Streams the voxel data in chunks, converting each to Float (scaled) and handing it on.
    /// `direct` may return the final destination for a chunk to skip a copy.
    static func decode(_ stream: ByteStream, _ h: Header, count: Int,
                       sink: (Int, UnsafeBufferPointer<Float>) throws -> Void,
                       direct: (Int) -> UnsafeMutablePointer<Float>?) throws {
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: chunkVoxels(h))
        defer { scratch.deallocate() }
        try readChunks(stream, h, count: count) { start, raw, n in
            let dst = direct(start) ?? scratch
            convert(raw, n, h.type, swap: h.bigEndian, scaling: h.scaling, into: dst)
            try sink(start, UnsafeBufferPointer(start: UnsafePointer(dst), count: n))
        }
    }

    /// Voxels per chunk of `readChunks` (1 MiB of stored data).
    static func chunkVoxels(_ h: Header) -> Int { max(1, (1 << 20) / h.type.byteSize) }

    /// Reads the voxel data in chunks of stored bytes, handing each on as (first voxel, bytes,
    /// voxel count), then checks the gzip trailer.
    static func readChunks(_ stream: ByteStream, _ h: Header, count: Int,
                           _ body: (Int, UnsafeMutableRawPointer, Int) throws -> Void) throws {
        let size = h.type.byteSize, perChunk = chunkVoxels(h)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: perChunk * size, alignment: 64)
        defer { raw.deallocate() }
        var start = 0
        while start < count {
            let n = min(perChunk, count - start)
            try stream.readExactly(raw, n * size, what: "voxel data (voxel \(start) of \(count))")
            try body(start, raw, n)
            start += n
        }
        try stream.verifyGzipTrailer()
    }

    @inline(__always)
    static func convert(_ raw: UnsafeMutableRawPointer, _ n: Int, _ type: VoxelType, swap: Bool, scaling: Scaling?,
                        into dst: UnsafeMutablePointer<Float>) {
        @inline(__always) func ints<T: FixedWidthInteger>(_: T.Type) {
            let p = raw.assumingMemoryBound(to: T.self)
            if swap { for i in 0..<n { p[i] = p[i].byteSwapped } }
            if let s = scaling {
                for i in 0..<n { dst[i] = s(Double(p[i])) }
            } else {
                for i in 0..<n { dst[i] = Float(p[i]) }
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
            let p = raw.assumingMemoryBound(to: UInt32.self)
            if swap { for i in 0..<n { p[i] = p[i].byteSwapped } }
            let f = raw.assumingMemoryBound(to: Float.self)
            if let s = scaling {
                for i in 0..<n { dst[i] = s(Double(f[i])) }
            } else {
                dst.update(from: f, count: n)
            }
        case .float64:
            let p = raw.assumingMemoryBound(to: UInt64.self)
            if swap { for i in 0..<n { p[i] = p[i].byteSwapped } }
            let f = raw.assumingMemoryBound(to: Double.self)
            if let s = scaling {
                for i in 0..<n { dst[i] = s(f[i]) }
            } else {
                for i in 0..<n { dst[i] = Float(f[i]) }
            }
        }
    }
}
