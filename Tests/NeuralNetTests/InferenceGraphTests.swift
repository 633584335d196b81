import Testing
import Support
@_spi(KernelTuning) import Tensor
@testable import NeuralNet

/// The compiled inference graph (activations blocked from the first convolution to the head)
/// against PyTorch and against the layer-by-layer path it replaces.
@Suite struct InferenceGraphTests {
    static func input(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRNG(seed: seed)
        return Tensor.uniform(shape, 0, 1, rng: &rng)
    }

    static func forward(_ net: UNet, _ x: Tensor, graph: Bool) -> Tensor {
        KernelTuning.$inferenceGraphs.withValue(graph) { Autograd.withoutGradients { net(Variable(x), training: false).value } }
    }

    static func graphs(_ net: UNet) -> [CompiledInferenceGraph?] {
        net.graphCache.lock.lock(); defer { net.graphCache.lock.unlock() }
        return net.graphCache.graphs.entries.map(\.graph)
    }

    @Test func compiledGraphMatchesPyTorch() throws {
        // F 16, depth 2, 3 input channels, batch norm in eval mode (folded into the weights).
        let file = "unet_f16_infer.safetensors"
        let fx = try Fixtures.load(file)
        let md = fx.metadata
        let net = UNet(UNetConfig(inChannels: Int(md["in_channels"]!)!, classes: Int(md["classes"]!)!, filters: Int(md["filters"]!)!,
                                  depth: Int(md["depth"]!)!, dropout: 0.4, batchNorm: true), seed: 1)
        try Checkpoint.assign(fx.tensors.filter { !["input", "logits"].contains($0.key) }, to: net, path: file)
        let x = fx.tensors["input"]!
        let graph = Self.forward(net, x, graph: true)
        let graphs = Self.graphs(net)
        #expect(graphs.count == 1 && graphs[0] != nil, "the graph did not compile for F = 16")
        #expect(Fixtures.relativeError(graph, fx.tensors["logits"]!) < 1e-4)
        #expect(Fixtures.relativeError(Self.forward(net, x, graph: false), fx.tensors["logits"]!) < 1e-4)
    }

    @Test func graphMatchesTheLayerPathAndFollowsWeightChanges() {
        let net = UNet(UNetConfig(inChannels: 1, classes: 3, filters: 16, depth: 3, dropout: 0.4, leakySlope: 0.01), seed: 3)
        let x = Self.input([3, 1, 48, 48], seed: 4)
        let before = Self.forward(net, x, graph: true)
        #expect(Fixtures.relativeError(before, Self.forward(net, x, graph: false)) < 1e-5)
        let compiled = Self.graphs(net).compactMap { $0 }
        #expect(compiled.count == 1)
        if let g = compiled.first {
            // Values whose lives do not overlap share memory.
            #expect(g.plannedBytes < g.unplannedBytes / 2, "planned \(g.plannedBytes) of \(g.unplannedBytes) bytes")
        }

        // One optimizer step changes the weights in place; the graph must pick them up.
        let opt = Adam(net.parameters, learningRate: 1e-2)
        let loss = Losses.crossEntropy(logits: net(Variable(x), training: true), labels: Tensor.zeros([3, 48, 48]))
        loss.backward()
        opt.step()
        let after = Self.forward(net, x, graph: true)
        #expect(Fixtures.relativeError(after, Self.forward(net, x, graph: false)) < 1e-5)
        #expect(Fixtures.relativeError(after, before) > 1e-3, "the step did not change the output")
        #expect(Self.graphs(net).count == 1, "a weight change recompiled the graph instead of refreshing it")
    }

    /// Graphs keep their activations in one arena that every graph and kernel call shares; two
    /// networks of different sizes run in turn (as a cascade's A and B do) stay right.
    @Test func graphsOfTwoNetworksShareTheArena() {
        let small = UNet(UNetConfig(inChannels: 1, classes: 1, filters: 16, depth: 2, dropout: 0), seed: 9)
        let large = UNet(UNetConfig(inChannels: 3, classes: 1, filters: 32, depth: 3, dropout: 0), seed: 10)
        let xs = Self.input([1, 1, 32, 32], seed: 11), xl = Self.input([2, 3, 64, 64], seed: 12)
        let refSmall = Self.forward(small, xs, graph: false), refLarge = Self.forward(large, xl, graph: false)
        for _ in 0..<2 {
            #expect(Fixtures.relativeError(Self.forward(small, xs, graph: true), refSmall) < 1e-5)
            #expect(Fixtures.relativeError(Self.forward(large, xl, graph: true), refLarge) < 1e-5)
        }
    }

