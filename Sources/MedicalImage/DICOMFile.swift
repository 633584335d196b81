import CZlib
import Foundation

/// Transfer syntaxes by UID, with what we can do about each.
public enum DICOMTransferSyntax {
    public static let implicitLittle = "1.2.840.10008.1.2"
    public static let explicitLittle = "1.2.840.10008.1.2.1"
    public static let deflatedExplicitLittle = "1.2.840.10008.1.2.1.99"
    public static let explicitBig = "1.2.840.10008.1.2.2"
    public static let rleLossless = "1.2.840.10008.1.2.5"

    public static func name(_ uid: String) -> String {
        switch uid {
        case implicitLittle: return "Implicit VR Little Endian"
        case explicitLittle: return "Explicit VR Little Endian"
        case deflatedExplicitLittle: return "Deflated Explicit VR Little Endian"
        case explicitBig: return "Explicit VR Big Endian"
        case rleLossless: return "RLE Lossless"
        case "1.2.840.10008.1.2.4.50": return "JPEG Baseline (Process 1)"
        case "1.2.840.10008.1.2.4.51": return "JPEG Extended (Process 2 & 4)"
        case "1.2.840.10008.1.2.4.57": return "JPEG Lossless, Non-Hierarchical (Process 14)"
        case "1.2.840.10008.1.2.4.70": return "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])"
        case "1.2.840.10008.1.2.4.80": return "JPEG-LS Lossless"
        case "1.2.840.10008.1.2.4.81": return "JPEG-LS Lossy (Near-Lossless)"
        case "1.2.840.10008.1.2.4.90": return "JPEG 2000 Image Compression (Lossless Only)"
        case "1.2.840.10008.1.2.4.91": return "JPEG 2000 Image Compression"
        case "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203": return "High-Throughput JPEG 2000"
        default: return "unknown transfer syntax"
        }
    }

    static let supported: Set<String> = [implicitLittle, explicitLittle, deflatedExplicitLittle, explicitBig, rleLossless]
}

/// DICOM tags as (group << 16 | element).
enum Tag {
    static let transferSyntax: UInt32 = 0x0002_0010
    static let modality: UInt32 = 0x0008_0060
    static let seriesDescription: UInt32 = 0x0008_103E
    static let sliceThickness: UInt32 = 0x0018_0050
    static let spacingBetweenSlices: UInt32 = 0x0018_0088
    static let seriesInstanceUID: UInt32 = 0x0020_000E
    static let instanceNumber: UInt32 = 0x0020_0013
    static let imagePosition: UInt32 = 0x0020_0032
    static let imageOrientation: UInt32 = 0x0020_0037
    static let samplesPerPixel: UInt32 = 0x0028_0002
    static let photometric: UInt32 = 0x0028_0004
    static let numberOfFrames: UInt32 = 0x0028_0008
    static let rows: UInt32 = 0x0028_0010
    static let columns: UInt32 = 0x0028_0011
    static let pixelSpacing: UInt32 = 0x0028_0030
    static let bitsAllocated: UInt32 = 0x0028_0100
    static let bitsStored: UInt32 = 0x0028_0101
    static let pixelRepresentation: UInt32 = 0x0028_0103
    static let rescaleIntercept: UInt32 = 0x0028_1052
    static let rescaleSlope: UInt32 = 0x0028_1053
    static let pixelData: UInt32 = 0x7FE0_0010
    static let item: UInt32 = 0xFFFE_E000
    static let itemDelimiter: UInt32 = 0xFFFE_E00D
    static let sequenceDelimiter: UInt32 = 0xFFFE_E0DD

    static let wanted: Set<UInt32> = [modality, seriesDescription, sliceThickness, spacingBetweenSlices,
        seriesInstanceUID, instanceNumber, imagePosition, imageOrientation, samplesPerPixel, photometric,
        numberOfFrames, rows, columns, pixelSpacing, bitsAllocated, bitsStored, pixelRepresentation,
        rescaleIntercept, rescaleSlope]

    static func string(_ t: UInt32) -> String { String(format: "(%04X,%04X)", t >> 16, t & 0xFFFF) }
}

/// One Part-10 file: the handful of attributes a CT series needs, and its pixel data.
struct DICOMFile {
    enum Pixels {
        case native(ArraySlice<UInt8>)
        /// Fragments of an encapsulated (compressed) frame, offset table dropped.
        case encapsulated([ArraySlice<UInt8>])
    }

