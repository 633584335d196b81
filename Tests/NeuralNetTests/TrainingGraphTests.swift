import Testing
import Support
@_spi(KernelTuning) import Tensor
@testable import NeuralNet

/// The compiled training graph (activations and gradients blocked from the first convolution to
/// the head) against PyTorch and against the layer-by-layer path it replaces.
@Suite struct TrainingGraphTests {
    static func compiled(_ net: UNet) -> Int {
        net.trainingGraphCache.lock.lock(); defer { net.trainingGraphCache.lock.unlock() }
        return net.trainingGraphCache.graphs.entries.compactMap { $0 }.count
    }

    @Test func gradientsMatchPyTorch() throws {
        let file = "unet_f16_train.safetensors"
        let fx = try Fixtures.load(file)
        let md = fx.metadata
        let net = UNet(UNetConfig(inChannels: Int(md["in_channels"]!)!, classes: Int(md["classes"]!)!, filters: Int(md["filters"]!)!,
                                  depth: Int(md["depth"]!)!, dropout: 0), seed: 1)
        let params = fx.tensors.filter { k, _ in !k.hasPrefix("grad.") && !["input", "target", "logits", "loss"].contains(k) }
        try Checkpoint.assign(params, to: net, path: file)
        // Training mode (dropout 0 keeps it deterministic), no gradient for the input: the graph's case.
        let logits = net(Variable(fx.tensors["input"]!), training: true)
        #expect(Self.compiled(net) == 1, "the training graph did not compile for F = 16")
        #expect(Fixtures.relativeError(logits.value, fx.tensors["logits"]!) < 1e-4)
        let loss = Losses.crossEntropy(logits: logits, labels: fx.tensors["target"]!)
        #expect(abs(loss.value[flat: 0] - fx.tensors["loss"]![flat: 0]) / fx.tensors["loss"]![flat: 0] < 1e-5)
        loss.backward()
        for (name, v) in net.namedVariables where v.requiresGrad {
            #expect(Fixtures.relativeError(v.grad!, fx.tensors["grad." + name]!) < 1e-4, "\(name)")
        }
    }

