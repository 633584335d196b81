import Foundation
import Tensor

/// Saving and restoring a module's tensors by name.
public enum Checkpoint {
    public struct MismatchError: Error, CustomStringConvertible {
        public let path: String
        public let missing: [String]
        public let unexpected: [String]
        public let wrongShape: [(String, expected: [Int], found: [Int])]
        public var description: String {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing tensors: \(missing.joined(separator: ", "))") }
            if !wrongShape.isEmpty {
                parts.append("shape mismatch: " + wrongShape.map { "\($0.0) expected \($0.expected) found \($0.found)" }.joined(separator: "; "))
            }
            if !unexpected.isEmpty { parts.append("unexpected tensors: \(unexpected.joined(separator: ", "))") }
            return "\(path): checkpoint does not fit the model: " + parts.joined(separator: "; ")
        }
    }

    /// Writes every named tensor of `module` (parameters and buffers), plus `extra` tensors
    /// (e.g. optimizer state under a prefix), atomically.
    public static func save(_ module: Module, extra: [(String, Tensor)] = [], metadata: [String: String] = [:], to url: URL) throws {
        try SafeTensors.write(module.namedVariables.map { ($0.0, $0.1.value) } + extra, metadata: metadata, to: url)
    }

    /// Loads tensors into `module`, checking that names and shapes match exactly before
    /// changing anything (a bad file leaves the model as it was). Names starting with one of
    /// `ignoringPrefixes` (e.g. optimizer state) are not reported as unexpected.
    @discardableResult
    public static func load(into module: Module, from url: URL, ignoringPrefixes: [String] = []) throws -> SafeTensors.Contents {
        let contents = try SafeTensors.read(url)
        try assign(contents.tensors, to: module, path: url.path, ignoringPrefixes: ignoringPrefixes)
        return contents
    }

    public static func assign(_ tensors: [String: Tensor], to module: Module, path: String, ignoringPrefixes: [String] = []) throws {
        let named = module.namedVariables
        let expected = Set(named.map(\.0))
        var missing: [String] = [], wrong: [(String, expected: [Int], found: [Int])] = []
        for (name, v) in named {
            guard let t = tensors[name] else { missing.append(name); continue }
            if t.shape != v.value.shape { wrong.append((name, v.value.shape, t.shape)) }
        }
        let unexpected = tensors.keys.filter { k in !expected.contains(k) && !ignoringPrefixes.contains { k.hasPrefix($0) } }.sorted()
        guard missing.isEmpty, wrong.isEmpty, unexpected.isEmpty else {
            throw MismatchError(path: path, missing: missing, unexpected: unexpected, wrongShape: wrong)
        }
        for (name, v) in named { v.value = tensors[name]! }
    }
}
