import Dispatch

/// Resampling between grids in world space: each target voxel centre is mapped through
/// `inverse(source.affine) · target.affine` into the source grid. Trilinear for intensities,
/// nearest neighbour for labels (label values are never blended).
public enum Resample {
    /// Trilinear. Target voxels whose centre falls more than half a voxel outside the source
    /// grid get `outside` (e.g. −1024 HU, air); within that half-voxel border the edge is extended.
    public static func image(_ volume: Volume<Float>, to target: Geometry, outside: Float = 0) throws -> Volume<Float> {
        let m = try mapping(from: volume.geometry, to: target)
        let s = volume.shape
        let nx = s[0], ny = s[1], nz = s[2]
        var out = [Float](repeating: outside, count: target.voxelCount)
        volume.voxels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let d = SendablePointer(dst.baseAddress!)
                let sp = SendableConstPointer(src.baseAddress!)
                forEachSlice(target) { k in
                    let tx = target.shape[0], ty = target.shape[1]
                    for j in 0..<ty {
                        var x = m[1] * Double(j) + m[2] * Double(k) + m[3]
                        var y = m[5] * Double(j) + m[6] * Double(k) + m[7]
                        var z = m[9] * Double(j) + m[10] * Double(k) + m[11]
                        let row = d.p + (k * ty + j) * tx
                        for i in 0..<tx {
                            defer { x += m[0]; y += m[4]; z += m[8] }
                            guard x >= -0.5, y >= -0.5, z >= -0.5,
                                  x <= Double(nx) - 0.5, y <= Double(ny) - 0.5, z <= Double(nz) - 0.5 else { continue }
                            let cx = min(max(x, 0), Double(nx - 1)), cy = min(max(y, 0), Double(ny - 1)),
                                cz = min(max(z, 0), Double(nz - 1))
                            let x0 = min(Int(cx), max(nx - 2, 0)), y0 = min(Int(cy), max(ny - 2, 0)), z0 = min(Int(cz), max(nz - 2, 0))
                            let fx = Float(cx - Double(x0)), fy = Float(cy - Double(y0)), fz = Float(cz - Double(z0))
                            let x1 = min(x0 + 1, nx - 1), y1 = min(y0 + 1, ny - 1), z1 = min(z0 + 1, nz - 1)
                            @inline(__always) func v(_ a: Int, _ b: Int, _ c: Int) -> Float { sp.p[a + nx * (b + ny * c)] }
                            let c00 = v(x0, y0, z0) + (v(x1, y0, z0) - v(x0, y0, z0)) * fx
                            let c10 = v(x0, y1, z0) + (v(x1, y1, z0) - v(x0, y1, z0)) * fx
                            let c01 = v(x0, y0, z1) + (v(x1, y0, z1) - v(x0, y0, z1)) * fx
                            let c11 = v(x0, y1, z1) + (v(x1, y1, z1) - v(x0, y1, z1)) * fx
                            let c0 = c00 + (c10 - c00) * fy
                            let c1 = c01 + (c11 - c01) * fy
                            row[i] = c0 + (c1 - c0) * fz
                        }
                    }
                }
            }
        }
        return Volume(geometry: target, voxels: out, onDiskType: volume.onDiskType, scaling: volume.scaling,
                      transformCodes: volume.transformCodes)
    }

    /// Nearest neighbour (ties round half up); voxels outside the source grid get `outside`.
    public static func labels(_ volume: Volume<UInt8>, to target: Geometry, outside: UInt8 = 0) throws -> Volume<UInt8> {
        try nearest(volume, to: target, outside: outside)
    }

    /// Nearest neighbour for any voxel type (labels, masks, probabilities kept unblended).
    public static func nearest<T: Sendable>(_ volume: Volume<T>, to target: Geometry, outside: T) throws -> Volume<T> {
        let m = try mapping(from: volume.geometry, to: target)
        let s = volume.shape
        let nx = s[0], ny = s[1], nz = s[2]
        var out = [T](repeating: outside, count: target.voxelCount)
        volume.voxels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let d = SendablePointer(dst.baseAddress!)
                let sp = SendableConstPointer(src.baseAddress!)
                forEachSlice(target) { k in
                    let tx = target.shape[0], ty = target.shape[1]
                    for j in 0..<ty {
                        let row = d.p + (k * ty + j) * tx
                        for i in 0..<tx {
                            let x = m[0] * Double(i) + m[1] * Double(j) + m[2] * Double(k) + m[3]
                            let y = m[4] * Double(i) + m[5] * Double(j) + m[6] * Double(k) + m[7]
                            let z = m[8] * Double(i) + m[9] * Double(j) + m[10] * Double(k) + m[11]
                            let xi = Int((x + 0.5).rounded(.down)), yi = Int((y + 0.5).rounded(.down)), zi = Int((z + 0.5).rounded(.down))
                            guard xi >= 0, yi >= 0, zi >= 0, xi < nx, yi < ny, zi < nz else { continue }
                            row[i] = sp.p[xi + nx * (yi + ny * zi)]
                        }
                    }
                }
            }
        }
        return Volume(geometry: target, voxels: out, onDiskType: volume.onDiskType, scaling: nil,
                      transformCodes: volume.transformCodes)
    }

    /// Row-major 3×4 map from target voxel index to source voxel index.
    static func mapping(from source: Geometry, to target: Geometry) throws -> [Double] {
        guard let inv = source.inverseAffine else {
            throw MedicalImageError(.badValue, "resample", "source affine is singular: \(source.affine)")
        }
        var m = [Double](repeating: 0, count: 12)
        for r in 0..<3 {
            for c in 0..<4 {
                var v = 0.0
                for k in 0..<4 { v += inv[r * 4 + k] * target.affine[k * 4 + c] }
                m[r * 4 + c] = v
            }
        }
        return m
    }

    static func forEachSlice(_ g: Geometry, _ body: @Sendable (Int) -> Void) {
        let nz = g.shape[2]
        if g.voxelCount < 1 << 16 {
            for k in 0..<nz { body(k) }
        } else {
            DispatchQueue.concurrentPerform(iterations: nz, execute: body)
        }
    }
}

struct SendablePointer<T>: @unchecked Sendable { let p: UnsafeMutablePointer<T>; init(_ p: UnsafeMutablePointer<T>) { self.p = p } }
struct SendableConstPointer<T>: @unchecked Sendable { let p: UnsafePointer<T>; init(_ p: UnsafePointer<T>) { self.p = p } }

extension Volume where Scalar == Float {
    /// HU windowing: `low` ↦ 0, `high` ↦ 1, clamped (e.g. −100…400 HU for the liver).
    public func window(low: Float, high: Float) -> Volume<Float> {
        var out = self
        out.voxels = Window.apply(voxels, low: low, high: high)
        out.scaling = nil
        out.onDiskType = .float32
        return out
    }
}

public enum Window {
    /// Maps `low…high` linearly onto 0…1 and clamps; NaN becomes 0.
    public static func apply(_ values: [Float], low: Float, high: Float) -> [Float] {
        precondition(high > low, "window: high (\(high)) must exceed low (\(low))")
        let scale = 1 / (high - low)
        return values.map { v in
            let t = (v - low) * scale
            return t.isNaN ? 0 : min(max(t, 0), 1)
        }
    }
}
