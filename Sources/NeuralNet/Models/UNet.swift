import Support
import Tensor

/// Hyper-parameters of a U-Net; stored in checkpoints so a model can be rebuilt from a file.
public struct UNetConfig: Codable, Equatable, Sendable {
    public var inChannels: Int
    /// Output channels: 1 for a sigmoid (binary) head, 3 for the one-step softmax.
    public var classes: Int
    /// Filters of the first level; level l has filters·2^l.
    public var filters: Int
    /// Number of 2×2 poolings (the seed's U-Net: 4).
    public var depth: Int
    /// Dropout in the up path (the seed: 0.4).
    public var dropout: Float
    public var batchNorm: Bool
    /// Negative slope of the activations: 0 (or nil, for checkpoints saved before the option
    /// existed) is the seed's ReLU; > 0 a leaky ReLU, as nnU-Net uses (0.01), so that a unit
    /// pushed below zero everywhere still gets a gradient and can come back.
    public var leakySlope: Float?

    public init(inChannels: Int = 1, classes: Int = 1, filters: Int = 32, depth: Int = 4,
                dropout: Float = 0.4, batchNorm: Bool = false, leakySlope: Float? = nil) {
        self.inChannels = inChannels; self.classes = classes; self.filters = filters
        self.depth = depth; self.dropout = dropout; self.batchNorm = batchNorm; self.leakySlope = leakySlope
    }

    /// Multiply-adds ×2 of every convolution for one forward pass at N×H×W (the FLOPs that
    /// benchmarks report; elementwise work is not counted).
    public func forwardFLOPs(batch: Int, height: Int, width: Int) -> Double {
        var total = 0.0
        var (h, w) = (Double(height), Double(width))
        var c = Double(inChannels)
        var skips: [(Double, Double, Double)] = []
        for l in 0...depth {
            let co = Double(filters << l)
            total += 2 * 9 * (c * co + co * co) * h * w
            skips.append((co, h, w))
            c = co
            if l < depth { h = (h / 2).rounded(.down); w = (w / 2).rounded(.down) }
        }
        for l in stride(from: depth - 1, through: 0, by: -1) {
            let (co, hs, ws) = skips[l]
            total += 2 * 4 * c * co * h * w              // transposed conv: 4 taps per input pixel
            total += 2 * 9 * (2 * co * co + co * co) * hs * ws
            (c, h, w) = (co, hs, ws)
        }
        total += 2 * c * Double(classes) * h * w
        return total * Double(batch)
    }
}

/// Two 3×3 convolutions, each followed by (batch norm and) ReLU (MONAI's TwoConv).
public final class TwoConv: Module {
    let conv1: Conv2D, conv2: Conv2D
    let bn1: BatchNorm2D?, bn2: BatchNorm2D?
    let slope: Float

    init(_ inC: Int, _ outC: Int, batchNorm: Bool, slope: Float = 0, rng: inout SeededRNG) {
        self.slope = slope
        conv1 = Conv2D(inC, outC, kernel: 3, rng: &rng)
        conv2 = Conv2D(outC, outC, kernel: 3, rng: &rng)
        bn1 = batchNorm ? BatchNorm2D(outC) : nil
        bn2 = batchNorm ? BatchNorm2D(outC) : nil
    }

    func callAsFunction(_ x: Variable, training: Bool) -> Variable {
        if !Autograd.isRecording, !training || bn1 == nil, conv1.bias != nil, conv2.bias != nil {
            // Inference: both convolutions in one kernel call, the intermediate kept in oneDNN's
            // layout; batch norm (running statistics) folded into the convolutions' weights.
            let w = inferenceWeights()
            return Variable(Kernels.conv2dPair(x.value, w[0].weight, w[0].bias, w[1].weight, w[1].bias, padding: conv1.padding,
                                               fuseReLU: true, reluSlope: slope, precision: Kernels.inferencePrecision))
        }
        var h = x
        for (conv, bn) in [(conv1, bn1), (conv2, bn2)] {
            if let bn {
                h = Ops.relu(bn(conv(h), training: training), negativeSlope: slope)
            } else {
                h = conv(h, relu: true, reluSlope: slope)   // ReLU fused into the convolution
            }
        }
        return h
    }

