import Foundation
import Support

// Small geometric building blocks for implicit (signed-distance-like) organ shapes.
// Negative inside, positive outside, roughly in millimetres near the surface, so that
// thresholds on the value give shells of a given thickness (organ walls, tumor rims).

@inline(__always) func sq(_ x: Float) -> Float { x * x }

/// Smooth minimum (union) with blending width k (mm); the polynomial form keeps it cheap.
@inline(__always) func smin(_ a: Float, _ b: Float, _ k: Float) -> Float {
    let h = max(k - abs(a - b), 0) / k
    return min(a, b) - h * h * k * 0.25
}

/// Smooth maximum (intersection).
@inline(__always) func smax(_ a: Float, _ b: Float, _ k: Float) -> Float { -smin(-a, -b, k) }

/// Approximate signed distance to an axis-aligned ellipsoid (exact on the surface, good
/// near it, which is where shells and blends are decided).
@inline(__always) func ellipsoidSD(_ x: Float, _ y: Float, _ z: Float, _ rx: Float, _ ry: Float, _ rz: Float) -> Float {
    let k0 = (sq(x / rx) + sq(y / ry) + sq(z / rz)).squareRoot()
    let k1 = (sq(x / (rx * rx)) + sq(y / (ry * ry)) + sq(z / (rz * rz))).squareRoot()
    if k1 < 1e-12 { return -min(rx, min(ry, rz)) }
    return k0 * (k0 - 1) / k1
}

/// The same in 2-D.
@inline(__always) func ellipseSD(_ x: Float, _ y: Float, _ rx: Float, _ ry: Float) -> Float {
    let k0 = (sq(x / rx) + sq(y / ry)).squareRoot()
    let k1 = (sq(x / (rx * rx)) + sq(y / (ry * ry))).squareRoot()
    if k1 < 1e-12 { return -min(rx, ry) }
    return k0 * (k0 - 1) / k1
}

/// Signed distance to a rounded rectangle of half sizes (hx, hy) and corner radius rc.
@inline(__always) func roundedBoxSD(_ x: Float, _ y: Float, _ hx: Float, _ hy: Float, _ rc: Float) -> Float {
    let qx = abs(x) - hx + rc, qy = abs(y) - hy + rc
    let outside = (sq(max(qx, 0)) + sq(max(qy, 0))).squareRoot()
    return outside + min(max(qx, qy), 0) - rc
}

/// A point in the anatomical frame: u toward the patient's left, v toward posterior,
/// z toward superior (mm). u = v = 0 is the body's centre, z = 0 the liver's centre height.
struct P3: Sendable {
    var u: Float, v: Float, z: Float
    init(_ u: Float, _ v: Float, _ z: Float) { self.u = u; self.v = v; self.z = z }
    static func + (a: P3, b: P3) -> P3 { P3(a.u + b.u, a.v + b.v, a.z + b.z) }
    static func - (a: P3, b: P3) -> P3 { P3(a.u - b.u, a.v - b.v, a.z - b.z) }
    static func * (a: P3, s: Float) -> P3 { P3(a.u * s, a.v * s, a.z * s) }
    func dot(_ b: P3) -> Float { u * b.u + v * b.v + z * b.z }
    var length: Float { dot(self).squareRoot() }
    var normalized: P3 { let l = max(length, 1e-6); return self * (1 / l) }
}

/// Smooth random field as a sum of up to 8 plane waves: cheap, isotropic enough for organ
/// surface irregularity, fully determined by the case's random stream. Stored in SIMD
/// lanes (no heap, no reference counting in the hot path).
struct WaveNoise: Sendable {
    private var kx = SIMD8<Float>(), ky = SIMD8<Float>(), kz = SIMD8<Float>()
    private var phase = SIMD8<Float>(), amp = SIMD8<Float>()
    private let count: Int

    init(rng: inout SeededRNG, count: Int, wavelength: ClosedRange<Float>, amplitude: Float) {
        precondition(count <= 8, "WaveNoise holds at most 8 waves")
        self.count = count
        let a = amplitude * (2 / Float(count)).squareRoot()
        for i in 0..<count {
            // Uniform direction on the sphere.
            let zc = Float(rng.uniform(-1, 1))
            let phi = Float(rng.uniform(0, 2 * Double.pi))
            let rr = (1 - zc * zc).squareRoot()
            let lambda = Float(rng.uniform(Double(wavelength.lowerBound), Double(wavelength.upperBound)))
            let k = 2 * Float.pi / lambda
            kx[i] = k * rr * cos(phi); ky[i] = k * rr * sin(phi); kz[i] = k * zc
            phase[i] = Float(rng.uniform(0, 2 * Double.pi)); amp[i] = a
        }
    }

    @inline(__always) func callAsFunction(_ u: Float, _ v: Float, _ z: Float) -> Float {
        let arg = kx * u + ky * v + kz * z + phase
        var s: Float = 0
        for i in 0..<count { s += amp[i] * sin(arg[i]) }
        return s
    }
}

/// A tapered tube segment (capsule) in 3-D: vessels, bowel loops, pancreas.
struct Segment: Sendable {
    var a: P3, b: P3
    var ra: Float, rb: Float

    var maxRadius: Float { max(ra, rb) }

    /// Signed distance from p to the tube surface, and the axis parameter of the nearest point.
    @inline(__always) func distance(_ p: P3) -> (d: Float, t: Float) {
        let ab = b - a
        let l2 = max(ab.dot(ab), 1e-9)
        let t = min(max((p - a).dot(ab) / l2, 0), 1)
        let q = a + ab * t
        return ((p - q).length - (ra + (rb - ra) * t), t)
    }

    /// In-plane bounding box (u0, u1, v0, v1) of the tube's cut by the plane at height z, or nil.
    func box(atZ z: Float) -> Box? {
        let r = maxRadius
        let z0 = min(a.z, b.z) - r, z1 = max(a.z, b.z) + r
        if z < z0 || z > z1 { return nil }
        var ta: Float = 0, tb: Float = 1
        let dz = b.z - a.z
        if abs(dz) > 1e-4 {
            let t1 = (z - r - a.z) / dz, t2 = (z + r - a.z) / dz
            ta = max(0, min(t1, t2)); tb = min(1, max(t1, t2))
        }
        let pa = a + (b - a) * ta, pb = a + (b - a) * tb
        return Box(u0: min(pa.u, pb.u) - r, u1: max(pa.u, pb.u) + r, v0: min(pa.v, pb.v) - r, v1: max(pa.v, pb.v) + r)
    }
}

/// An in-plane rectangle in anatomical millimetres.
struct Box: Sendable {
    var u0: Float, u1: Float, v0: Float, v1: Float
    init(u0: Float, u1: Float, v0: Float, v1: Float) { self.u0 = u0; self.u1 = u1; self.v0 = v0; self.v1 = v1 }
    init(cu: Float, cv: Float, ru: Float, rv: Float) { u0 = cu - ru; u1 = cu + ru; v0 = cv - rv; v1 = cv + rv }
}

extension SeededRNG {
    mutating func f(_ lo: Float, _ hi: Float) -> Float { Float(uniform(Double(lo), Double(hi))) }
    mutating func chance(_ p: Double) -> Bool { nextDouble() < p }
}
