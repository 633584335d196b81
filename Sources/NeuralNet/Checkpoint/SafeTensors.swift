import Foundation
import Support
import Tensor

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
/// header mapping names to dtype, shape and byte offsets (plus string `__metadata__`), then
/// the raw little-endian data. Chosen because Python, Rust and C++ tools read it safely
/// (no pickle) and the layout is simple enough to validate completely before use.
public enum SafeTensors {
    public struct FormatError: Error, CustomStringConvertible {
        public let path: String
        public let problem: String
        public var description: String { "\(path): not a valid safetensors file: \(problem)" }
    }

    /// The tensors (converted to Float32) and metadata of a file.
    public struct Contents {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]
        /// Names in file order (data offset), for stable listings.
        public var names: [String]
    }

    static let maxHeader = 100 << 20

    public static func read(_ url: URL) throws -> Contents {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw FormatError(path: url.path, problem: "cannot read file (\(error.localizedDescription))")
        }
        return try parse(data, path: url.path)
    }

    public static func parse(_ data: Data, path: String = "<memory>") throws -> Contents {
        func fail(_ s: String) -> FormatError { FormatError(path: path, problem: s) }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard n <= UInt64(maxHeader), Int(n) <= data.count - 8 else {
            throw fail("header length \(n) exceeds the file size \(data.count)")
        }
        let headerBytes = data.subdata(in: 8..<(8 + Int(n)))
        guard let obj = try? JSONSerialization.jsonObject(with: headerBytes), let header = obj as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let base = 8 + Int(n)
        let dataSize = data.count - base
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        var spans: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let md = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in md {
                    guard let s = v as? String else { throw fail("metadata value of \(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any], let offAny = info["data_offsets"] as? [Any], offAny.count == 2 else {
                throw fail("entry \(name) lacks dtype, shape or data_offsets")
            }
            let shape = try shapeAny.map { v -> Int in
                guard let i = (v as? NSNumber)?.intValue, i >= 0, i < (1 << 40) else { throw fail("entry \(name) has a bad shape \(shapeAny)") }
                return i
            }
            let offs = try offAny.map { v -> Int in
                guard let i = (v as? NSNumber)?.intValue, i >= 0 else { throw fail("entry \(name) has bad data_offsets \(offAny)") }
                return i
            }
            let elemSize: Int
            switch dtype {
            case "F32": elemSize = 4
            case "F64": elemSize = 8
            case "F16", "BF16": elemSize = 2
            default: throw fail("entry \(name) has dtype \(dtype); only F32, F64, F16 and BF16 are supported")
            }
            var count = 1
            for d in shape {
                let (c, o) = count.multipliedReportingOverflow(by: d)
                guard !o, c <= dataSize else { throw fail("entry \(name) shape \(shape) exceeds the data size") }
                count = c
            }
            guard offs[0] <= offs[1], offs[1] <= dataSize, offs[1] - offs[0] == count * elemSize else {
                throw fail("entry \(name): data_offsets \(offs) do not hold \(shape) of \(dtype) within \(dataSize) data bytes")
            }
            spans.append((offs[0], offs[1], name))
            let t = Tensor(uninitializedShape: shape)
            let dst = t.writePointer
            data.withUnsafeBytes { raw in
                let src = raw.baseAddress! + base + offs[0]
                for i in 0..<count {
                    switch dtype {
                    case "F32": dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    case "F64": dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    case "BF16":
                        let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        dst[i] = Float(bitPattern: UInt32(h) << 16)
                    default:
                        let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        dst[i] = Float(Float16(bitPattern: h))
                    }
                }
            }
            tensors[name] = t
        }
        spans.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        for (a, b) in zip(spans, spans.dropFirst()) where b.0 < a.1 {
            throw fail("entries \(a.2) and \(b.2) overlap")
        }
        return Contents(tensors: tensors, metadata: metadata, names: spans.map(\.2))
    }

    /// Serializes named Float32 tensors (in the given order) with string metadata.
    public static func serialize(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, t) in tensors {
            precondition(header[name] == nil, "SafeTensors.serialize: duplicate name \(name)")
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]] as [String: Any]
            offset += 4 * t.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data starts 8-byte aligned (what the Python library does).
        while (json.count % 8) != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var len = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in tensors {
            t.withUnsafeBufferPointer { buf in
                // Float32 in memory is little-endian on every platform Swift on Linux supports.
                out.append(UnsafeBufferPointer(start: UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self), count: 4 * t.count))
            }
        }
        return out
    }

    /// Writes atomically (temporary file, then rename).
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        try AtomicFile.write(serialize(tensors, metadata: metadata), to: url)
    }
}