    /// Both convolutions' weights and biases (zero where there is none) as inference runs them:
    /// batch norm, with its running statistics, folded in.
    func inferenceWeights() -> [(weight: Tensor, bias: Tensor)] {
        [(conv1, bn1), (conv2, bn2)].map { conv, bn in
            let b = conv.bias?.value ?? Tensor.zeros([conv.weight.value.shape[0]])
            return bn?.folded(weight: conv.weight.value, bias: b) ?? (conv.weight.value, b)
        }
    }

    public func namedVariables(prefix: String) -> [(String, Variable)] {
        var out = conv1.namedVariables(prefix: join(prefix, "conv1")) + conv2.namedVariables(prefix: join(prefix, "conv2"))
        if let bn1, let bn2 {
            out += bn1.namedVariables(prefix: join(prefix, "bn1")) + bn2.namedVariables(prefix: join(prefix, "bn2"))
        }
        return out
    }
}

/// The seed's U-Net (Ronneberger et al.): a contracting path of TwoConv blocks and 2×2
/// poolings, an expanding path of 2×2 transposed convolutions whose output is concatenated
/// with the skip connection, dropped out (seed: 0.4 in the up path) and refined by TwoConv,
/// and a 1×1 head giving logits. Parameter names match the PyTorch fixture's.
public final class UNet: Module {
    public let config: UNetConfig
    let down: [TwoConv]
    let up: [ConvTranspose2D]
    let dec: [TwoConv]
    let head: Conv2D
    let pool = MaxPool2D()
    let dropout: Dropout
    /// Dropout masks; reseed through `reseed` for reproducible runs.
    public var random: RandomSource
    let graphCache = UNetGraphCache()
    let trainingGraphCache = UNetTrainingGraphCache()

    public init(_ config: UNetConfig, seed: UInt64) {
        precondition(config.depth >= 0 && config.filters > 0 && config.classes > 0 && config.inChannels > 0,
                     "UNet: invalid config \(config)")
        self.config = config
        var rng = SeededRNG(seed: seed)
        let ch = (0...config.depth).map { config.filters << $0 }
        down = (0...config.depth).map { l in
            TwoConv(l == 0 ? config.inChannels : ch[l - 1], ch[l], batchNorm: config.batchNorm, slope: config.leakySlope ?? 0, rng: &rng)
        }
        up = (0..<config.depth).map { l in ConvTranspose2D(ch[l + 1], ch[l], rng: &rng) }
        dec = (0..<config.depth).map { l in TwoConv(2 * ch[l], ch[l], batchNorm: config.batchNorm, slope: config.leakySlope ?? 0, rng: &rng) }
        head = Conv2D(ch[0], config.classes, kernel: 1, rng: &rng)
        dropout = Dropout(config.dropout)
        random = RandomSource(seed: seed &+ 0x5EED)
    }

    /// Logits [N, classes, H, W] for input [N, inChannels, H, W]. H and W must be divisible
    /// by 2^depth so that the up path meets the skip connections.
    public func callAsFunction(_ x: Variable, training: Bool) -> Variable {
        let s = x.value.shape
        let m = 1 << config.depth
        precondition(s.count == 4 && s[1] == config.inChannels && s[2] % m == 0 && s[3] % m == 0,
                     "UNet: input \(s) must be [N, \(config.inChannels), H, W] with H, W divisible by \(m)")
        if !training, let y = compiledForward(x.value) { return Variable(y) }
        if training, let y = compiledTrainingForward(x) { return y }
        var skips: [Variable] = []
        var h = x
        for l in 0...config.depth {
            if l > 0 { h = pool(h) }
            h = down[l](h, training: training)
            skips.append(h)
        }
        for l in stride(from: config.depth - 1, through: 0, by: -1) {
            let u = up[l](h)
            h = Ops.concatChannels([skips[l], u])
            h = dropout(h, training: training, rng: random)
            h = dec[l](h, training: training)
        }
        return head(h)
    }

    public func namedVariables(prefix: String) -> [(String, Variable)] {
        var out: [(String, Variable)] = []
        for (l, b) in down.enumerated() { out += b.namedVariables(prefix: join(prefix, "down\(l)")) }
        for (l, u) in up.enumerated() { out += u.namedVariables(prefix: join(prefix, "up\(l)")) }
        for (l, b) in dec.enumerated() { out += b.namedVariables(prefix: join(prefix, "dec\(l)")) }
        out += head.namedVariables(prefix: join(prefix, "head"))
        return out
    }
}
