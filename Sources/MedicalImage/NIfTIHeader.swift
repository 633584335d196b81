import Foundation

/// The fields of a NIfTI-1 or NIfTI-2 header that decide voxels and geometry, widened to
/// Double/Int so one code path serves both versions and both byte orders.
public struct NIfTIHeader: Sendable, Equatable {
    public var version: Int            // 1 or 2
    public var bigEndian: Bool
    public var dim: [Int]              // dim[0...7]
    public var datatypeCode: Int
    public var bitpix: Int
    public var pixdim: [Double]        // pixdim[0...7]
    public var voxOffset: Double
    public var sclSlope: Double
    public var sclInter: Double
    public var qformCode: Int
    public var sformCode: Int
    public var quatern: [Double]       // b, c, d
    public var qoffset: [Double]       // x, y, z
    public var srow: [Double]          // srow_x, srow_y, srow_z: 12 values
    public var descrip: String
    public var magic: String

    static let size1 = 348, size2 = 540

    /// NIfTI datatype codes of the scalar types we read.
    static func voxelType(code: Int) -> VoxelType? {
        switch code {
        case 2: return .uint8
        case 4: return .int16
        case 8: return .int32
        case 16: return .float32
        case 64: return .float64
        case 256: return .int8
        case 512: return .uint16
        case 768: return .uint32
        default: return nil
        }
    }

    static func code(of type: VoxelType) -> Int {
        switch type {
        case .uint8: return 2
        case .int16: return 4
        case .int32: return 8
        case .float32: return 16
        case .float64: return 64
        case .int8: return 256
        case .uint16: return 512
        case .uint32: return 768
        }
    }

    static func typeName(code: Int) -> String {
        switch code {
        case 0: return "unknown (0)"
        case 1: return "binary (1)"
        case 32: return "complex64 (32)"
        case 128: return "RGB24 (128)"
        case 511: return "float128 (511)"
        case 1024: return "int64 (1024)"
        case 1280: return "uint64 (1280)"
        case 1536: return "float128 (1536)"
        case 1792: return "complex128 (1792)"
        case 2048: return "complex256 (2048)"
        case 2304: return "RGBA32 (2304)"
        default: return "code \(code)"
        }
    }

    /// Parses the fixed header; `bytes` must hold at least 348 (NIfTI-1) or 540 (NIfTI-2) bytes,
    /// which the caller learns from `sizeAndOrder`.
    static func sizeAndOrder(_ first4: [UInt8], path: String) throws -> (size: Int, bigEndian: Bool) {
        let le = Int32(bitPattern: UInt32(first4[0]) | UInt32(first4[1]) << 8 | UInt32(first4[2]) << 16 | UInt32(first4[3]) << 24)
        let be = le.byteSwapped
        switch (le, be) {
        case (348, _): return (348, false)
        case (_, 348): return (348, true)
        case (540, _): return (540, false)
        case (_, 540): return (540, true)
        default:
            throw MedicalImageError(.notRecognized, path,
                "not a NIfTI file: sizeof_hdr is \(le) (expected 348 for NIfTI-1 or 540 for NIfTI-2, in either byte order)")
        }
    }

