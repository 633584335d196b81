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
