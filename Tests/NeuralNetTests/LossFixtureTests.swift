import Testing
import Tensor
@testable import NeuralNet

/// Loss values and gradients against PyTorch (float64 autograd), including logits up to |z| = 120.
@Suite struct LossFixtureTests {
    let fx = try! Fixtures.load("losses.safetensors")

    func check(_ name: String, _ loss: (Variable) -> Variable, binary: Bool) {
        let z = Variable(fx.tensors[binary ? "logits.binary" : "logits.multi"]!, requiresGrad: true)
        let l = loss(z)
        let ref = fx.tensors["loss." + name]![flat: 0]
        #expect(abs(l.value[flat: 0] - ref) <= 1e-5 * max(1, abs(ref)), "\(name): \(l.value[flat: 0]) vs \(ref)")
        #expect(l.value[flat: 0].isFinite)
        l.backward()
        #expect(Fixtures.relativeError(z.grad!, fx.tensors["grad." + name]!) < 1e-4, "\(name) gradient")
    }

    @Test func bce() { check("bce", { Losses.binaryCrossEntropy(logits: $0, targets: fx.tensors["target.binary"]!) }, binary: true) }
    @Test func weightedBCE() {
        check("wbce_a0.02", { Losses.binaryCrossEntropy(logits: $0, targets: fx.tensors["target.binary"]!, weighting: .alpha(0.02)) }, binary: true)
    }
    @Test func balancedBCE() {
        check("balanced_bce", { Losses.binaryCrossEntropy(logits: $0, targets: fx.tensors["target.binary"]!, weighting: .balanced) }, binary: true)
    }
    @Test func focal() {
        check("focal_g2", { Losses.binaryCrossEntropy(logits: $0, targets: fx.tensors["target.binary"]!, focusing: 2) }, binary: true)
        check("focal_g2_a0.3", { Losses.binaryCrossEntropy(logits: $0, targets: fx.tensors["target.binary"]!, weighting: .alpha(0.3), focusing: 2) }, binary: true)
        check("focal_g1.5_coverage", { Losses.binaryCrossEntropy(logits: $0, targets: fx.tensors["target.coverage"]!, focusing: 1.5) }, binary: true)
    }

    /// The focusing term by hand for z = (0, 3), y = (1, 0), γ = 2: p = (1/2, 0.952574), so
    /// the terms are (1 − 1/2)² · log 2 = 0.173287 and 0.952574² · softplus(3) = 0.907397 ·
    /// 3.048587 = 2.766280, against log 2 and softplus(3) unfocused: the half-right pixel keeps
    /// a quarter of its term, the confidently wrong one 91 % of it.
    @Test func focusingScalesEachTermByHowWrongItIs() {
        let z = Variable(Tensor(shape: [1, 1, 1, 2], values: [0, 3]), requiresGrad: true)
        let y = Tensor(shape: [1, 1, 1, 2], values: [1, 0])
        let l = Losses.binaryCrossEntropy(logits: z, targets: y, focusing: 2)
        #expect(abs(Double(l.value[flat: 0]) - (0.173287 + 2.766280) / 2) < 1e-5)
        #expect(Losses.binaryCrossEntropy(logits: z, targets: y, focusing: 0).value[flat: 0] == Losses.binaryCrossEntropy(logits: z, targets: y).value[flat: 0])
    }

    @Test func dice() { check("dice", { Losses.softDice(logits: $0, targets: fx.tensors["target.binary"]!) }, binary: true) }
    @Test func ce() { check("ce", { Losses.crossEntropy(logits: $0, labels: fx.tensors["target.multi"]!) }, binary: false) }
    @Test func balancedCE() {
        check("balanced_ce", { Losses.crossEntropy(logits: $0, labels: fx.tensors["target.multi"]!, weighting: .balanced) }, binary: false)
    }

    /// The balanced weights favour the rare class: with 10 % foreground, a false negative
    /// costs 9× a false positive of the same confidence.
    @Test func balancedWeightsFavourTheRareClass() {
        var y = Tensor.zeros([1, 1, 10, 10])
        for i in 0..<10 { y[flat: i] = 1 }
        let (w1, w0) = BinaryWeighting.balanced.weights(foregroundFraction: 0.1)
        #expect(abs(w1 - 0.9) < 1e-7 && abs(w0 - 0.1) < 1e-7)
        let (a1, a0) = BinaryWeighting.alpha(0.02).weights(foregroundFraction: 0.1)
        #expect(abs(a1 - 0.98) < 1e-7 && abs(a0 - 0.02) < 1e-7)
    }

    /// Pixel weights multiply each pixel's term and its gradient. Worked by hand for
    /// z = (0, 2, −1, 0.5), y = (1, 0, 1, 0), weights (1, 3, 0.5, 2): the terms are log 2,
    /// softplus(2) = 2.126928, softplus(1) = 1.313262 and softplus(0.5) = 0.974077, so the loss
    /// is (0.693147 + 3·2.126928 + 0.5·1.313262 + 2·0.974077)/4 = 2.419679, and the gradient
    /// w(σ(z) − y)/4 = (−0.125, 0.660598, −0.091382, 0.311230). With α = 0.3 on top, the
    /// foreground terms take 0.7 and the background ones 0.3.
    @Test func pixelWeightsScaleEachPixelsTerm() {
        let z = Variable(Tensor(shape: [1, 1, 2, 2], values: [0, 2, -1, 0.5]), requiresGrad: true)
        let y = Tensor(shape: [1, 1, 2, 2], values: [1, 0, 1, 0])
        let w = Tensor(shape: [1, 1, 2, 2], values: [1, 3, 0.5, 2])
        let l = Losses.binaryCrossEntropy(logits: z, targets: y, pixelWeights: w)
        #expect(abs(l.value[flat: 0] - 2.419679) < 1e-5)
        l.backward()
        for (i, g) in [-0.125, 0.660598, -0.091382, 0.311230].enumerated() { #expect(abs(Double(z.grad![flat: i]) - g) < 1e-5, "pixel \(i)") }
        let a = Losses.binaryCrossEntropy(logits: z, targets: y, weighting: .alpha(0.3), pixelWeights: w)
        let expected = (0.7 * 0.693147 + 0.3 * 3 * 2.126928 + 0.7 * 0.5 * 1.313262 + 0.3 * 2 * 0.974077) / 4
        #expect(abs(Double(a.value[flat: 0]) - expected) < 1e-5)
        let ones = Losses.binaryCrossEntropy(logits: z, targets: y, pixelWeights: Tensor(shape: [1, 1, 2, 2], values: [1, 1, 1, 1]))
        #expect(ones.value[flat: 0] == Losses.binaryCrossEntropy(logits: z, targets: y).value[flat: 0])
    }
}