    /// One graph per input shape, at most `UNetGraphCache.capacity`; the least recently used goes.
    @Test func graphCacheKeepsTheMostRecentShapes() {
        let net = UNet(UNetConfig(inChannels: 1, classes: 1, filters: 16, depth: 1, dropout: 0), seed: 13)
        let cap = UNetGraphCache.capacity
        let inputs = (1...(cap + 1)).map { Self.input([$0, 1, 16, 16], seed: UInt64($0)) }
        for x in inputs.prefix(cap) { _ = Self.forward(net, x, graph: true) }
        _ = Self.forward(net, inputs[0], graph: true)             // batch 1 is now the most recent
        let y = Self.forward(net, inputs[cap], graph: true)        // a new shape evicts batch 2
        #expect(Fixtures.relativeError(y, Self.forward(net, inputs[cap], graph: false)) < 1e-5)
        let shapes = net.graphCache.graphs.keys.map { $0.shape[0] }
        #expect(shapes.count == cap && shapes.contains(1) && !shapes.contains(2))
    }

    /// bf16 runs the graph channels-last (oneDNN's AMX kernels); it stays near fp32.
    @Test func bf16GraphStaysNearFP32() {
        let net = UNet(UNetConfig(inChannels: 3, classes: 1, filters: 16, depth: 3, dropout: 0.4), seed: 7)
        let x = Self.input([2, 3, 48, 48], seed: 8)
        let fp32 = Self.forward(net, x, graph: false)
        let bf16 = Kernels.$inferencePrecisionOverride.withValue(.bf16) { Self.forward(net, x, graph: true) }
        #expect(Self.graphs(net).compactMap { $0 }.map(\.precision) == [Kernels.bf16Supported ? .bf16 : .fp32])
        let scale = fp32.scalars.map(abs).max()!
        var worst: Float = 0
        for i in 0..<fp32.count { worst = max(worst, abs(bf16[flat: i] - fp32[flat: i])) }
        #expect(worst / scale <= 3e-2, "bf16 graph vs fp32 layers: relative error \(worst / scale)")
        if Kernels.bf16Supported { #expect(worst > 0, "bf16 graph identical to fp32: bf16 did not run") }
    }

    /// F = 4: the skip connections' 4 channels fill neither an 8- nor a 16-channel block.
    @Test func channelsThatDoNotFillBlocksRunLayerByLayer() {
        let net = UNet(UNetConfig(inChannels: 1, classes: 1, filters: 4, depth: 2, dropout: 0), seed: 5)
        let x = Self.input([2, 1, 16, 16], seed: 6)
        let y = Self.forward(net, x, graph: true)
        #expect(Self.graphs(net).count == 1 && Self.graphs(net)[0] == nil)
        #expect(y.scalars == Self.forward(net, x, graph: false).scalars)
    }

    /// The graph keeps its activations in the CPU's own channel block (`KernelTuning.blockWidth`).
    /// In any other (nChw16c on an AVX2 CPU, before session 22) oneDNN runs its reference
    /// convolutions, about 1000× slower, and still gives the right numbers: only this catches it.
    @Test func graphConvolutionsRunJitKernels() throws {
        let net = UNet(UNetConfig(inChannels: 3, classes: 3, filters: 16, depth: 3, dropout: 0), seed: 3)
        _ = Self.forward(net, Self.input([2, 3, 32, 32], seed: 4), graph: true)
        let graph = Self.graphs(net)[0]
        guard KernelTuning.blockWidth != nil else {
            #expect(graph == nil, "a graph compiled on a CPU without a blocked layout")
            return
        }
        let convs = try #require(graph).implementations.filter { $0.hasPrefix("conv") }
        #expect(convs.count == 18, "4 levels of 2 convolutions, 3 of a transposed one and 2, the head")
        for c in convs { #expect(!c.contains(": ref"), "\(c)") }
    }
}
