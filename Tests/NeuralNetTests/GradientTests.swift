import Support
import Testing
import Tensor
@testable import NeuralNet

/// Every differentiable op and loss against finite differences, on odd and even sizes.
@Suite struct GradientTests {
    typealias G = GradientCheck

    func param(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Variable {
        Variable(G.random(shape, seed: seed, scale: scale), requiresGrad: true)
    }

    @Test(arguments: [(2, 3, 4, 7, 5, 3, 1), (1, 2, 3, 6, 6, 1, 0), (3, 1, 2, 5, 9, 3, 1)])
    func conv2d(_ n: Int, _ ci: Int, _ co: Int, _ h: Int, _ w: Int, _ k: Int, _ pad: Int) {
        let x = param([n, ci, h, w], seed: 1), wt = param([co, ci, k, k], seed: 2, scale: 0.5), b = param([co], seed: 3)
        let oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1
        let r = G.random([n, co, oh, ow], seed: 4)
        let (worst, text) = G.check(inputs: [x, wt, b]) { G.weightedSum(Ops.conv2d(x, wt, b, padding: pad), r) }
        #expect(worst <= 1, "\(text)")
    }

    @Test(arguments: [Float(0), 0.1])
    func conv2dFusedReLU(_ slope: Float) {
        let x = param([2, 3, 5, 6], seed: 5), wt = param([4, 3, 3, 3], seed: 6, scale: 0.5), b = param([4], seed: 7)
        let r = G.random([2, 4, 5, 6], seed: 8)
        let (worst, text) = G.check(inputs: [x, wt, b]) {
            G.weightedSum(Ops.conv2d(x, wt, b, padding: 1, relu: true, reluSlope: slope), r)
        }
        #expect(worst <= 1, "\(text)")
    }

    @Test func leakyReLU() {
        let a = Variable(G.awayFromZero([2, 3, 4, 5], seed: 23), requiresGrad: true)
        let r = G.random([2, 3, 4, 5], seed: 24)
        let (worst, text) = G.check(inputs: [a]) { G.weightedSum(Ops.relu(a, negativeSlope: 0.2), r) }
        #expect(worst <= 1, "\(text)")
    }

    @Test(arguments: [(2, 4, 3, 3, 5), (1, 2, 5, 4, 4)])
    func convTranspose(_ n: Int, _ ci: Int, _ co: Int, _ h: Int, _ w: Int) {
        let x = param([n, ci, h, w], seed: 9), wt = param([ci, co, 2, 2], seed: 10), b = param([co], seed: 11)
        let r = G.random([n, co, 2 * h, 2 * w], seed: 12)
        let (worst, text) = G.check(inputs: [x, wt, b]) { G.weightedSum(Ops.convTranspose2x2(x, wt, b), r) }
        #expect(worst <= 1, "\(text)")
    }

    @Test(arguments: [(2, 3, 6, 8), (1, 2, 7, 5)])
    func maxPool(_ n: Int, _ c: Int, _ h: Int, _ w: Int) {
        let x = Variable(G.distinct([n, c, h, w], seed: 13), requiresGrad: true)
        let r = G.random([n, c, h / 2, w / 2], seed: 14)
        let (worst, text) = G.check(inputs: [x]) { G.weightedSum(Ops.maxPool2x2(x), r) }
        #expect(worst <= 1, "\(text)")
    }

    @Test func reluConcatAddScale() {
        let a = Variable(G.awayFromZero([2, 3, 4, 5], seed: 15), requiresGrad: true)
        let b = Variable(G.awayFromZero([2, 2, 4, 5], seed: 16), requiresGrad: true)
        let c = param([2, 5, 4, 5], seed: 17)
        let r = G.random([2, 5, 4, 5], seed: 18)
        let (worst, text) = G.check(inputs: [a, b, c]) {
            G.weightedSum(Ops.add(Ops.relu(Ops.concatChannels([a, b])), Ops.scale(c, -0.7)), r)
        }
        #expect(worst <= 1, "\(text)")
    }

    @Test(arguments: [true, false])
    func batchNorm(_ training: Bool) {
        let x = param([3, 2, 3, 5], seed: 19, scale: 2), gamma = param([2], seed: 20), beta = param([2], seed: 21)
        let rm = Variable(G.random([2], seed: 22)), rv = Variable(Tensor(shape: [2], values: [0.5, 2]))
        let r = G.random([3, 2, 3, 5], seed: 23)
        let (worst, text) = G.check(inputs: [x, gamma, beta]) {
            G.weightedSum(Ops.batchNorm(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, training: training), r)
        }
        #expect(worst <= 1, "\(text)")
    }

    /// Channels large enough to be split across threads (32 768 values each): the output, the
    /// running statistics and the gradients against the formulas worked in Double per channel.
    @Test func batchNormOnChannelsSplitAcrossThreads() {
        let (n, c, h, w) = (2, 4, 128, 128), hw = h * w, m = n * hw
        let x = param([n, c, h, w], seed: 40, scale: 3), gamma = param([c], seed: 41), beta = param([c], seed: 42)
        let rm = Variable(Tensor.zeros([c])), rv = Variable(Tensor(shape: [c], repeating: 1))
        let gy = G.random([n, c, h, w], seed: 43)
        let y = Ops.batchNorm(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, training: true)
        y.backward(seed: gy)
        let grads = [x.grad, gamma.grad, beta.grad]
        var worst = 0.0
        for ch in 0..<c {
            let v = (0..<n).flatMap { b in (0..<hw).map { Double(x.value[flat: (b * c + ch) * hw + $0]) } }
            let g = (0..<n).flatMap { b in (0..<hw).map { Double(gy[flat: (b * c + ch) * hw + $0]) } }
            let mu = v.reduce(0, +) / Double(m)
            let variance = v.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(m)
            let inv = 1 / (variance + 1e-5).squareRoot()
            let xhat = v.map { ($0 - mu) * inv }
            let sg = g.reduce(0, +), sgx = zip(g, xhat).map(*).reduce(0, +)
            let gam = Double(gamma.value[flat: ch]), bet = Double(beta.value[flat: ch])
            for (k, b) in [0, n - 1].enumerated() {
                let i = (b * c + ch) * hw + 777 * (k + 1)
                let j = (b == 0 ? 0 : hw) + 777 * (k + 1)
                worst = max(worst, abs(Double(y.value[flat: i]) - (gam * xhat[j] + bet)))
                let dx = gam * inv * (g[j] - sg / Double(m) - xhat[j] * sgx / Double(m))
                worst = max(worst, abs(Double(grads[0]![flat: i]) - dx))
            }
            worst = max(worst, abs(Double(rm.value[flat: ch]) - 0.1 * mu))
            worst = max(worst, abs(Double(rv.value[flat: ch]) - (0.9 + 0.1 * variance * Double(m) / Double(m - 1))))
            worst = max(worst, abs(Double(grads[1]![flat: ch]) - sgx) / max(1, abs(sgx)))
            worst = max(worst, abs(Double(grads[2]![flat: ch]) - sg) / max(1, abs(sg)))
        }
        #expect(worst < 1e-4, "largest difference \(worst)")
    }

    @Test func dropoutGradientIsItsMask() {
        let x = param([2, 3, 8, 8], seed: 24)
        let y = Ops.dropout(x, p: 0.4, rng: RandomSource(seed: 1))
        let r = G.random([2, 3, 8, 8], seed: 25)
        G.weightedSum(y, r).backward()
        let kept = y.value.scalars.enumerated().filter { $0.element != 0 }.count
        // About 60 % kept; each kept element is scaled by 1/(1−p) and passes r scaled alike.
        #expect(kept > 384 * 45 / 100 && kept < 384 * 75 / 100)
        for i in 0..<x.value.count {
            let m: Float = y.value[flat: i] == 0 ? 0 : 1 / 0.6
            #expect(abs(x.grad![flat: i] - r[flat: i] * m) < 1e-5)
            #expect(abs(y.value[flat: i] - x.value[flat: i] * m) < 1e-5)
        }
    }

    @Test(arguments: [BinaryWeighting.none, .alpha(0.02), .alpha(0.3), .balanced])
    func binaryCrossEntropy(_ weighting: BinaryWeighting) {
        let z = param([3, 1, 5, 7], seed: 26, scale: 4)
        var y = G.random([3, 1, 5, 7], seed: 27).map { $0 > 0.4 ? 1 : 0 }
        // One slice without foreground (balanced weights degenerate there).
        for i in 0..<35 { y[flat: 70 + i] = 0 }
        let (worst, text) = G.check(inputs: [z]) { Losses.binaryCrossEntropy(logits: z, targets: y, weighting: weighting) }
        #expect(worst <= 1, "\(text)")
    }

    @Test func softDice() {
        let z = param([2, 1, 6, 5], seed: 28, scale: 3)
        let y = G.random([2, 1, 6, 5], seed: 29).map { $0 > 0 ? 1 : 0 }
        let (worst, text) = G.check(inputs: [z]) { Losses.softDice(logits: z, targets: y) }
        #expect(worst <= 1, "\(text)")
    }

    @Test(arguments: [CategoricalWeighting.none, .balanced])
    func crossEntropy(_ weighting: CategoricalWeighting) {
        let z = param([2, 3, 5, 4], seed: 30, scale: 3)
        let labels = G.random([2, 5, 4], seed: 31).map { $0 < -0.3 ? 0 : ($0 < 0.5 ? 1 : 2) }
        let (worst, text) = G.check(inputs: [z]) { Losses.crossEntropy(logits: z, labels: labels, weighting: weighting) }
        #expect(worst <= 1, "\(text)")
    }

    @Test func jointLossWeightsBothTerms() {
        let z1 = param([2, 1, 4, 4], seed: 32, scale: 2), z2 = param([2, 1, 4, 4], seed: 33, scale: 2)
        let y = G.random([2, 1, 4, 4], seed: 34).map { $0 > 0 ? 1 : 0 }
        let (worst, text) = G.check(inputs: [z1, z2]) {
            Losses.joint(Losses.binaryCrossEntropy(logits: z1, targets: y),
                         Losses.binaryCrossEntropy(logits: z2, targets: y, weighting: .balanced), c: 0.3)
        }
        #expect(worst <= 1, "\(text)")
    }

    /// The whole U-Net (odd channel counts, non-square input) end to end, on a sample of
    /// elements. Without batch norm: with it, one weight moves every pixel of its channel
    /// through the batch statistics and ±ε steps cross many ReLU kinks at once; the batch-norm
    /// U-Net is checked against PyTorch instead (TorchEquivalenceTests).
    @Test func unetEndToEnd() {
        let net = UNet(UNetConfig(inChannels: 2, classes: 3, filters: 3, depth: 2, dropout: 0, batchNorm: false), seed: 7)
        let x = param([2, 2, 8, 12], seed: 35)
        let labels = G.random([2, 8, 12], seed: 36).map { $0 < -0.3 ? 0 : ($0 < 0.5 ? 1 : 2) }
        // The input and the last layers: a first-layer weight moves every pixel downstream and
        // crosses several kinks per step (the first layers are covered by the PyTorch test).
        let params = Array(net.parameters.suffix(4))
        // A smaller ε:
        // with dozens of ReLUs and poolings in the path, ±1e-2 steps cross kinks too often.
        let (worst, text) = G.check(inputs: [x] + params, maxElements: 40, eps: 1e-3) {
            Losses.crossEntropy(logits: net(x, training: true), labels: labels)
        }
        #expect(worst <= 1, "\(text)")
    }
}
