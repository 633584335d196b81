#if canImport(Glibc)
import Glibc
#endif

/// Learning rate as a function of the step (or epoch) number, from a base rate.
public enum LearningRateSchedule: Equatable, Sendable, Codable {
    case constant
    /// Multiply by `gamma` every `every` steps.
    case step(every: Int, gamma: Float)
    /// base · (1 − t/total)^power, the "poly" schedule of nnU-Net.
    case polynomial(total: Int, power: Float)

    public func rate(base: Float, at t: Int) -> Float {
        switch self {
        case .constant: return base
        case .step(let every, let gamma): return base * powf(gamma, Float(t / max(every, 1)))
        case .polynomial(let total, let power):
            return base * powf(max(0, 1 - Float(t) / Float(max(total, 1))), power)
        }
    }
}