    /// Three SGD steps with dropout 0.4 and a leaky ReLU, on the graph and on the layers: the
    /// same masks (drawn per NCHW index in both) and the same weights within rounding.
    @Test func trainsLikeTheLayerPath() {
        func train(graph: Bool) -> (first: Tensor, weights: [Tensor], compiled: Int) {
            let net = UNet(UNetConfig(inChannels: 2, classes: 3, filters: 16, depth: 3, dropout: 0.4, leakySlope: 0.01), seed: 5)
            var rng = SeededRNG(seed: 6)
            let x = Tensor.uniform([3, 2, 48, 48], 0, 1, rng: &rng)
            let labels = Tensor.uniform([3, 48, 48], 0, 3, rng: &rng).map { $0.rounded(.down) }
            let opt = SGD(net.parameters, learningRate: 0.05, momentum: 0.9)
            var first: Tensor?
            KernelTuning.$trainingGraphs.withValue(graph) {
                for _ in 0..<3 {
                    net.zeroGradients()
                    let logits = net(Variable(x), training: true)
                    if first == nil { first = logits.value }
                    Losses.crossEntropy(logits: logits, labels: labels).backward()
                    opt.step()
                }
            }
            return (first!, net.namedVariables.map(\.1.value), Self.compiled(net))
        }
        let g = train(graph: true), l = train(graph: false), again = train(graph: true)
        #expect(g.compiled == 1 && l.compiled == 0)
        #expect(Fixtures.relativeError(g.first, l.first) < 1e-5)
        for (a, b) in zip(g.weights, l.weights) { #expect(Fixtures.relativeError(a, b) < 1e-4) }
        #expect(zip(g.weights, again.weights).allSatisfy { $0.0.scalars == $0.1.scalars }, "the graph is not deterministic")
    }

    /// With 5 input channels (A with 2 neighbours a side) oneDNN has no jit backward-weights
    /// kernel for the image's NCHW layout against the blocked gradient, so the graph reorders
    /// that gradient to NCHW and lets oneDNN run a GEMM: one step's gradients equal the layer
    /// path's (whose kernel there is oneDNN's reference loop) within rounding.
    @Test func fiveInputChannelsGiveTheLayerPathsGradients() {
        func gradients(graph: Bool) -> (grads: [Tensor], compiled: Int) {
            let net = UNet(UNetConfig(inChannels: 5, classes: 1, filters: 16, depth: 2, dropout: 0), seed: 8)
            var rng = SeededRNG(seed: 9)
            let x = Tensor.uniform([2, 5, 32, 32], 0, 1, rng: &rng)
            let y = Tensor.uniform([2, 1, 32, 32], 0, 1, rng: &rng).map { $0 > 0.7 ? 1 : 0 }
            KernelTuning.$trainingGraphs.withValue(graph) {
                net.zeroGradients()
                Losses.binaryCrossEntropy(logits: net(Variable(x), training: true), targets: y).backward()
            }
            return (net.namedVariables.map { $0.1.grad! }, Self.compiled(net))
        }
        let g = gradients(graph: true), l = gradients(graph: false)
        #expect(g.compiled == 1 && l.compiled == 0)
        for (a, b) in zip(g.grads, l.grads) { #expect(Fixtures.relativeError(a, b) < 1e-4) }
    }

    /// A network used twice in one loss: the second forward pass must not overwrite the
    /// activations the first one's backward pass needs (it runs on the layers instead).
    @Test func twoForwardPassesBeforeOneBackward() {
        func grads(graph: Bool) -> [Tensor] {
            let net = UNet(UNetConfig(inChannels: 1, classes: 1, filters: 16, depth: 2, dropout: 0), seed: 7)
            var rng = SeededRNG(seed: 8)
            let a = Tensor.uniform([2, 1, 32, 32], 0, 1, rng: &rng), b = Tensor.uniform([2, 1, 32, 32], 0, 1, rng: &rng)
            let y = Tensor.uniform([2, 1, 32, 32], 0, 1, rng: &rng).map { $0 > 0.7 ? 1 : 0 }
            KernelTuning.$trainingGraphs.withValue(graph) {
                let la = Losses.binaryCrossEntropy(logits: net(Variable(a), training: true), targets: y)
                let lb = Losses.binaryCrossEntropy(logits: net(Variable(b), training: true), targets: y)
                Ops.add(la, lb).backward()
            }
            return net.parameters.map { $0.grad! }
        }
        for (g, l) in zip(grads(graph: true), grads(graph: false)) { #expect(Fixtures.relativeError(g, l) < 1e-4) }
    }

    /// Winograd F(4×4, 3×3) (the graphs' default where oneDNN has it) against direct convolutions:
    /// the same logits and gradients within float32 rounding of the transforms.
    @Test func winogradMatchesDirectConvolution() {
        func run(_ winograd: Bool) -> (logits: Tensor, inference: Tensor, grads: [Tensor], kernels: [String]) {
            KernelTuning.$winograd.withValue(winograd) {
                let net = UNet(UNetConfig(inChannels: 1, classes: 1, filters: 16, depth: 2, dropout: 0.4), seed: 11)
                var rng = SeededRNG(seed: 12)
                let x = Tensor.uniform([2, 1, 64, 64], 0, 1, rng: &rng)
                let y = Tensor.uniform([2, 1, 64, 64], 0, 1, rng: &rng).map { $0 > 0.8 ? 1 : 0 }
                let logits = net(Variable(x), training: true)
                Losses.binaryCrossEntropy(logits: logits, targets: y).backward()
                let inference = Autograd.withoutGradients { net(Variable(x), training: false).value }
                return (logits.value, inference, net.parameters.map { $0.grad! },
                        net.trainingGraphImplementations + net.inferenceGraphImplementations)
            }
        }
        let w = run(true), d = run(false)
        #expect(!d.kernels.contains { $0.contains("wino") })
        #expect(Fixtures.relativeError(w.logits, d.logits) < 1e-5)
        #expect(Fixtures.relativeError(w.inference, d.inference) < 1e-5)
        for (a, b) in zip(w.grads, d.grads) { #expect(Fixtures.relativeError(a, b) < 1e-4) }
        print("winograd kernels in use: \(w.kernels.filter { $0.contains("wino") }.count) of \(w.kernels.count)")
    }

    /// As `InferenceGraphTests.graphConvolutionsRunJitKernels`, for every primitive of a
    /// training step: forward, backward-data and backward-weights convolutions, pooling, ReLU.
    @Test func trainingPrimitivesRunJitKernels() throws {
        let net = UNet(UNetConfig(inChannels: 3, classes: 1, filters: 16, depth: 3, dropout: 0.4), seed: 3)
        var rng = SeededRNG(seed: 4)
        let x = Tensor.uniform([2, 3, 32, 32], 0, 1, rng: &rng)
        Losses.binaryCrossEntropy(logits: net(Variable(x), training: true), targets: x.splitChannels([1, 2])[0]).backward()
        net.trainingGraphCache.lock.lock(); defer { net.trainingGraphCache.lock.unlock() }
        let graph = net.trainingGraphCache.graphs.entries.first ?? nil
        guard KernelTuning.blockWidth != nil else {
            #expect(graph == nil, "a graph compiled on a CPU without a blocked layout")
            return
        }
        let impl = try #require(graph).implementations
        for c in impl { #expect(!c.contains(": ref"), "\(c)") }
    }
}
