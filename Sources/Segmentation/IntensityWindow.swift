/// A HU window mapped linearly to [0, 1] with clipping: the seed's w(·).
public struct IntensityWindow: Codable, Equatable, Sendable {
    public var low: Float
    public var high: Float

    public init(low: Float, high: Float) {
        precondition(high > low, "IntensityWindow: high \(high) must exceed low \(low)")
        self.low = low
        self.high = high
    }

    /// The liver network's window: soft tissue, fat and contrast-filled vessels apart.
    public static let liver = IntensityWindow(low: -100, high: 400)
    /// The tumor network's narrower window: hypodense lesions (20–90 HU) against liver (100–130 HU).
    public static let tumor = IntensityWindow(low: -50, high: 250)

    @inline(__always) public func callAsFunction(_ hu: Float) -> Float {
        min(max((hu - low) / (high - low), 0), 1)
    }
}

/// A network input shifted and scaled to zero mean and unit spread over the voxels that
/// matter (nnU-Net's CT normalization uses the foreground's statistics the same way).
/// The seed's w(·) maps HU to [0, 1]; inside the liver that leaves lesions 0.1–0.2 below the
/// parenchyma, a faint signal for a network without normalization layers. Standardized by the
/// liver's own mean and spread, lesions sit 1.5–3 units below it. (A PyTorch U-Net learned
/// lesions faster on such input; ours, on unseen cases, did not — docs/experiments.md.)
public struct Standardization: Codable, Equatable, Sendable {
    public var mean: Float
    public var std: Float

    public init(mean: Float, std: Float) {
        precondition(std > 0, "Standardization: spread must be positive")
        self.mean = mean
        self.std = std
    }

    /// Mean and standard deviation of `values` (nil when there are none or all are equal).
    public static func of<S: Sequence>(_ values: S) -> Standardization? where S.Element == Float {
        var n = 0.0, sum = 0.0, sq = 0.0
        for v in values { n += 1; sum += Double(v); sq += Double(v) * Double(v) }
        guard n > 0 else { return nil }
        let mean = sum / n, variance = max(0, sq / n - mean * mean)
        return variance > 0 ? Standardization(mean: Float(mean), std: Float(variance.squareRoot())) : nil
    }

    @inline(__always) public func callAsFunction(_ v: Float) -> Float { (v - mean) / std }
}
