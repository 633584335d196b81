import Tensor

/// Differentiable operations on `Variable`s. Each forward calls a kernel; each backward
/// closure calls the matching backward kernels and keeps only what it needs.
public enum Ops {
    /// Convolution (stride 1, zero padding), optionally fused with ReLU (leaky with slope `reluSlope` > 0).
    /// Runs in `Kernels.inferencePrecision` (fp32 or bf16) when no gradient will be recorded.
    public static func conv2d(_ x: Variable, _ w: Variable, _ b: Variable?, padding: Int, relu: Bool = false, reluSlope: Float = 0) -> Variable {
        let parents = b.map { [x, w, $0] } ?? [x, w]
        let records = Autograd.isRecording && parents.contains { $0.requiresGrad }
        let y = Kernels.conv2d(x.value, w.value, b?.value, padding: padding, fuseReLU: relu, reluSlope: reluSlope,
                               precision: records ? .fp32 : Kernels.inferencePrecision)
        let xv = x.value, wv = w.value
        let needInputGrad = x.requiresGrad
        return Variable(y, parents: parents) { [y] gy in
            let g = relu ? gy.reluBackward(output: y, negativeSlope: reluSlope) : gy
            // The first layer's input is the image: skip backward-data there (costly, unused).
            // One call for both gradients: gy is converted to oneDNN's layout once.
            let (gx, gw, gb) = Kernels.conv2dBackward(xv, g, wv, padding: padding, inputGradient: needInputGrad)
            return b == nil ? [gx, gw] : [gx, gw, gb]
        }
    }

    /// Transposed convolution, kernel 2, stride 2 (up-sampling).
    public static func convTranspose2x2(_ x: Variable, _ w: Variable, _ b: Variable?) -> Variable {
        let y = Kernels.convTranspose2x2(x.value, w.value, b?.value)
        let xv = x.value, wv = w.value
        let parents = b.map { [x, w, $0] } ?? [x, w]
        return Variable(y, parents: parents) { gy in
            let gx = Kernels.convTranspose2x2BackwardData(gy, wv, inputShape: xv.shape)
            let (gw, gb) = Kernels.convTranspose2x2BackwardWeights(xv, gy)
            return b == nil ? [gx, gw] : [gx, gw, gb]
        }
    }

    public static func maxPool2x2(_ x: Variable) -> Variable {
        guard Autograd.isRecording && x.requiresGrad else { return Variable(Kernels.maxPool2x2Inference(x.value)) }
        let (y, state) = Kernels.maxPool2x2(x.value)
        return Variable(y, parents: [x]) { gy in [Kernels.maxPool2x2Backward(gy, state: state)] }
    }

    public static func relu(_ x: Variable, negativeSlope s: Float = 0) -> Variable {
        let y = x.value.relu(negativeSlope: s)
        return Variable(y, parents: [x]) { [y] gy in [gy.reluBackward(output: y, negativeSlope: s)] }
    }

    public static func concatChannels(_ parts: [Variable]) -> Variable {
        let counts = parts.map { $0.value.shape[1] }
        return Variable(Tensor.concatChannels(parts.map(\.value)), parents: parts) { gy in
            gy.splitChannels(counts).map { Optional($0) }
        }
    }

    public static func add(_ a: Variable, _ b: Variable) -> Variable {
        Variable(a.value + b.value, parents: [a, b]) { gy in [gy, gy] }
    }

    public static func scale(_ a: Variable, _ s: Float) -> Variable {
        Variable(a.value * s, parents: [a]) { gy in [gy * s] }
    }

    /// Inverted dropout: zeroes each element with probability p and scales the rest by
    /// 1/(1−p), so inference needs no rescaling (Keras and PyTorch do the same).
    public static func dropout(_ x: Variable, p: Float, rng: RandomSource) -> Variable {
        precondition(p >= 0 && p < 1, "dropout: p must be in [0, 1), got \(p)")
        if p == 0 { return x }
        // One draw from the model's stream per mask keeps training reproducible for a seed.
        let (y, mask) = Tensor.dropout(x.value, p: p, key: rng.generator.next())
        return Variable(y, parents: [x]) { gy in [gy * mask] }
    }
}

/// A seeded random stream shared by the layers of one model (dropout masks), so that
/// training is reproducible for a seed.
public final class RandomSource {
    public var generator: SeededRNG
    public init(seed: UInt64) { generator = SeededRNG(seed: seed) }
}

import Support
