import Tensor

#if canImport(Glibc)
import Glibc
#endif

/// Class weighting of the categorical loss of the one-step model.
public enum CategoricalWeighting: Equatable, Sendable, Codable {
    case none
    /// Eq. 2.4: per slice k and class c, w_{k,c} = 1 − (fraction of slice k's pixels in class c),
    /// so the rare class (tumor) weighs most.
    case balanced
}

extension Losses {
    /// Categorical cross-entropy of softmax(logits) against class indices, averaged over
    /// all pixels: −mean[w_{k,y} · log softmax(z)_y].
    /// - Parameters:
    ///   - z: logits [N, C, H, W]
    ///   - labels: class indices [N, H, W] stored as floats (0, 1, …, C−1)
    public static func crossEntropy(logits z: Variable, labels: Tensor, weighting: CategoricalWeighting = .none) -> Variable {
        let s = z.value.shape
        precondition(s.count == 4 && labels.shape == [s[0], s[2], s[3]],
                     "crossEntropy: logits \(s) must be [N,C,H,W] and labels [N,H,W], got labels \(labels.shape)")
        let (n, c, hw) = (s[0], s[1], s[2] * s[3])
        let total = Float(n * hw)
        let prob = z.value.softmaxChannels()
        let zp = z.value.readPointer, lp = labels.readPointer
        let grad = Tensor(uninitializedShape: s)
        let gp = grad.writePointer, pp = prob.readPointer
        var loss = 0.0
        for k in 0..<n {
            var counts = [Float](repeating: 0, count: c)
            for i in 0..<hw {
                let y = Int(lp[k * hw + i])
                precondition(y >= 0 && y < c, "crossEntropy: label \(lp[k * hw + i]) outside 0..<\(c)")
                counts[y] += 1
            }
            let w = counts.map { weighting == .balanced ? 1 - $0 / Float(hw) : 1 }
            let base = k * c * hw
            for i in 0..<hw {
                let y = Int(lp[k * hw + i])
                var m = -Float.infinity
                for ch in 0..<c { m = max(m, zp[base + ch * hw + i]) }
                var se: Float = 0
                for ch in 0..<c { se += expf(zp[base + ch * hw + i] - m) }
                let logp = zp[base + y * hw + i] - m - logf(se)
                loss -= Double(w[y] * logp)
                let scale = w[y] / total
                for ch in 0..<c {
                    gp[base + ch * hw + i] = scale * (pp[base + ch * hw + i] - (ch == y ? 1 : 0))
                }
            }
        }
        return Variable(Tensor(shape: [1], values: [Float(loss / Double(total))]), parents: [z]) { g in [grad * g[flat: 0]] }
    }

    /// The joint loss of eq. 2.1: c · L_A + (1 − c) · L_B.
    public static func joint(_ liverLoss: Variable, _ tumorLoss: Variable, c: Float) -> Variable {
        precondition(c >= 0 && c <= 1, "joint loss: c must be in [0, 1], got \(c)")
        return Ops.add(Ops.scale(liverLoss, c), Ops.scale(tumorLoss, 1 - c))
    }
}