    let path: String
    let transferSyntax: String
    var values: [UInt32: ArraySlice<UInt8>] = [:]
    var bigEndian = false
    var pixels: Pixels?
    /// Length of a native pixel data element (nil: encapsulated) and of the file, known even
    /// when the pixels were not kept, so sizes can be checked before a volume is allocated.
    var pixelLength: Int?
    var fileSize = 0

    /// Largest file we read whole; CT slices are well under a megabyte.
    static let maxFileSize = 1 << 30
    /// Nesting limit for sequences, so hostile files cannot exhaust the stack.
    static let maxDepth = 32

    /// True if the file has the Part-10 preamble and "DICM" magic.
    static func looksLikeDICOM(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        guard let d = try? h.read(upToCount: 132), d.count == 132 else { return false }
        return d[128] == 0x44 && d[129] == 0x49 && d[130] == 0x43 && d[131] == 0x4D
    }

    init(path: String) throws {
        let stream = try ByteStream(path: path)
        guard !stream.isGzip else {
            throw MedicalImageError(.notRecognized, path, "not a DICOM Part-10 file (it is gzip-compressed)")
        }
        guard stream.storedSize <= Self.maxFileSize else {
            throw MedicalImageError(.unsupported, path, "file of \(stream.storedSize) bytes is too large for a CT slice")
        }
        try self.init(bytes: stream.readToEnd(limit: Self.maxFileSize), path: path)
    }

    /// `stopBeforePixels`: parse only the attributes (scanning folders).
    init(bytes: [UInt8], path: String, stopBeforePixels: Bool = false) throws {
        self.path = path
        fileSize = bytes.count
        guard bytes.count >= 132, bytes[128..<132].elementsEqual([0x44, 0x49, 0x43, 0x4D]) else {
            throw MedicalImageError(.notRecognized, path, "not a DICOM Part-10 file (no \"DICM\" at byte 128)")
        }
        // File meta information: always explicit VR little endian, group 0002.
        var meta = DICOMParser(bytes: bytes, start: 132, end: bytes.count, explicit: true, bigEndian: false, path: path)
        var ts: String?
        while meta.offset + 4 <= bytes.count, meta.peekGroup() == 0x0002 {
            let e = try meta.next(depth: 0)
            if e.tag == Tag.transferSyntax { ts = DICOMParser.string(e.value) }
        }
        guard let ts, !ts.isEmpty else {
            throw MedicalImageError(.badHeader, path, "file meta information has no transfer syntax UID (0002,0010)")
        }
        transferSyntax = ts
        guard DICOMTransferSyntax.supported.contains(ts) else {
            let name = DICOMTransferSyntax.name(ts)
            throw MedicalImageError(.unsupported, path,
                "transfer syntax \(name) (\(ts)) is not supported; convert the series to uncompressed first, e.g. `gdcmconv --raw IN OUT` or `dcmdjpeg IN OUT`")
        }
        var body = bytes
        var start = meta.offset
        if ts == DICOMTransferSyntax.deflatedExplicitLittle {
            body = try Self.inflateRaw(bytes[meta.offset...], path: path)
            start = 0
        }
        bigEndian = ts == DICOMTransferSyntax.explicitBig
        var p = DICOMParser(bytes: body, start: start, end: body.count,
                            explicit: ts != DICOMTransferSyntax.implicitLittle, bigEndian: bigEndian, path: path)
        while p.offset < body.count {
            if p.offset + 8 > body.count {
                // Trailing padding shorter than an element header: ignore, as pydicom does.
                break
            }
            let tag = p.peekTag()
            if tag == Tag.pixelData {
                let px = try p.pixelData()
                if case .native(let b) = px { pixelLength = b.count }
                pixels = stopBeforePixels ? .native([]) : px
                break
            }
            let e = try p.next(depth: 0)
            if Tag.wanted.contains(e.tag) { values[e.tag] = e.value }
        }
    }

