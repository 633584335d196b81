import Support

/// Seeded weight initialization (same seed ⇒ same weights on every machine).
extension Tensor {
    /// Uniform in [lo, hi).
    public static func uniform(_ shape: [Int], _ lo: Float, _ hi: Float, rng: inout SeededRNG) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let p = t.writePointer
        for i in 0..<t.count { p[i] = lo + (hi - lo) * rng.nextFloat() }
        return t
    }

    /// Normal with the given standard deviation.
    public static func normal(_ shape: [Int], std: Float, rng: inout SeededRNG) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let p = t.writePointer
        for i in 0..<t.count { p[i] = Float(rng.normal()) * std }
        return t
    }

    /// He (Kaiming) normal for layers followed by ReLU: std = sqrt(2 / fanIn).
    public static func heNormal(_ shape: [Int], fanIn: Int, rng: inout SeededRNG) -> Tensor {
        normal(shape, std: (2 / Float(fanIn)).squareRoot(), rng: &rng)
    }

    /// Glorot (Xavier) uniform, Keras' default: limit = sqrt(6 / (fanIn + fanOut)).
    public static func glorotUniform(_ shape: [Int], fanIn: Int, fanOut: Int, rng: inout SeededRNG) -> Tensor {
        let limit = (6 / Float(fanIn + fanOut)).squareRoot()
        return uniform(shape, -limit, limit, rng: &rng)
    }
}
