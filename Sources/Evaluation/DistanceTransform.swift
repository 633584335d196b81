/// Exact squared Euclidean distance transform with anisotropic spacing, in linear time
/// (Felzenszwalb & Huttenlocher's lower envelope of parabolas, one axis at a time).
/// Same definition as `scipy.ndimage.distance_transform_edt(~features, sampling=spacing)**2`.
public enum DistanceTransform {
    /// For every voxel of an nx×ny×nz grid (i fastest), the squared distance in mm² to the
    /// nearest voxel where `feature` is true; +∞ everywhere when there is no feature.
    public static func squared(feature: [Bool], shape: (Int, Int, Int), spacing: (Double, Double, Double)) -> [Double] {
        let (nx, ny, nz) = shape
        let n = nx * ny * nz
        var out = [Double](repeating: .infinity, count: n)
        guard n > 0 else { return out }
        let wx = spacing.0 * spacing.0, wy = spacing.1 * spacing.1, wz = spacing.2 * spacing.2
        feature.withUnsafeBufferPointer { fb in
            out.withUnsafeMutableBufferPointer { ob in
                let f = SharedConstPointer(fb.baseAddress!), d = SharedPointer(ob.baseAddress!)
                // Axes x then y within each slice: slices are independent.
                Parallel.forEach(nz, costPerItem: nx * ny * 8) { zs in
                    var scratch = EnvelopeScratch(capacity: max(nx, ny))
                    for k in zs {
                        let sliceBase = k * nx * ny
                        for j in 0..<ny {
                            rowPass(f.base + sliceBase + j * nx, d.base + sliceBase + j * nx, nx, wx)
                        }
                        for i in 0..<nx {
                            scratch.transform(d.base + sliceBase + i, stride: nx, count: ny, weight: wy)
                        }
                    }
                }
                // Axis z: columns (i, j) are independent; go by j so neighbouring i share cache lines.
                if nz > 1 {
                    Parallel.forEach(ny, costPerItem: nx * nz * 8) { js in
                        var scratch = EnvelopeScratch(capacity: nz)
                        for j in js {
                            for i in 0..<nx {
                                scratch.transform(d.base + j * nx + i, stride: nx * ny, count: nz, weight: wz)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// 1-D distance along a row of a binary feature mask: (spacing × index distance)².
    @inline(__always)
    private static func rowPass(_ f: UnsafePointer<Bool>, _ d: UnsafeMutablePointer<Double>, _ n: Int, _ w: Double) {
        var last = -1
        for i in 0..<n {
            if f[i] { last = i }
            d[i] = last < 0 ? .infinity : Double(i - last) * Double(i - last) * w
        }
        last = -1
        for i in stride(from: n - 1, through: 0, by: -1) {
            if f[i] { last = i }
            if last >= 0 {
                let v = Double(last - i) * Double(last - i) * w
                if v < d[i] { d[i] = v }
            }
        }
    }
}

/// Per-thread buffers for the lower envelope along one strided line.
struct EnvelopeScratch {
    var values: [Double]
    var vertices: [Int]
    var bounds: [Double]
    /// 1 / (2 w d) for d = 0..<capacity: the parabola intersections then need no division.
    var reciprocals: [Double]
    var reciprocalWeight = Double.nan

    init(capacity: Int) {
        values = [Double](repeating: 0, count: capacity)
        vertices = [Int](repeating: 0, count: capacity)
        bounds = [Double](repeating: 0, count: capacity + 1)
        reciprocals = [Double](repeating: 0, count: capacity)
    }

    /// In place: d[q] ← min_p ( w (q − p)² + d[p] ) along the line.
    @inline(__always)
    mutating func transform(_ d: UnsafeMutablePointer<Double>, stride s: Int, count n: Int, weight w: Double) {
        if w != reciprocalWeight {
            for i in 1..<max(1, reciprocals.count) { reciprocals[i] = 1 / (2 * w * Double(i)) }
            reciprocalWeight = w
        }
        reciprocals.withUnsafeBufferPointer { rec in
        values.withUnsafeMutableBufferPointer { fv in
            vertices.withUnsafeMutableBufferPointer { v in
                bounds.withUnsafeMutableBufferPointer { z in
                    var any = false
                    for q in 0..<n {
                        let x = d[q * s]
                        fv[q] = x
                        if x != .infinity { any = true }
                    }
                    guard any else { return }
                    var k = -1
                    for q in 0..<n {
                        let fq = fv[q]
                        if fq == .infinity { continue }
                        let aq = fq + w * Double(q * q)
                        if k < 0 {
                            k = 0; v[0] = q; z[0] = -.infinity; z[1] = .infinity
                            continue
                        }
                        var sIntersect: Double
                        while true {
                            let p = v[k]
                            // Rounding may differ from a division only where two parabolas
                            // tie, and there either one gives the same distance.
                            sIntersect = (aq - (fv[p] + w * Double(p * p))) * rec[q - p]
                            if sIntersect <= z[k] && k > 0 { k -= 1 } else { break }
                        }
                        if sIntersect <= z[k] {
                            // k == 0 and the new parabola dominates from −∞: replace it.
                            v[0] = q; z[0] = -.infinity; z[1] = .infinity
                            continue
                        }
                        k += 1
                        v[k] = q; z[k] = sIntersect; z[k + 1] = .infinity
                    }
                    var j = 0
                    for q in 0..<n {
                        let dq = Double(q)
                        while z[j + 1] < dq { j += 1 }
                        let p = v[j]
                        let dx = Double(q - p)
                        d[q * s] = w * dx * dx + fv[p]
                    }
                }
            }
        }
        }
    }
}
