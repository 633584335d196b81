import Foundation
import Testing
import Tensor
@testable import NeuralNet

@Suite struct SafeTensorsTests {
    /// A file written by Python's `safetensors` library reads with the values it recorded.
    @Test func readsFileWrittenByPython() throws {
        let fx = try Fixtures.load("interop_python.safetensors")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("interop_python.json"))) as! [String: Any]
        let meta = json["metadata"] as! [String: String]
        #expect(fx.metadata == meta)
        let tensors = json["tensors"] as! [String: [String: Any]]
        #expect(Set(fx.tensors.keys) == Set(tensors.keys))
        for (name, info) in tensors {
            let t = fx.tensors[name]!
            #expect(t.shape == (info["shape"] as! [Int]), "\(name)")
            // The file holds denormals: converted exactly even on a thread that flushes them.
            let values = Denormals.kept { (info["values"] as! [NSNumber]).map { $0.floatValue } }
            #expect(t.scalars.map(\.bitPattern) == values.map(\.bitPattern), "\(name)")
        }
    }

    @Test func writeReadRoundTripAndPythonCompatibleLayout() throws {
        let a = Tensor(shape: [2, 3], values: [1, -2, 3.5, .pi, -0.0, 1e-40])
        let b = Tensor.zeros([0])
        let data = try SafeTensors.serialize([("a", a), ("empty", b)], metadata: ["model": "{\"x\":1}"])
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        #expect((8 + n) % 8 == 0)   // data aligned as the Python library writes it
        let back = try SafeTensors.parse(data)
        #expect(back.tensors["a"]!.scalars.map(\.bitPattern) == a.scalars.map(\.bitPattern))
        #expect(back.tensors["empty"]!.shape == [0])
        #expect(back.metadata == ["model": "{\"x\":1}"])
    }

    @Test(arguments: [
        ("short", Data([1, 2, 3]), "shorter than"),
        ("huge header", Data([0xff, 0xff, 0, 0, 0, 0, 0, 0]) + Data(repeating: 0x20, count: 16), "exceeds the file size"),
        ("not json", Data([4, 0, 0, 0, 0, 0, 0, 0]) + Data("abcd".utf8), "not a JSON object"),
        ("bad dtype", SafeTensorsTests.raw(#"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1), "dtype I8"),
        ("lying offsets", SafeTensorsTests.raw(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, 8), "data_offsets"),
        ("overlap", SafeTensorsTests.raw(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, 12), "overlap"),
    ])
    func malformedFilesFailClearly(_ label: String, _ data: Data, _ expected: String) {
        do {
            _ = try SafeTensors.parse(data, path: "x.safetensors")
            Issue.record("\(label): parsed without error")
        } catch {
            #expect("\(error)".contains("x.safetensors") && "\(error)".contains(expected), "\(label): \(error)")
        }
    }

    static func raw(_ header: String, _ dataBytes: Int) -> Data {
        var h = Data(header.utf8)
        var n = UInt64(h.count).littleEndian
        var out = Data(bytes: &n, count: 8)
        out.append(h)
        h = Data(repeating: 0, count: dataBytes)
        out.append(h)
        return out
    }

    @Test func checkpointMismatchNamesWhatDiffers() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ls-ckpt-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = UNet(UNetConfig(filters: 4, depth: 1), seed: 1)
        let url = dir.appendingPathComponent("m.safetensors")
        try Checkpoint.save(small, extra: [("opt.x", Tensor.zeros([1]))], to: url)
        // Same config: loads, values equal.
        let same = UNet(UNetConfig(filters: 4, depth: 1), seed: 2)
        try Checkpoint.load(into: same, from: url, ignoringPrefixes: ["opt."])
        #expect(same.namedVariables.map { $0.1.value.scalars } == small.namedVariables.map { $0.1.value.scalars })
        // Different width and depth: a clear message, and the model is unchanged.
        let other = UNet(UNetConfig(filters: 8, depth: 2), seed: 3)
        let before = other.namedVariables.map { $0.1.value.scalars }
        do {
            try Checkpoint.load(into: other, from: url, ignoringPrefixes: ["opt."])
            Issue.record("loaded a checkpoint of another architecture")
        } catch let e as Checkpoint.MismatchError {
            #expect(e.missing.contains("down2.conv1.weight"))
            #expect(e.wrongShape.contains { $0.0 == "down0.conv1.weight" && $0.expected == [8, 1, 3, 3] && $0.found == [4, 1, 3, 3] })
            #expect("\(e)".contains(url.path))
        }
        #expect(other.namedVariables.map { $0.1.value.scalars } == before)
    }
}
