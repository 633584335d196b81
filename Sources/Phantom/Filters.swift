import Foundation
import Support

/// Normalized Gaussian taps for standard deviation `sigma` (in samples), radius ⌈3σ⌉.
public func gaussianKernel(sigma: Float) -> [Float] {
    if sigma <= 0.05 { return [1] }
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var k = (-radius...radius).map { i in exp(-Float(i * i) / (2 * sigma * sigma)) }
    let s = k.reduce(0, +)
    for i in k.indices { k[i] /= s }
    return k
}

/// Separable convolution of an nx×ny plane with `kernel` along x then y, edges clamped.
/// `tmp` must hold nx*ny values; the result replaces `plane`.
func blurPlane(_ plane: UnsafeMutablePointer<Float>, _ tmp: UnsafeMutablePointer<Float>, nx: Int, ny: Int, kernel: [Float]) {
    let R = kernel.count / 2
    if R == 0 { return }
    kernel.withUnsafeBufferPointer { k in
        // Along x: plane -> tmp.
        for r in 0..<ny {
            let src = plane + r * nx, dst = tmp + r * nx
            for c in 0..<nx { dst[c] = 0 }
            for t in 0..<k.count {
                let off = t - R, w = k[t]
                let lo = max(0, -off), hi = min(nx, nx - off)
                if lo < hi { for c in lo..<hi { dst[c] += w * src[c + off] } }
                if lo > 0 { for c in 0..<min(lo, nx) { dst[c] += w * src[0] } }
                if hi < nx { for c in max(hi, 0)..<nx { dst[c] += w * src[nx - 1] } }
            }
        }
        // Along y: tmp -> plane, whole rows at a time (vectorizes).
        for r in 0..<ny {
            let dst = plane + r * nx
            for c in 0..<nx { dst[c] = 0 }
            for t in 0..<k.count {
                let rr = min(max(r + t - R, 0), ny - 1)
                let src = tmp + rr * nx, w = k[t]
                for c in 0..<nx { dst[c] += w * src[c] }
            }
        }
    }
}

/// Approximately standard-normal values, four 16-bit uniforms per draw (Irwin–Hall): much
/// cheaper than Box–Muller, and after the noise filter the sum is Gaussian anyway.
@inline(__always) func fastNormal(_ rng: inout SeededRNG) -> Float {
    let x = rng.next()
    let s = Float(x & 0xFFFF) + Float((x >> 16) & 0xFFFF) + Float((x >> 32) & 0xFFFF) + Float(x >> 48)
    return (s * (1 / 65536) - 2) * 1.7320508
}

/// CT-like noise: white noise band-passed by a difference of Gaussians (the filtered
/// back-projection ramp gives CT noise its fine grain without large blobs), scaled so the
/// result has standard deviation `sigma` exactly in expectation.
struct NoiseFilter {
    let g1: [Float], g2: [Float], alpha: Float, gain: Float

    init(sigmaFine: Float, sigmaCoarse: Float, alpha: Float, sigma: Float) {
        g1 = gaussianKernel(sigma: sigmaFine)
        g2 = gaussianKernel(sigma: sigmaCoarse)
        self.alpha = alpha
        gain = sigma / NoiseFilter.kernelNorm(g1, g2, alpha)
    }

    /// L2 norm of the 2-D kernel G1⊗G1 − α·G2⊗G2 (the output std for unit white noise).
    static func kernelNorm(_ g1: [Float], _ g2: [Float], _ alpha: Float) -> Float {
        let r1 = g1.count / 2, r2 = g2.count / 2
        var s11: Double = 0, s22: Double = 0, s12: Double = 0
        for x in g1 { s11 += Double(x * x) }
        for x in g2 { s22 += Double(x * x) }
        for i in -min(r1, r2)...min(r1, r2) { s12 += Double(g1[i + r1] * g2[i + r2]) }
        let a = Double(alpha)
        return Float((s11 * s11 - 2 * a * s12 * s12 + a * a * s22 * s22).squareRoot())
    }

    /// Fills `out` (nx*ny) with filtered noise from `rng`; `w`, `t1`, `t2` are scratch planes.
    func fill(_ out: UnsafeMutablePointer<Float>, nx: Int, ny: Int, rng: inout SeededRNG,
              scratch w: UnsafeMutablePointer<Float>, _ t1: UnsafeMutablePointer<Float>) {
        let n = nx * ny
        for i in 0..<n { w[i] = fastNormal(&rng) }
        for i in 0..<n { out[i] = w[i] }
        blurPlane(out, t1, nx: nx, ny: ny, kernel: g1)
        blurPlane(w, t1, nx: nx, ny: ny, kernel: g2)
        let a = alpha, g = gain
        for i in 0..<n { out[i] = g * (out[i] - a * w[i]) }
    }
}

/// A smooth 3-D random field of unit variance on a coarse grid (a few millimetres), read
/// back by interpolation: gives organs their faint mottling, the same in adjacent slices.
struct TextureField {
    let gx: Int, gy: Int, gz: Int
    let step: Float
    let u0: Float, v0: Float, z0: Float
    private(set) var data: [Float]

    init(uRange: ClosedRange<Float>, vRange: ClosedRange<Float>, zRange: ClosedRange<Float>, step: Float, rng: inout SeededRNG) {
        self.step = step
        u0 = uRange.lowerBound; v0 = vRange.lowerBound; z0 = zRange.lowerBound
        gx = Int((uRange.upperBound - u0) / step) + 2
        gy = Int((vRange.upperBound - v0) / step) + 2
        gz = Int((zRange.upperBound - z0) / step) + 2
        var d = [Float](repeating: 0, count: gx * gy * gz)
        for i in d.indices { d[i] = fastNormal(&rng) }
        let k = gaussianKernel(sigma: 1.0)
        let norm = k.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let R = k.count / 2
        var t = d
        let (gx, gy, gz) = (self.gx, self.gy, self.gz)
        // Three separable passes (x, y, z), edges clamped.
        func pass(_ src: [Float], _ dst: inout [Float], stride: Int, len: Int, count: Int, outer: (Int) -> Int) {
            for o in 0..<count {
                let base = outer(o)
                for i in 0..<len {
                    var s: Float = 0
                    for j in 0..<k.count {
                        let ii = min(max(i + j - R, 0), len - 1)
                        s += k[j] * src[base + ii * stride]
                    }
                    dst[base + i * stride] = s
                }
            }
        }
        pass(d, &t, stride: 1, len: gx, count: gy * gz) { o in o * gx }
        pass(t, &d, stride: gx, len: gy, count: gx * gz) { o in (o / gx) * gx * gy + o % gx }
        pass(d, &t, stride: gx * gy, len: gz, count: gx * gy) { o in o }
        let inv = 1 / (norm * norm * norm)
        data = t.map { $0 * inv }
    }

    /// The field's coarse plane at height z (linear in z), gx×gy values.
    func plane(atZ z: Float, into out: inout [Float]) {
        let fz = min(max((z - z0) / step, 0), Float(gz - 1) - 0.001)
        let k = Int(fz), w = fz - Float(k)
        let a = k * gx * gy, b = min(k + 1, gz - 1) * gx * gy
        if out.count != gx * gy { out = [Float](repeating: 0, count: gx * gy) }
        for i in 0..<(gx * gy) { out[i] = data[a + i] + (data[b + i] - data[a + i]) * w }
    }
}