    init(bytes b: [UInt8], bigEndian: Bool, path: String) throws {
        let r = FieldReader(bytes: b, bigEndian: bigEndian)
        self.bigEndian = bigEndian
        if b.count >= Self.size2 && r.i32(0) == 540 {
            version = 2
            magic = r.string(4, 8)
            let m = Array(b[4..<12])
            guard m == [0x6E, 0x2B, 0x32, 0, 0x0D, 0x0A, 0x1A, 0x0A] else {
                if m[0...2] == [0x6E, 0x69, 0x32] {
                    throw MedicalImageError(.unsupported, path, "NIfTI-2 header/image pair (magic \"ni2\") is not supported; save as a single .nii file")
                }
                throw MedicalImageError(.notRecognized, path, "bad NIfTI-2 magic \(m.map { String(format: "%02x", $0) }.joined(separator: " "))")
            }
            datatypeCode = Int(r.i16(12))
            bitpix = Int(r.i16(14))
            dim = (0..<8).map { Int(r.i64(16 + 8 * $0)) }
            pixdim = (0..<8).map { r.f64(104 + 8 * $0) }
            voxOffset = Double(r.i64(168))
            sclSlope = r.f64(176)
            sclInter = r.f64(184)
            descrip = r.string(240, 80)
            qformCode = Int(r.i32(344))
            sformCode = Int(r.i32(348))
            quatern = (0..<3).map { r.f64(352 + 8 * $0) }
            qoffset = (0..<3).map { r.f64(376 + 8 * $0) }
            srow = (0..<12).map { r.f64(400 + 8 * $0) }
        } else {
            version = 1
            magic = r.string(344, 4)
            let m = Array(b[344..<348])
            guard m == [0x6E, 0x2B, 0x31, 0] else {
                if m == [0x6E, 0x69, 0x31, 0] {
                    throw MedicalImageError(.unsupported, path, "NIfTI-1 header/image pair (magic \"ni1\", .hdr/.img) is not supported; save as a single .nii file")
                }
                throw MedicalImageError(.notRecognized, path, "bad NIfTI-1 magic \(m.map { String(format: "%02x", $0) }.joined(separator: " ")) (expected \"n+1\")")
            }
            datatypeCode = Int(r.i16(70))
            bitpix = Int(r.i16(72))
            dim = (0..<8).map { Int(r.i16(40 + 2 * $0)) }
            pixdim = (0..<8).map { Double(r.f32(76 + 4 * $0)) }
            voxOffset = Double(r.f32(108))
            sclSlope = Double(r.f32(112))
            sclInter = Double(r.f32(116))
            descrip = r.string(148, 80)
            qformCode = Int(r.i16(252))
            sformCode = Int(r.i16(254))
            quatern = (0..<3).map { Double(r.f32(256 + 4 * $0)) }
            qoffset = (0..<3).map { Double(r.f32(268 + 4 * $0)) }
            srow = (0..<12).map { Double(r.f32(280 + 4 * $0)) }
        }
    }

    /// Smallest legal data offset of a single-file image: header plus the 4-byte extension flag.
    var minimumDataOffset: Int { version == 1 ? 352 : 544 }

    /// The 3-D grid, after checking dims. A 4th..7th dimension of 1 is accepted (nibabel
    /// squeezes nothing, but such files are 3-D volumes in every practical sense).
    func shape(path: String) throws -> [Int] {
        let n = dim[0]
        guard (1...7).contains(n) else {
            throw MedicalImageError(.badHeader, path, "dim[0] is \(n); it must be between 1 and 7")
        }
        for d in 1...n where dim[d] < 1 {
            throw MedicalImageError(.badHeader, path, "dim[\(d)] is \(dim[d]); dimensions must be at least 1")
        }
        if n > 3 {
            for d in 4...n where dim[d] != 1 {
                throw MedicalImageError(.unsupported, path,
                    "\(n)-D image with dim[\(d)] = \(dim[d]); only 3-D volumes (extra dimensions of size 1) are supported")
            }
        }
        return (1...3).map { $0 <= n ? dim[$0] : 1 }
    }

    /// Scaling as nibabel's `get_slope_inter`: a zero or non-finite slope means "no scaling"
    /// and then the intercept is ignored too; a valid slope with a non-finite intercept is an error.
    func scaling(path: String) throws -> Scaling? {
        if sclSlope == 0 || !sclSlope.isFinite { return nil }
        guard sclInter.isFinite else {
            throw MedicalImageError(.badHeader, path, "scl_slope is \(sclSlope) but scl_inter is \(sclInter)")
        }
        return Scaling(slope: sclSlope, intercept: sclInter)
    }

    /// Voxel sizes as nibabel uses them after its header fixes (negative pixdims made positive,
    /// zero ones set to 1).
    var zooms: [Double] { (1...3).map { pixdim[$0] == 0 ? 1 : abs(pixdim[$0]) } }

    /// The voxel→RAS affine nibabel's `get_best_affine` returns: sform if sform_code > 0, else
    /// qform if qform_code > 0, else the Analyze-style base affine (x flipped, centred grid).
    func bestAffine(shape: [Int], path: String) throws -> (affine: [Double], source: String) {
        if sformCode > 0 {
            guard srow.allSatisfy(\.isFinite) else {
                throw MedicalImageError(.badHeader, path, "sform_code is \(sformCode) but srow contains non-finite values")
            }
            return (srow + [0, 0, 0, 1], "sform")
        }
        if qformCode > 0 { return (try qformAffine(path: path), "qform") }
        let z = zooms
        guard z.allSatisfy(\.isFinite) else {
            throw MedicalImageError(.badHeader, path, "pixdim[1...3] = \(Array(pixdim[1...3])) are not finite")
        }
        let zs = [-z[0], z[1], z[2]]
        let o = shape.map { Double($0 - 1) / 2 }
        return ([zs[0], 0, 0, -o[0] * zs[0],
                 0, zs[1], 0, -o[1] * zs[1],
                 0, 0, zs[2], -o[2] * zs[2],
                 0, 0, 0, 1], "none")
    }

