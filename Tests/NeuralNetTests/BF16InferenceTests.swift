import Testing
import Support
@testable import NeuralNet
import Tensor

/// A U-Net forward pass with bf16 inference convolutions stays close to fp32, and anything that
/// records gradients stays fp32 whatever the inference precision.
@Suite struct BF16InferenceTests {
    static func input(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRNG(seed: seed)
        return Tensor.uniform(shape, 0, 1, rng: &rng)
    }

    @Test func unetForwardInBF16MatchesFP32() {
        let net = UNet(UNetConfig(inChannels: 1, classes: 1, filters: 16, depth: 2, dropout: 0.4), seed: 5)
        let x = Variable(Self.input([2, 1, 32, 32], seed: 6))
        let fp32 = Autograd.withoutGradients { net(x, training: false).value }
        let bf16 = Kernels.$inferencePrecisionOverride.withValue(.bf16) {
            Autograd.withoutGradients { net(x, training: false).value }
        }
        let scale = fp32.scalars.map(abs).max()!
        var worst: Float = 0
        for i in 0..<fp32.count { worst = max(worst, abs(bf16[flat: i] - fp32[flat: i])) }
        #expect(worst / scale <= 3e-2, "U-Net logits: bf16 vs fp32 relative error \(worst / scale)")
        // Probabilities (what thresholds see) agree to about 1%.
        let pa = fp32.sigmoid(), pb = bf16.sigmoid()
        var worstP: Float = 0
        for i in 0..<pa.count { worstP = max(worstP, abs(pa[flat: i] - pb[flat: i])) }
        #expect(worstP <= 1e-2, "U-Net probabilities differ by \(worstP)")
        if Kernels.bf16Supported { #expect(worst > 0, "bf16 run identical to fp32: bf16 did not run") }
    }

    @Test func recordedForwardStaysFP32() {
        let net = UNet(UNetConfig(inChannels: 1, classes: 1, filters: 16, depth: 1, dropout: 0), seed: 7)
        let x = Variable(Self.input([1, 1, 16, 16], seed: 8))
        let fp32 = net(x, training: true).value
        let underBF16 = Kernels.$inferencePrecisionOverride.withValue(.bf16) { net(x, training: true).value }
        #expect(fp32.scalars == underBF16.scalars)
    }
}
