import Support
import Tensor
@testable import NeuralNet

/// Central finite differences against the analytic gradients of `Variable.backward()`.
///
/// The scalar checked is L = Σ r ⊙ f(x) with a fixed random r, accumulated in Double. With
/// float32 forward passes and ε = 1e-2 (inputs O(1)) the truncation error is O(ε²) and the
/// rounding error about 1e-7·|L|/ε, so elements agree to ~1e-3; we assert
/// |analytic − numeric| ≤ 2e-2·max(|analytic|, |numeric|) + 2e-3, the documented float32 tolerance.
///
/// ReLU and max-pool make the loss piecewise smooth: when a ±ε step crosses a kink (a
/// pre-activation within ε of zero — seen in practice at 3e-4), the central difference averages
/// two slopes and matches neither. The true derivative is then the one-sided difference on the
/// side without the kink, so an element passes if the central, left or right difference agrees.
/// A wrong gradient matches none of them.
struct GradientCheck {
    static let eps: Float = 1e-2

    /// Weighted sum of a variable's elements with fixed weights (differentiable).
    static func weightedSum(_ y: Variable, _ r: Tensor) -> Variable {
        var s = 0.0
        let yp = y.value.readPointer, rp = r.readPointer
        for i in 0..<r.count { s += Double(yp[i]) * Double(rp[i]) }
        return Variable(Tensor(shape: [1], values: [Float(s)]), parents: [y]) { g in [r * g[flat: 0]] }
    }

    static func scalar(_ v: Variable) -> Double { Double(v.value[flat: 0]) }

    /// Checks d(loss)/d(input) for every element of every input (small tensors only).
    /// Returns the worst violation ratio (≤ 1 passes) and a description of it.
    static func check(inputs: [Variable], maxElements: Int = 400, eps: Float = GradientCheck.eps, _ loss: () -> Variable) -> (Double, String) {
        for v in inputs { v.grad = nil }
        let l = loss()
        l.backward()
        var worst = 0.0
        var worstText = ""
        let l0 = Autograd.withoutGradients { scalar(loss()) }
        for (vi, v) in inputs.enumerated() {
            let g = v.grad ?? Tensor.zeros(v.value.shape)
            let n = v.value.count
            let stride = max(1, n / maxElements)
            for i in Swift.stride(from: 0, to: n, by: stride) {
                let orig = v.value[flat: i]
                v.value[flat: i] = orig + eps
                let lp = Autograd.withoutGradients { scalar(loss()) }
                v.value[flat: i] = orig - eps
                let lm = Autograd.withoutGradients { scalar(loss()) }
                v.value[flat: i] = orig
                let e = Double(eps)
                let analytic = Double(g[flat: i])
                let estimates = [(lp - lm) / (2 * e), (lp - l0) / e, (l0 - lm) / e]
                let ratios = estimates.map { abs(analytic - $0) / (2e-2 * max(abs(analytic), abs($0)) + 2e-3) }
                let ratio = ratios.min()!
                let numeric = estimates[0]
                if ratio > worst { worst = ratio; worstText = "input \(vi) \(v.value.shape) element \(i): analytic \(analytic) numeric \(numeric)" }
            }
        }
        return (worst, worstText)
    }

    /// Random values at least 0.05 away from zero and from each other's typical spacing, so
    /// that ±ε steps do not cross a ReLU kink.
    static func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
        random(shape, seed: seed).map { $0 >= 0 ? $0 + 0.05 : $0 - 0.05 }
    }

    /// Distinct values 0.05 apart in random order, so that ±ε never changes a max-pool winner.
    static func distinct(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRNG(seed: seed)
        var values = (0..<shape.reduce(1, *)).map { Float($0) * 0.05 - 1 }
        for i in stride(from: values.count - 1, to: 0, by: -1) { values.swapAt(i, rng.below(i + 1)) }
        return Tensor(shape: shape, values: values)
    }

    static func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = SeededRNG(seed: seed)
        return Tensor.uniform(shape, -scale, scale, rng: &rng)
    }
}
