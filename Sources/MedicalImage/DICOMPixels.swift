import Foundation

/// Turns one slice's pixel data (native or RLE) into Hounsfield units, or keeps its stored
/// values as 16-bit integers for `DICOMSeries.readScan`.
enum DICOMPixels {
    enum Destination {
        /// Intensities: slope · stored + intercept, as `Scaling` computes them.
        case float(UnsafeMutablePointer<Float>)
        /// Stored values, unscaled.
        case int16(UnsafeMutablePointer<Int16>)
    }

    /// Decodes one slice into `dest`; `fits` is false when a stored value does not fit an
    /// Int16 (only possible for `.int16`, whose contents are then incomplete).
    static func decode(_ f: DICOMFile, rows: Int, cols: Int, into dest: Destination) throws -> (type: VoxelType, scaling: Scaling, fits: Bool) {
        let path = f.path
        let samples = try f.uint16(Tag.samplesPerPixel) ?? 1
        guard samples == 1 else {
            throw MedicalImageError(.unsupported, path, "SamplesPerPixel is \(samples); only grayscale (1) CT is supported")
        }
        if let pi = f.string(Tag.photometric), !pi.isEmpty, pi != "MONOCHROME2", pi != "MONOCHROME1" {
            throw MedicalImageError(.unsupported, path, "PhotometricInterpretation \(pi) is not grayscale")
        }
        guard let bits = try f.uint16(Tag.bitsAllocated), [8, 16, 32].contains(bits) else {
            throw MedicalImageError(.unsupported, path, "BitsAllocated must be 8, 16 or 32")
        }
        let stored = try f.uint16(Tag.bitsStored) ?? bits
        guard stored >= 1 && stored <= bits else {
            throw MedicalImageError(.badHeader, path, "BitsStored \(stored) does not fit BitsAllocated \(bits)")
        }
        let signed = (try f.uint16(Tag.pixelRepresentation) ?? 0) == 1
        let slope = try f.decimals(Tag.rescaleSlope)?.first ?? 1
        let inter = try f.decimals(Tag.rescaleIntercept)?.first ?? 0
        let type: VoxelType
        switch (bits, signed) {
        case (8, false): type = .uint8
        case (8, true): type = .int8
        case (16, false): type = .uint16
        case (16, true): type = .int16
        case (32, false): type = .uint32
        default: type = .int32
        }
        let bytesPer = bits / 8
        let n = rows * cols
        let need = n * bytesPer

        var native: [UInt8]
        var bigEndian = f.bigEndian
        switch f.pixels {
        case nil:
            throw MedicalImageError(.badHeader, path, "no pixel data element (7FE0,0010)")
        case .native(let bytes)?:
            guard bytes.count >= need else {
                throw MedicalImageError(.truncated, path, "pixel data holds \(bytes.count) bytes; \(rows)×\(cols)×\(bits)-bit needs \(need)")
            }
            native = Array(bytes.prefix(need))
        case .encapsulated(let fragments)?:
            native = try RLE.decodeFrame(fragments.flatMap { $0 }, rows: rows, cols: cols, bytesPerSample: bytesPer, path: path)
            bigEndian = false
        }
        // Signed values stored in fewer bits than allocated are sign-extended from BitsStored.
        let shift = bits - stored
        let scaling = Scaling(slope: slope, intercept: inter)
        var fits = true
        native.withUnsafeMutableBytes { raw in
            @inline(__always) func run<T: FixedWidthInteger>(_: T.Type) {
                let p = raw.baseAddress!.assumingMemoryBound(to: T.self)
                @inline(__always) func value(_ i: Int) -> T {
                    let v = bigEndian ? T(bigEndian: p[i]) : T(littleEndian: p[i])
                    return shift > 0 && T.isSigned ? (v << shift) >> shift : v
                }
                switch dest {
                case .float(let out):
                    for i in 0..<n { out[i] = scaling(Double(value(i))) }
                case .int16(let out):
                    for i in 0..<n {
                        guard let v = Int16(exactly: value(i)) else { fits = false; return }
                        out[i] = v
                    }
                }
            }
            switch type {
            case .uint8: run(UInt8.self)
            case .int8: run(Int8.self)
            case .uint16: run(UInt16.self)
            case .int16: run(Int16.self)
            case .uint32: run(UInt32.self)
            default: run(Int32.self)
            }
        }
        return (type, scaling, fits)
    }
}

/// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits
/// segment per byte plane, most significant plane first.
enum RLE {
    static func decodeFrame(_ frame: [UInt8], rows: Int, cols: Int, bytesPerSample: Int, path: String) throws -> [UInt8] {
        let n = rows * cols
        guard frame.count >= 64 else {
            throw MedicalImageError(.truncated, path, "RLE frame of \(frame.count) bytes has no 64-byte header")
        }
        func u32(_ o: Int) -> Int { Int(frame[o]) | Int(frame[o + 1]) << 8 | Int(frame[o + 2]) << 16 | Int(frame[o + 3]) << 24 }
        let segments = u32(0)
        guard segments == bytesPerSample else {
            throw MedicalImageError(.badCompression, path, "RLE header lists \(segments) segments; \(bytesPerSample * 8)-bit grayscale needs \(bytesPerSample)")
        }
        var out = [UInt8](repeating: 0, count: n * bytesPerSample)
        for s in 0..<segments {
            let start = u32(4 + 4 * s)
            let end = s + 1 < segments ? u32(8 + 4 * s) : frame.count
            guard start >= 64, start <= end, end <= frame.count else {
                throw MedicalImageError(.badCompression, path, "RLE segment \(s) offsets \(start)..<\(end) lie outside the \(frame.count)-byte frame")
            }
            // Segment 0 is the most significant byte; the output is little endian.
            let plane = bytesPerSample - 1 - s
            var i = start, o = 0
            while o < n && i < end {
                let c = Int(Int8(bitPattern: frame[i])); i += 1
                if c >= 0 {
                    let len = c + 1
                    guard i + len <= end else {
                        throw MedicalImageError(.badCompression, path, "RLE literal run overruns segment \(s)")
                    }
                    for k in 0..<min(len, n - o) { out[(o + k) * bytesPerSample + plane] = frame[i + k] }
                    i += len; o += len
                } else if c != -128 {
                    let len = 1 - c
                    guard i < end else { throw MedicalImageError(.badCompression, path, "RLE replicate run overruns segment \(s)") }
                    let b = frame[i]; i += 1
                    for k in 0..<min(len, n - o) { out[(o + k) * bytesPerSample + plane] = b }
                    o += len
                }
            }
            guard o >= n else {
                throw MedicalImageError(.badCompression, path, "RLE segment \(s) decodes to \(o) bytes, \(n) needed")
            }
        }
        return out
    }
}