    /// nibabel's `get_qform`: quaternion with a = sqrt(1 - b² - c² - d²), qfac from pixdim[0]
    /// (anything but −1 counts as 1, as nibabel's header check fixes it).
    func qformAffine(path: String) throws -> [Double] {
        let b = quatern[0], c = quatern[1], d = quatern[2]
        guard (quatern + qoffset + Array(pixdim[0...3])).allSatisfy(\.isFinite) else {
            throw MedicalImageError(.badHeader, path, "qform_code is \(qformCode) but the quaternion, offsets or pixdim are not finite")
        }
        // nibabel's fillpositive: a² in full precision, but |a²| below 3 epsilons of the header's
        // float type counts as 0 (a half-turn stored in float32 has b² + c² + d² ≈ 1 ± 6e-8, and
        // sqrt of that noise would tilt the axes by ~1e-4).
        let eps = version == 1 ? Double(Float.ulpOfOne) : Double.ulpOfOne
        var w2 = 1 - (b * b + c * c + d * d)
        if abs(w2) < 3 * eps {
            w2 = 0
        } else if w2 < 0 {
            throw MedicalImageError(.badHeader, path, "qform quaternion (b, c, d) = (\(b), \(c), \(d)) has norm above 1")
        }
        let a = w2.squareRoot()
        let rot = Self.quaternionMatrix(w: a, x: b, y: c, z: d)
        var vox = zooms
        if pixdim[0] == -1 { vox[2] = -vox[2] }
        var m = [Double](repeating: 0, count: 16)
        for r in 0..<3 {
            for col in 0..<3 { m[r * 4 + col] = rot[r * 3 + col] * vox[col] }
            m[r * 4 + 3] = qoffset[r]
        }
        m[15] = 1
        return m
    }

    /// Rotation matrix of a quaternion (row-major 3×3), as transforms3d's `quat2mat`.
    static func quaternionMatrix(w: Double, x: Double, y: Double, z: Double) -> [Double] {
        let nq = w * w + x * x + y * y + z * z
        if nq < Double.ulpOfOne { return [1, 0, 0, 0, 1, 0, 0, 0, 1] }
        let s = 2 / nq
        let X = x * s, Y = y * s, Z = z * s
        let wX = w * X, wY = w * Y, wZ = w * Z
        let xX = x * X, xY = x * Y, xZ = x * Z
        let yY = y * Y, yZ = y * Z, zZ = z * Z
        return [1 - (yY + zZ), xY - wZ, xZ + wY,
                xY + wZ, 1 - (xX + zZ), yZ - wX,
                xZ - wY, yZ + wX, 1 - (xX + yY)]
    }
}

/// Reads fixed-offset fields of a header in the file's byte order.
struct FieldReader {
    let bytes: [UInt8]
    let bigEndian: Bool

    @inline(__always) func u32(_ o: Int) -> UInt32 {
        let v = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        return bigEndian ? v.byteSwapped : v
    }
    @inline(__always) func u64(_ o: Int) -> UInt64 {
        let lo = UInt64(UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
        let hi = UInt64(UInt32(bytes[o + 4]) | UInt32(bytes[o + 5]) << 8 | UInt32(bytes[o + 6]) << 16 | UInt32(bytes[o + 7]) << 24)
        let v = lo | hi << 32
        return bigEndian ? v.byteSwapped : v
    }
    func i16(_ o: Int) -> Int16 {
        let v = UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
        return Int16(bitPattern: bigEndian ? v.byteSwapped : v)
    }
    func i32(_ o: Int) -> Int32 { Int32(bitPattern: u32(o)) }
    func i64(_ o: Int) -> Int64 { Int64(bitPattern: u64(o)) }
    func f32(_ o: Int) -> Float { Float(bitPattern: u32(o)) }
    func f64(_ o: Int) -> Double { Double(bitPattern: u64(o)) }
    func string(_ o: Int, _ n: Int) -> String {
        let s = bytes[o..<(o + n)].prefix { $0 != 0 }
        return String(decoding: s, as: UTF8.self)
    }
}
