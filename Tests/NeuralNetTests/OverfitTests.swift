import Support
import Testing
import Tensor
@testable import NeuralNet

/// Real learning: a small U-Net fits a few synthetic masks (noisy blobs of two contrasts)
/// to Dice > 0.95, and the same seed gives bit-identical weights.
@Suite struct OverfitTests {
    static func data() -> (Tensor, Tensor) {
        var rng = SeededRNG(seed: 42)
        let (n, h, w) = (4, 32, 32)
        var x = Tensor.zeros([n, 1, h, w]), y = Tensor.zeros([n, 1, h, w])
        for k in 0..<n {
            let cx = rng.uniform(10, 22), cy = rng.uniform(10, 22), rx = rng.uniform(4, 9), ry = rng.uniform(4, 9)
            for i in 0..<h {
                for j in 0..<w {
                    let inside = pow((Double(j) - cx) / rx, 2) + pow((Double(i) - cy) / ry, 2) <= 1
                    y[k, 0, i, j] = inside ? 1 : 0
                    x[k, 0, i, j] = Float((inside ? 0.65 : 0.35) + 0.1 * rng.normal())
                }
            }
        }
        return (x, y)
    }

    static func train(seed: UInt64, steps: Int) -> (UNet, Double) {
        let (x, y) = data()
        let net = UNet(UNetConfig(inChannels: 1, classes: 1, filters: 8, depth: 2, dropout: 0.1), seed: seed)
        let opt = Adam(net.parameters, learningRate: 1e-2)
        for _ in 0..<steps {
            net.zeroGradients()
            let loss = Losses.binaryCrossEntropy(logits: net(Variable(x), training: true), targets: y)
            loss.backward()
            opt.step()
        }
        let p = Autograd.withoutGradients { net(Variable(x), training: false).value.sigmoid() }
        var inter = 0.0, sum = 0.0
        for i in 0..<p.count {
            let pred: Float = p[flat: i] > 0.5 ? 1 : 0
            inter += Double(pred * y[flat: i]); sum += Double(pred + y[flat: i])
        }
        return (net, 2 * inter / sum)
    }

    @Test func tinyUNetOverfitsSyntheticMasks() {
        let (_, dice) = Self.train(seed: 3, steps: 120)
        #expect(dice > 0.95, "Dice \(dice)")
    }

    @Test func sameSeedSameWeights() {
        let (a, _) = Self.train(seed: 9, steps: 3)
        let (b, _) = Self.train(seed: 9, steps: 3)
        let (c, _) = Self.train(seed: 10, steps: 3)
        #expect(a.namedVariables.map { $0.1.value.scalars } == b.namedVariables.map { $0.1.value.scalars })
        #expect(a.namedVariables.map { $0.1.value.scalars } != c.namedVariables.map { $0.1.value.scalars })
    }
}

#if canImport(Glibc)
import Glibc
#endif
