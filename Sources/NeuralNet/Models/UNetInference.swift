import Foundation
@_spi(KernelTuning) import Tensor

/// A U-Net's compiled inference graphs (`CompiledInferenceGraph`), one per input shape, precision and
/// thread count, with the parameter versions their weights were copied at.
final class UNetGraphCache: @unchecked Sendable {
    struct Key: Hashable { let shape: [Int], precision: KernelPrecision, threads: Int, winograd: Bool }
    /// nil graph: the network does not fit the compiled plan; the layer path runs it.
    var graphs = GraphLRU<Key, (graph: CompiledInferenceGraph?, version: Int)>(capacity: capacity)
    /// The network's parameters and buffers, whose versions say when the copied weights are stale.
    var variables: [Variable] = []
    let lock = NSLock()
    /// Graphs kept per network (each holds a copy of the weights in oneDNN's layout); beyond it
    /// the least recently used goes. `segment --batch B` gives B up to B sub-batch sizes.
    static let capacity = 8
}

extension UNet {
    /// The oneDNN implementation of every primitive of the compiled graphs (for benchmarks).
    public var inferenceGraphImplementations: [String] {
        graphCache.lock.lock(); defer { graphCache.lock.unlock() }
        return graphCache.graphs.entries.compactMap(\.graph).flatMap(\.implementations)
    }

    /// The forward pass as one compiled graph, when no gradient is recorded and the layer path's
    /// tuning is the default; nil where the graph does not apply (the caller runs the layers).
    /// Equal to the layer path within rounding: the same oneDNN convolutions, without the
    /// reorders between layers.
    func compiledForward(_ x: Tensor) -> Tensor? {
        guard !Autograd.isRecording, KernelTuning.inferenceGraphs, KernelTuning.convLayout == .auto,
              KernelTuning.transposedConvLayout == .auto, KernelTuning.convPairs else { return nil }
        let key = UNetGraphCache.Key(shape: x.shape, precision: Kernels.inferencePrecision, threads: Kernels.threads, winograd: KernelTuning.winograd)
        graphCache.lock.lock()
        defer { graphCache.lock.unlock() }
        if graphCache.variables.isEmpty { graphCache.variables = namedVariables(prefix: "").map(\.1) }
        let version = graphCache.variables.reduce(0) { $0 &+ $1.version }
        var entry = graphCache.graphs.entry(key) { (buildGraph(x.shape, key.precision), -1) }
        guard let graph = entry.graph else { return nil }
        if entry.version != version {
            graph.setWeights(inferenceWeights())
            entry.version = version
            graphCache.graphs.set(key, entry)
        }
        return graph.run(x)
    }

    private func buildGraph(_ shape: [Int], _ precision: KernelPrecision) -> CompiledInferenceGraph? {
        let (g, output) = networkGraph(shape)
        return g.compile(output: output, precision: precision)
    }

    /// The network as a `NetworkGraph` (layers in the order `callAsFunction` runs them; weights
    /// named down blocks, then per level up-sampling and decoder block, then the head).
    func networkGraph(_ shape: [Int]) -> (NetworkGraph, NetworkGraph.Value) {
        let g = NetworkGraph()
        let slope = config.leakySlope ?? 0
        func block(_ b: TwoConv, _ x: NetworkGraph.Value) -> NetworkGraph.Value {
            let h = g.conv(x, weightShape: b.conv1.weight.value.shape, padding: b.conv1.padding, relu: true, slope: slope)
            return g.conv(h, weightShape: b.conv2.weight.value.shape, padding: b.conv2.padding, relu: true, slope: slope)
        }
        var skips: [NetworkGraph.Value] = []
        var h = g.input(shape)
        for l in 0...config.depth {
            if l > 0 { h = g.maxPool2x2(h) }
            h = block(down[l], h)
            skips.append(h)
        }
        for l in stride(from: config.depth - 1, through: 0, by: -1) {
            h = g.concatUpsampled(skip: skips[l], h, weightShape: up[l].weight.value.shape, dropout: config.dropout)
            h = block(dec[l], h)
        }
        h = g.conv(h, weightShape: head.weight.value.shape, padding: head.padding, relu: false)
        return (g, h)
    }

    /// Weights and biases in the order `buildGraph` names them, batch norm folded in.
    private func inferenceWeights() -> [(weight: Tensor, bias: Tensor)] {
        var out = down.flatMap { $0.inferenceWeights() }
        for l in stride(from: config.depth - 1, through: 0, by: -1) {
            out.append((up[l].weight.value, up[l].bias.value))
            out += dec[l].inferenceWeights()
        }
        out.append((head.weight.value, head.bias?.value ?? Tensor.zeros([head.weight.value.shape[0]])))
        return out
    }
}
