import Support
import Tensor

/// Square-kernel convolution, stride 1, "same" zero padding for odd kernels.
public final class Conv2D: Module {
    public let weight: Variable
    public let bias: Variable?
    public let padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, bias: Bool = true, rng: inout SeededRNG) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && kernel % 2 == 1,
                     "Conv2D: needs positive channels and an odd kernel, got \(inChannels)→\(outChannels), k=\(kernel)")
        // He init: the layers are followed by ReLU.
        weight = Variable(Tensor.heNormal([outChannels, inChannels, kernel, kernel], fanIn: inChannels * kernel * kernel, rng: &rng),
                          requiresGrad: true)
        self.bias = bias ? Variable(Tensor.zeros([outChannels]), requiresGrad: true) : nil
        padding = kernel / 2
    }

    public func callAsFunction(_ x: Variable, relu: Bool = false, reluSlope: Float = 0) -> Variable {
        Ops.conv2d(x, weight, bias, padding: padding, relu: relu, reluSlope: reluSlope)
    }

    public func namedVariables(prefix: String) -> [(String, Variable)] {
        var out = [(join(prefix, "weight"), weight)]
        if let bias { out.append((join(prefix, "bias"), bias)) }
        return out
    }
}

/// 2×2 stride-2 transposed convolution (learned up-sampling).
public final class ConvTranspose2D: Module {
    public let weight: Variable
    public let bias: Variable

    public init(_ inChannels: Int, _ outChannels: Int, rng: inout SeededRNG) {
        // Each output pixel sees one tap of every input channel.
        weight = Variable(Tensor.heNormal([inChannels, outChannels, 2, 2], fanIn: inChannels, rng: &rng), requiresGrad: true)
        bias = Variable(Tensor.zeros([outChannels]), requiresGrad: true)
    }

    public func callAsFunction(_ x: Variable) -> Variable { Ops.convTranspose2x2(x, weight, bias) }

    public func namedVariables(prefix: String) -> [(String, Variable)] {
        [(join(prefix, "weight"), weight), (join(prefix, "bias"), bias)]
    }
}

/// Batch normalization with learned scale/shift and running statistics.
public final class BatchNorm2D: Module {
    public let gamma: Variable, beta: Variable, runningMean: Variable, runningVar: Variable
    public let momentum: Float, eps: Float

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        gamma = Variable(Tensor(shape: [channels], repeating: 1), requiresGrad: true)
        beta = Variable(Tensor.zeros([channels]), requiresGrad: true)
        runningMean = Variable(Tensor.zeros([channels]))
        runningVar = Variable(Tensor(shape: [channels], repeating: 1))
        self.momentum = momentum
        self.eps = eps
    }

    public func callAsFunction(_ x: Variable, training: Bool) -> Variable {
        Ops.batchNorm(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                      training: training, momentum: momentum, eps: eps)
    }

    /// The weights and bias of a convolution followed by this layer in evaluation, as one
    /// convolution: per output channel o, k = γ/√(running var + ε), w·k and (b − running mean)·k + β.
    /// Inference then runs the fused (and paired) convolution kernels instead of a convolution
    /// and a separate pass over the activations.
    public func folded(weight w: Tensor, bias b: Tensor) -> (weight: Tensor, bias: Tensor) {
        let co = w.shape[0], per = w.count / co
        precondition(b.shape == [co] && gamma.value.shape == [co], "BatchNorm2D.folded: weight \(w.shape), bias \(b.shape), \(gamma.value.shape[0]) channels")
        let fw = Tensor(uninitializedShape: w.shape), fb = Tensor(uninitializedShape: [co])
        let wp = w.readPointer, bp = b.readPointer, fwp = fw.writePointer, fbp = fb.writePointer
        let g = gamma.value.readPointer, bt = beta.value.readPointer, rm = runningMean.value.readPointer, rv = runningVar.value.readPointer
        for o in 0..<co {
            let k = g[o] / (rv[o] + eps).squareRoot()
            for i in 0..<per { fwp[o * per + i] = wp[o * per + i] * k }
            fbp[o] = (bp[o] - rm[o]) * k + bt[o]
        }
        return (fw, fb)
    }

    public func namedVariables(prefix: String) -> [(String, Variable)] {
        [(join(prefix, "weight"), gamma), (join(prefix, "bias"), beta),
         (join(prefix, "running_mean"), runningMean), (join(prefix, "running_var"), runningVar)]
    }
}

/// 2×2 max pooling, stride 2.
public struct MaxPool2D {
    public init() {}
    public func callAsFunction(_ x: Variable) -> Variable { Ops.maxPool2x2(x) }
}

/// Dropout that is active only in training.
public struct Dropout {
    public let p: Float
    public init(_ p: Float) {
        precondition(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got \(p)")
        self.p = p
    }
    public func callAsFunction(_ x: Variable, training: Bool, rng: RandomSource) -> Variable {
        training && p > 0 ? Ops.dropout(x, p: p, rng: rng) : x
    }
}
