import CDNNL

/// A network as a list of layers (a U-Net's: convolutions, 2×2 max poolings, and transposed
/// convolutions concatenated with their skip connection), compiled once for one input shape
/// into a `CompiledInferenceGraph` (`compile`) or a `CompiledTrainingGraph` (`compileTraining`).
/// Both keep the activations in oneDNN's own layout from the first layer to the last, so the
/// only reorders are at the edges, where layer-by-layer kernel calls reorder NCHW tensors into
/// and out of that layout at every layer.
///
/// Build with `input`, `conv`, `maxPool2x2` and `concatUpsampled`, then compile.
public final class NetworkGraph: @unchecked Sendable {
    public struct Value: Hashable, Sendable { let id: Int }

    enum Node {
        case input
        case conv(x: Int, weight: Int, kernel: Int, padding: Int, relu: Bool, slope: Float)
        case pool(x: Int)
        /// concat([skip, convTranspose2x2(x)]) along channels, then (in training) dropout with
        /// probability `dropout` (the seed's U-Net drops out in its up path).
        case concatUpsampled(skip: Int, x: Int, weight: Int, dropout: Float)
    }

    /// [N, C, H, W] of each value, and the op that makes it.
    var shapes: [[Int]] = []
    var nodes: [Node] = []
    /// Weight shapes in `setWeights` order: conv [Co,Ci,K,K], transposed conv [Ci,Co,2,2].
    var weightShapes: [[Int]] = []

    public init() {}

    public func input(_ shape: [Int]) -> Value {
        precondition(shape.count == 4 && shapes.isEmpty, "NetworkGraph.input: one [N,C,H,W] input, first")
        return add(.input, shape)
    }

    /// Stride-1 convolution with a bias, padding `padding`, optionally followed by (leaky) ReLU.
    public func conv(_ x: Value, weightShape w: [Int], padding: Int, relu: Bool, slope: Float = 0) -> Value {
        let s = shapes[x.id]
        precondition(w.count == 4 && w[1] == s[1] && w[2] == w[3], "NetworkGraph.conv: weight \(w) does not fit input \(s)")
        weightShapes.append(w)
        return add(.conv(x: x.id, weight: weightShapes.count - 1, kernel: w[2], padding: padding, relu: relu, slope: slope),
                   [s[0], w[0], s[2] + 2 * padding - w[2] + 1, s[3] + 2 * padding - w[3] + 1])
    }

    public func maxPool2x2(_ x: Value) -> Value {
        let s = shapes[x.id]
        return add(.pool(x: x.id), [s[0], s[1], s[2] / 2, s[3] / 2])
    }

    /// concat([skip, convTranspose2x2(x)]) along channels; the weight is PyTorch's [Ci,Co,2,2].
    /// `dropout`: the probability with which training drops each element of the concatenation
    /// (inference ignores it).
    public func concatUpsampled(skip: Value, _ x: Value, weightShape w: [Int], dropout: Float = 0) -> Value {
        let s = shapes[skip.id], t = shapes[x.id]
        precondition(w.count == 4 && w[0] == t[1] && w[2] == 2 && w[3] == 2 && s[0] == t[0] && s[2] == 2 * t[2] && s[3] == 2 * t[3],
                     "NetworkGraph.concatUpsampled: skip \(s), x \(t) and weight \(w) do not fit")
        weightShapes.append(w)
        return add(.concatUpsampled(skip: skip.id, x: x.id, weight: weightShapes.count - 1, dropout: dropout), [s[0], s[1] + w[1], s[2], s[3]])
    }

    private func add(_ node: Node, _ shape: [Int]) -> Value {
        nodes.append(node); shapes.append(shape)
        return Value(id: nodes.count - 1)
    }

    /// Creates every primitive and plans the memory for computing `output`; nil where the graph
    /// does not fit the plan (in fp32, channel counts that are not multiples of the CPU's channel
    /// block where channels are concatenated, a CPU without a blocked layout, or a layout oneDNN
    /// does not accept), and the caller should run layer by layer instead. bf16 applies only
    /// where the CPU has native bf16.
    public func compile(output: Value, precision: KernelPrecision) -> CompiledInferenceGraph? {
        let ctx = DNNLContext.shared
        return ctx.locked {
            ctx.applyThreads()
            return CompiledInferenceGraph(self, output: output.id, bf16: precision == .bf16 && DNNLContext.bf16Native, winograd: KernelTuning.winograd)
        }
    }

    /// Creates the forward (training) and backward primitives of the graph ending in `output`
    /// (fp32); nil where it does not fit (channel counts that are not multiples of the CPU's
    /// channel block inside the network, a CPU without a blocked layout, or a layout oneDNN does
    /// not accept), and the caller trains layer by layer.
    public func compileTraining(output: Value) -> CompiledTrainingGraph? {
        let ctx = DNNLContext.shared
        return ctx.locked {
            ctx.applyThreads()
            return CompiledTrainingGraph(self, output: output.id, winograd: KernelTuning.winograd)
        }
    }

    /// Values each node reads.
    func reads(_ i: Int) -> [Int] {
        switch nodes[i] {
        case .input: return []
        case .conv(let x, _, _, _, _, _), .pool(let x): return [x]
        case .concatUpsampled(let s, let x, _, _): return [s, x]
        }
    }
}

