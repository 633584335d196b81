import Tensor

#if canImport(Glibc)
import Glibc
#endif

/// How the two classes of a binary loss are weighted.
///
/// The seed's eq. 2.2 weights the background (B̄ = 0) term by α and the tumor (B̄ = 1) term
/// by 1 − α, so a small α (the paper's best: 0.02) lowers the importance of background pixels,
/// as its text says. Its balanced weights (eq. 2.3, and t_k of eq. 2.4) give the tumor the
/// weight 1 − (tumor fraction of slice k); we give the background the complement, the tumor
/// fraction, so the rare class gets the large weight, as the paper intends ("setting the
/// importance of the background pixels lower"). Read literally, eq. 2.3 would put α_k ≈ 0.99
/// on the background, the opposite of its stated purpose.
public enum BinaryWeighting: Equatable, Sendable, Codable {
    /// Plain binary cross-entropy: both classes weight 1.
    case none
    /// Eq. 2.2: background weight α, foreground weight 1 − α.
    case alpha(Float)
    /// Eq. 2.3: per slice k, foreground weight 1 − f_k, background weight f_k, where f_k is
    /// the foreground fraction of slice k. A slice without foreground then contributes
    /// nothing (background weight 0): the literal formula, kept as the paper states it.
    case balanced

    /// (foreground, background) weights for a slice with foreground fraction f.
    func weights(foregroundFraction f: Float) -> (Float, Float) {
        switch self {
        case .none: return (1, 1)
        case .alpha(let a): return (1 - a, a)
        case .balanced: return (1 - f, f)
        }
    }
}

public enum Losses {
    static func checkBinary(_ z: Variable, _ y: Tensor, op: String) {
        precondition(z.value.rank == 4 && z.value.shape[1] == 1 && y.shape == z.value.shape,
                     "\(op): logits \(z.value.shape) must be [N,1,H,W] and match targets \(y.shape)")
    }

    /// −log σ(z), computed without overflow: softplus(−z).
    @inline(__always) static func softplus(_ x: Float) -> Float {
        x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x))
    }

    /// Weighted binary cross-entropy on logits (numerically stable), averaged over every
    /// pixel of every slice. (The seed sums over pixels; the mean keeps the loss scale
    /// independent of the image size, as Keras' loss does.)
    /// −mean[w1 · y · log σ(z) + w0 · (1 − y) · log(1 − σ(z))]
    /// `pixelWeights` (same shape as `y`) multiplies each pixel's term on top of the class weights.
    /// `focusing` γ > 0 makes it the focal loss of Lin et al. (2017): each term is scaled by how
    /// wrong the pixel still is, −[w1 · y · (1 − p)^γ · log p + w0 · (1 − y) · p^γ · log(1 − p)],
    /// so the many pixels the network already gets right stop outweighing the few it misses.
    /// For 0/1 targets it is torchvision's `sigmoid_focal_loss`; coverage targets weigh each
    /// side by its own share.
    public static func binaryCrossEntropy(logits z: Variable, targets y: Tensor, weighting: BinaryWeighting = .none,
                                          pixelWeights: Tensor? = nil, focusing gamma: Float = 0) -> Variable {
        precondition(gamma >= 0, "binaryCrossEntropy: focusing γ must be ≥ 0, got \(gamma)")
        checkBinary(z, y, op: "binaryCrossEntropy")
        precondition(pixelWeights == nil || pixelWeights!.shape == y.shape, "binaryCrossEntropy: pixel weights \(pixelWeights!.shape) must match targets \(y.shape)")
        let wp = pixelWeights?.readPointer
        let n = y.shape[0], hw = y.shape[2] * y.shape[3]
        let total = Float(n * hw)
        let zp = z.value.readPointer, yp = y.readPointer
        let grad = Tensor(uninitializedShape: y.shape)
        let gp = grad.writePointer
        var loss = 0.0
        for k in 0..<n {
            let o = k * hw
            var fg: Float = 0
            for i in 0..<hw { fg += yp[o + i] }
            let (w1, w0) = weighting.weights(foregroundFraction: fg / Float(hw))
            var part = 0.0
            for i in 0..<hw {
                let zi = zp[o + i], yi = yp[o + i], wi = wp?[o + i] ?? 1
                // −log σ(z) = softplus(−z);  −log(1 − σ(z)) = softplus(z)
                let p = zi >= 0 ? 1 / (1 + expf(-zi)) : expf(zi) / (1 + expf(zi))
                if gamma == 0 {
                    part += Double(wi * (w1 * yi * softplus(-zi) + w0 * (1 - yi) * softplus(zi)))
                    gp[o + i] = wi * (w1 * yi * (p - 1) + w0 * (1 - yi) * p) / total
                } else {
                    // d/dz of −(1 − p)^γ log p = γ p (1 − p)^γ log p − (1 − p)^(γ+1), and of
                    // −p^γ log(1 − p) = p^(γ+1) − γ p^γ (1 − p) log(1 − p).
                    let q = zi >= 0 ? expf(-zi) / (1 + expf(-zi)) : 1 / (1 + expf(zi))   // 1 − p without cancellation
                    let lp = -softplus(-zi), lq = -softplus(zi)
                    let fq = powf(q, gamma), fp = powf(p, gamma)
                    part += Double(wi * (w1 * yi * fq * -lp + w0 * (1 - yi) * fp * -lq))
                    gp[o + i] = wi * (w1 * yi * (gamma * p * fq * lp - fq * q) + w0 * (1 - yi) * (fp * p - gamma * fp * q * lq)) / total
                }
            }
            loss += part
        }
        return Variable(Tensor(shape: [1], values: [Float(loss / Double(total))]), parents: [z]) { g in
            [grad * g[flat: 0]]
        }
    }

    /// Soft Dice loss over the whole batch: 1 − (2Σpy + 1)/(Σp + Σy + 1), p = σ(z).
    public static func softDice(logits z: Variable, targets y: Tensor, smooth: Float = 1) -> Variable {
        checkBinary(z, y, op: "softDice")
        let p = z.value.sigmoid()
        let pp = p.readPointer, yp = y.readPointer
        var inter = 0.0, sp = 0.0, sy = 0.0
        for i in 0..<p.count { inter += Double(pp[i] * yp[i]); sp += Double(pp[i]); sy += Double(yp[i]) }
        let num = 2 * inter + Double(smooth), den = sp + sy + Double(smooth)
        let loss = 1 - num / den
        let grad = Tensor(uninitializedShape: y.shape)
        let gp = grad.writePointer
        for i in 0..<p.count {
            let dLdp = -(2 * Double(yp[i]) * den - num) / (den * den)
            gp[i] = Float(dLdp * Double(pp[i]) * Double(1 - pp[i]))
        }
        return Variable(Tensor(shape: [1], values: [Float(loss)]), parents: [z]) { g in [grad * g[flat: 0]] }
    }
}