    static func inflateRaw(_ input: ArraySlice<UInt8>, path: String) throws -> [UInt8] {
        var strm = z_stream()
        // −15: raw deflate without zlib or gzip wrapper, as PS3.5 A.5 specifies.
        guard inflateInit2_(&strm, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw MedicalImageError(.badCompression, path, "zlib could not start")
        }
        defer { inflateEnd(&strm) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        try input.withUnsafeBytes { inp in
            strm.next_in = UnsafeMutablePointer(mutating: inp.baseAddress?.assumingMemoryBound(to: Bytef.self))
            strm.avail_in = UInt32(inp.count)
            while true {
                let rc = buf.withUnsafeMutableBytes { ob -> Int32 in
                    strm.next_out = ob.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    strm.avail_out = UInt32(ob.count)
                    return inflate(&strm, Z_NO_FLUSH)
                }
                out.append(contentsOf: buf[0..<(buf.count - Int(strm.avail_out))])
                if out.count > maxFileSize {
                    throw MedicalImageError(.badCompression, path, "deflated data set expands beyond \(maxFileSize) bytes")
                }
                if rc == Z_STREAM_END { break }
                if rc == Z_BUF_ERROR || (rc == Z_OK && strm.avail_in == 0 && strm.avail_out != 0) {
                    throw MedicalImageError(.truncated, path, "deflated data set ends early")
                }
                if rc != Z_OK {
                    let msg = strm.msg.map { String(cString: $0) } ?? "code \(rc)"
                    throw MedicalImageError(.badCompression, path, "broken deflated data set: \(msg)")
                }
            }
        }
        return out
    }

    // MARK: attribute access

    func string(_ tag: UInt32) -> String? { values[tag].map(DICOMParser.string) }

    func decimals(_ tag: UInt32) throws -> [Double]? {
        guard let s = string(tag), !s.isEmpty else { return nil }
        var out: [Double] = []
        for part in s.split(separator: "\\", omittingEmptySubsequences: false) {
            let t = part.trimmingCharacters(in: .whitespaces)
            guard let v = Double(t), v.isFinite else {
                throw MedicalImageError(.badHeader, path, "\(Tag.string(tag)) holds \"\(s)\", not decimal numbers")
            }
            out.append(v)
        }
        return out
    }

    func uint16(_ tag: UInt32) throws -> Int? {
        guard let v = values[tag], !v.isEmpty else { return nil }
        guard v.count >= 2 else {
            throw MedicalImageError(.badHeader, path, "\(Tag.string(tag)) has \(v.count) bytes, expected 2")
        }
        let b0 = Int(v[v.startIndex]), b1 = Int(v[v.startIndex + 1])
        return bigEndian ? (b0 << 8 | b1) : (b1 << 8 | b0)
    }

    func integer(_ tag: UInt32) throws -> Int? {
        guard let s = string(tag)?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { return nil }
        guard let v = Int(s.split(separator: "\\").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "") else {
            throw MedicalImageError(.badHeader, path, "\(Tag.string(tag)) holds \"\(s)\", not an integer")
        }
        return v
    }
}

/// A cursor over DICOM data elements in one encoding. Every length is checked against the
/// bytes that remain, so a lying length gives an error, not an out-of-bounds read.
struct DICOMParser {
    let bytes: [UInt8]
    var offset: Int
    let end: Int
    let explicit: Bool
    let bigEndian: Bool
    let path: String

    init(bytes: [UInt8], start: Int, end: Int, explicit: Bool, bigEndian: Bool, path: String) {
        self.bytes = bytes; self.offset = start; self.end = end
        self.explicit = explicit; self.bigEndian = bigEndian; self.path = path
    }

    static let longVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UR", "UT", "UN", "SV", "UV"]

