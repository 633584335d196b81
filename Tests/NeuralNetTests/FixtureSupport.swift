import Foundation
import Tensor
@testable import NeuralNet

enum Fixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
    }

    static func load(_ name: String) throws -> SafeTensors.Contents { try SafeTensors.read(url(name)) }

    /// Largest |a − b| relative to the largest |b| (how the PyTorch fixtures are meant to be compared).
    static func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "relativeError: \(a.shape) vs \(b.shape)")
        var diff = 0.0, scale = 0.0
        for i in 0..<a.count {
            diff = max(diff, Double(abs(a[flat: i] - b[flat: i])))
            scale = max(scale, Double(abs(b[flat: i])))
        }
        return scale == 0 ? diff : diff / scale
    }
}
