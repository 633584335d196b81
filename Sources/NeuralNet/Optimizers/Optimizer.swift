import Tensor

/// Updates parameters from their gradients. State (momentum, Adam moments) is kept per
/// parameter in the order given at construction, and can be saved with a checkpoint.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    /// Applies one update with the current `grad` of every parameter (missing grads skip).
    func step()
    /// Named state tensors, for checkpoints (resume continues the same trajectory).
    var state: [(String, Tensor)] { get }
    func loadState(_ tensors: [String: Tensor]) throws
}

public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
}

/// SGD with momentum, PyTorch semantics: g ← g + λp; b ← μb + g (b = g on the first step);
/// g ← g + μb (Nesterov) or b; p ← p − lr·g.
public final class SGD: Optimizer {
    public let parameters: [Variable]
    public var learningRate: Float
    public let momentum: Float, nesterov: Bool, weightDecay: Float
    var buffers: [Tensor?]

    public init(_ parameters: [Variable], learningRate: Float, momentum: Float = 0.9, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(!nesterov || momentum > 0, "SGD: Nesterov needs momentum > 0")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum; self.nesterov = nesterov; self.weightDecay = weightDecay
        buffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() {
        for (i, p) in parameters.enumerated() {
            guard var g = p.grad else { continue }
            if weightDecay != 0 { g.addScaled(p.value, weightDecay) }
            if momentum != 0 {
                if var b = buffers[i] {
                    buffers[i] = nil
                    b.scale(by: momentum)
                    b.addScaled(g)
                    buffers[i] = b
                } else {
                    buffers[i] = g
                }
                if nesterov { g.addScaled(buffers[i]!, momentum) } else { g = buffers[i]! }
            }
            p.value.addScaled(g, -learningRate)
        }
    }

    public var state: [(String, Tensor)] {
        buffers.enumerated().compactMap { i, b in b.map { ("sgd.momentum.\(i)", $0) } }
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        for i in parameters.indices {
            guard let t = tensors["sgd.momentum.\(i)"] else { buffers[i] = nil; continue }
            guard t.shape == parameters[i].value.shape else {
                throw OptimizerStateError(description: "SGD state \(i): shape \(t.shape) does not match parameter \(parameters[i].value.shape)")
            }
            buffers[i] = t
        }
    }
}

/// Adam (Kingma & Ba), PyTorch semantics with bias correction.
public final class Adam: Optimizer {
    public let parameters: [Variable]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float
    var m: [Tensor], v: [Tensor]
    var t = 0

    public init(_ parameters: [Variable], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        m = parameters.map { Tensor.zeros($0.value.shape) }
        v = parameters.map { Tensor.zeros($0.value.shape) }
    }

    public func step() {
        t += 1
        let c1 = 1 - powf(beta1, Float(t)), c2 = 1 - powf(beta2, Float(t))
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            m[i].makeUnique(); v[i].makeUnique(); p.value.makeUnique()
            let mp = m[i].writePointer, vp = v[i].writePointer, gp = g.readPointer, pp = p.value.writePointer
            let (b1, b2, lr, e) = (beta1, beta2, learningRate, eps)
            for j in 0..<g.count {
                mp[j] = b1 * mp[j] + (1 - b1) * gp[j]
                vp[j] = b2 * vp[j] + (1 - b2) * gp[j] * gp[j]
                pp[j] -= lr * (mp[j] / c1) / ((vp[j] / c2).squareRoot() + e)
            }
        }
    }

    public var state: [(String, Tensor)] {
        [("adam.t", Tensor(shape: [1], values: [Float(t)]))]
            + m.enumerated().map { ("adam.m.\($0)", $1) } + v.enumerated().map { ("adam.v.\($0)", $1) }
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        guard let tt = tensors["adam.t"] else { throw OptimizerStateError(description: "Adam state: missing adam.t") }
        for i in parameters.indices {
            guard let mi = tensors["adam.m.\(i)"], let vi = tensors["adam.v.\(i)"],
                  mi.shape == parameters[i].value.shape, vi.shape == parameters[i].value.shape else {
                throw OptimizerStateError(description: "Adam state \(i): missing or wrong shape for parameter \(parameters[i].value.shape)")
            }
            m[i] = mi; v[i] = vi
        }
        t = Int(tt[flat: 0])
    }
}

#if canImport(Glibc)
import Glibc
#endif
