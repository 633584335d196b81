import Foundation
import Support

/// Random, seeded changes to training slices: small rotations and scalings (patients lie a
/// little differently and differ in size), intensity jitter (scanners and contrast timing
/// differ), and optional flips. Left–right flips are off by default: the liver's side is a
/// real cue that tells it from the spleen, whose HU overlaps the liver's.
public struct Augmentation: Codable, Equatable, Sendable {
    public var enabled = true
    public var maxRotationDegrees: Double = 10
    public var scaleRange: ClosedRange<Double> = 0.9...1.1
    public var huShift: Double = 15
    public var huScale: Double = 0.05
    public var flipLeftRight = false
    public var flipAnteriorPosterior = false

    public init() {}

    public static let none: Augmentation = { var a = Augmentation(); a.enabled = false; return a }()

    /// Transforms one square slice (HU, labels, an optional mask and optional soft targets in
    /// [0, 1], one or more channels) in place. `hu` may hold several channels of the slice
    /// (its neighbours along z): all move together.
    func apply(hu: inout [Float], labels: inout [UInt8], mask: inout [UInt8]?, soft: inout [Float]?, size s: Int, rng: inout SeededRNG) {
        guard enabled else { return }
        let angle = rng.uniform(-maxRotationDegrees, maxRotationDegrees) * .pi / 180
        let scale = rng.uniform(scaleRange.lowerBound, scaleRange.upperBound)
        let flipX = flipLeftRight && rng.nextDouble() < 0.5
        let flipY = flipAnteriorPosterior && rng.nextDouble() < 0.5
        let shift = Float(rng.uniform(-huShift, huShift)), gain = Float(1 + rng.uniform(-huScale, huScale))
        // Inverse map: output pixel → source position (rotate and scale about the centre).
        let c = Double(s - 1) / 2
        let (ca, sa) = (cos(angle) / scale, sin(angle) / scale)
        let srcHU = hu, srcLab = labels, srcMask = mask, srcSoft = soft
        for y in 0..<s {
            for x in 0..<s {
                let dx = Double(flipX ? s - 1 - x : x) - c, dy = Double(flipY ? s - 1 - y : y) - c
                let sx = ca * dx - sa * dy + c, sy = sa * dx + ca * dy + c
                let o = y * s + x
                // Bilinear for HU; outside the slice is air.
                let x0 = Int(floor(sx)), y0 = Int(floor(sy))
                let tx = Float(sx - Double(x0)), ty = Float(sy - Double(y0))
                // Channel ch of `f` at the source position, `outside` past the slice's edge.
                func bilinear(_ f: [Float], _ ch: Int, outside: Float) -> Float {
                    let base = ch * s * s
                    func at(_ xx: Int, _ yy: Int) -> Float { xx >= 0 && yy >= 0 && xx < s && yy < s ? f[base + yy * s + xx] : outside }
                    return (at(x0, y0) * (1 - tx) + at(x0 + 1, y0) * tx) * (1 - ty) + (at(x0, y0 + 1) * (1 - tx) + at(x0 + 1, y0 + 1) * tx) * ty
                }
                for ch in 0..<(hu.count / (s * s)) { hu[ch * s * s + o] = bilinear(srcHU, ch, outside: -1000) * gain + shift }
                // Bilinear for soft targets too (a share stays a share); outside they are 0.
                if let f = srcSoft {
                    for ch in 0..<(f.count / (s * s)) { soft![ch * s * s + o] = bilinear(f, ch, outside: 0) }
                }
                // Nearest for labels and masks.
                let nx = Int(sx.rounded()), ny = Int(sy.rounded())
                let inside = nx >= 0 && ny >= 0 && nx < s && ny < s
                labels[o] = inside ? srcLab[ny * s + nx] : 0
                if let m = srcMask { mask![o] = inside ? m[ny * s + nx] : 0 }
            }
        }
    }
}
