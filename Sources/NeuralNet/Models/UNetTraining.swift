import Foundation
@_spi(KernelTuning) import Tensor

/// A U-Net's compiled training graphs (`CompiledTrainingGraph`), one per input shape and thread
/// count. Each holds every activation of a batch, so few are kept: an epoch's last, smaller
/// batch gives a second shape.
final class UNetTrainingGraphCache: @unchecked Sendable {
    struct Key: Hashable { let shape: [Int], threads: Int, winograd: Bool }
    /// nil graph: the network does not fit the compiled plan; the layer path trains it.
    var graphs = GraphLRU<Key, CompiledTrainingGraph?>(capacity: capacity)
    /// The output of a forward pass whose backward pass has not run yet: the graph holds its
    /// activations, so a second forward pass before it (two uses of one network in one loss)
    /// goes through the layer path instead of overwriting them.
    weak var pending: Variable?
    let lock = NSLock()
    static let capacity = 2
}

extension UNet {
    /// The oneDNN implementation of every primitive of the compiled training graphs (for benchmarks).
    public var trainingGraphImplementations: [String] {
        trainingGraphCache.lock.lock(); defer { trainingGraphCache.lock.unlock() }
        return trainingGraphCache.graphs.entries.compactMap { $0 }.flatMap(\.implementations)
    }

    /// One training forward pass as a compiled graph, with a backward closure that runs the
    /// graph's backward pass; nil where it does not apply (batch norm, a gradient wanted for the
    /// input, non-default kernel tuning, or a forward pass still waiting for its backward), and
    /// the caller runs the layers. Dropout draws its keys from `random` in the layer path's order.
    func compiledTrainingForward(_ x: Variable) -> Variable? {
        guard Autograd.isRecording, KernelTuning.trainingGraphs, !config.batchNorm, !x.requiresGrad,
              KernelTuning.convLayout == .auto, KernelTuning.transposedConvLayout == .auto, KernelTuning.convPairs else { return nil }
        let params = trainingParameters()
        guard params.count == 2 * (5 * config.depth + 3), params.allSatisfy(\.requiresGrad) else { return nil }
        let cache = trainingGraphCache
        cache.lock.lock()
        defer { cache.lock.unlock() }
        guard cache.pending == nil else { return nil }
        let key = UNetTrainingGraphCache.Key(shape: x.shape, threads: Kernels.threads, winograd: KernelTuning.winograd)
        let graph = cache.graphs.entry(key) {
            let (g, output) = networkGraph(x.shape)
            return g.compileTraining(output: output)
        }
        guard let graph else { return nil }
        let keys = config.dropout > 0 ? (0..<config.depth).map { _ in random.generator.next() } : []
        var weights: [(weight: Tensor, bias: Tensor)] = []
        for i in stride(from: 0, to: params.count, by: 2) { weights.append((params[i].value, params[i + 1].value)) }
        let y = graph.forward(x.value, weights: weights, dropoutKeys: keys)
        let out = Variable(y, parents: params) { [weak cache] gy in
            let grads = graph.backward(gy)
            cache?.lock.lock(); cache?.pending = nil; cache?.lock.unlock()
            return grads.flatMap { [$0.weight, $0.bias] as [Tensor?] }
        }
        cache.pending = out
        return out
    }

    /// Weight and bias of every layer, in `networkGraph`'s order.
    private func trainingParameters() -> [Variable] {
        var out: [Variable] = []
        func add(_ c: Conv2D) { out.append(c.weight); if let b = c.bias { out.append(b) } }
        for b in down { add(b.conv1); add(b.conv2) }
        for l in stride(from: config.depth - 1, through: 0, by: -1) {
            out += [up[l].weight, up[l].bias]
            add(dec[l].conv1); add(dec[l].conv2)
        }
        add(head)
        return out
    }
}