    static func string(_ v: ArraySlice<UInt8>) -> String {
        String(decoding: v, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
    }

    @inline(__always) func u16(_ o: Int) -> UInt16 {
        let v = UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
        return bigEndian ? v.byteSwapped : v
    }
    @inline(__always) func u32(_ o: Int) -> UInt32 {
        let v = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        return bigEndian ? v.byteSwapped : v
    }

    func peekGroup() -> UInt16 { u16(offset) }
    func peekTag() -> UInt32 { UInt32(u16(offset)) << 16 | UInt32(u16(offset + 2)) }

    private func need(_ n: Int, _ what: String) throws {
        if n < 0 || offset + n > end {
            throw MedicalImageError(.truncated, path, "\(what) at byte \(offset) needs \(n) bytes, only \(end - offset) remain")
        }
    }

    /// Reads one element; sequences and undefined-length values are skipped (their value is empty).
    mutating func next(depth: Int) throws -> (tag: UInt32, value: ArraySlice<UInt8>) {
        try need(8, "element header")
        let tag = peekTag()
        offset += 4
        var vr = ""
        var length: UInt32
        if tag >> 16 == 0xFFFE {
            length = u32(offset); offset += 4
        } else if explicit {
            let a = bytes[offset], b = bytes[offset + 1]
            guard (0x41...0x5A).contains(a), (0x41...0x5A).contains(b) else {
                throw MedicalImageError(.badHeader, path,
                    "element \(Tag.string(tag)) at byte \(offset - 4) has no valid VR (bytes \(a), \(b)) in an explicit-VR data set")
            }
            vr = String(decoding: [a, b], as: UTF8.self)
            if Self.longVRs.contains(vr) {
                try need(8, "element \(Tag.string(tag)) length")
                length = u32(offset + 4); offset += 8
            } else {
                length = UInt32(u16(offset + 2)); offset += 4
            }
        } else {
            length = u32(offset); offset += 4
        }
        if length == 0xFFFF_FFFF {
            if tag == Tag.pixelData {
                throw MedicalImageError(.badHeader, path, "pixel data inside a sequence or item")
            }
            // Undefined length: a sequence, or UN holding one, whose items are always implicit
            // VR little endian (PS3.5 6.2.2) whatever the data set's encoding.
            if vr == "UN" {
                var sub = DICOMParser(bytes: bytes, start: offset, end: end, explicit: false, bigEndian: false, path: path)
                try sub.skipUndefined(depth: depth + 1, tag: tag)
                offset = sub.offset
            } else {
                try skipUndefined(depth: depth + 1, tag: tag)
            }
            return (tag, [])
        }
        let n = Int(length)
        try need(n, "value of element \(Tag.string(tag)) (length \(n))")
        let value = bytes[offset..<(offset + n)]
        offset += n
        return (tag, value)
    }

    /// Skips items until the sequence delimiter; items of undefined length are walked element
    /// by element until their item delimiter.
    private mutating func skipUndefined(depth: Int, tag: UInt32) throws {
        guard depth <= DICOMFile.maxDepth else {
            throw MedicalImageError(.badHeader, path, "sequences nested deeper than \(DICOMFile.maxDepth) levels")
        }
        while true {
            try need(8, "item in sequence \(Tag.string(tag))")
            let t = peekTag()
            let len = u32(offset + 4)
            if t == Tag.sequenceDelimiter { offset += 8; return }
            guard t == Tag.item else {
                throw MedicalImageError(.badHeader, path, "sequence \(Tag.string(tag)) holds \(Tag.string(t)) where an item was expected (byte \(offset))")
            }
            offset += 8
            if len != 0xFFFF_FFFF {
                try need(Int(len), "item of sequence \(Tag.string(tag))")
                offset += Int(len)
                continue
            }
            while true {
                try need(8, "element in item of \(Tag.string(tag))")
                if peekTag() == Tag.itemDelimiter { offset += 8; break }
                _ = try next(depth: depth + 1)
            }
        }
    }

    /// The pixel data element: native bytes, or encapsulated fragments.
    mutating func pixelData() throws -> DICOMFile.Pixels {
        let e0 = offset
        try need(8, "pixel data header")
        offset += 4
        var length: UInt32
        if explicit {
            try need(8, "pixel data header")
            length = u32(offset + 4); offset += 8
        } else {
            length = u32(offset); offset += 4
        }
        if length != 0xFFFF_FFFF {
            let n = Int(length)
            guard offset + n <= end else {
                throw MedicalImageError(.truncated, path,
                    "pixel data (7FE0,0010) at byte \(e0) claims \(n) bytes, only \(end - offset) remain")
            }
            defer { offset += n }
            return .native(bytes[offset..<(offset + n)])
        }
        var fragments: [ArraySlice<UInt8>] = []
        var first = true
        while true {
            try need(8, "pixel data fragment")
            let t = peekTag()
            let len = Int(u32(offset + 4))
            offset += 8
            if t == Tag.sequenceDelimiter { break }
            guard t == Tag.item else {
                throw MedicalImageError(.badHeader, path, "encapsulated pixel data holds \(Tag.string(t)) where a fragment item was expected")
            }
            try need(len, "pixel data fragment")
            if !first { fragments.append(bytes[offset..<(offset + len)]) }
            first = false
            offset += len
        }
        return .encapsulated(fragments)
    }
}
