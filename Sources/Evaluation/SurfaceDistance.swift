/// Surface distances between two binary masks in millimetres, as medpy.metric.binary defines
/// them: the surface of a mask is the mask minus its erosion by the face-connected cross
/// (voxels outside the array count as background), and each surface voxel of one mask is
/// scored by its exact Euclidean distance to the nearest surface voxel of the other.
public struct SurfaceDistances: Sendable, Equatable, Codable {
    /// Average symmetric surface distance: the mean over both directions' distances pooled
    /// (medpy `assd`).
    public var assd: Double
    /// Maximum symmetric surface distance, the Hausdorff distance (medpy `hd`).
    public var mssd: Double
    /// 95th percentile of the pooled distances, linear interpolation (medpy `hd95`).
    public var hd95: Double
    /// Surface voxel counts of prediction and truth.
    public var predictionSurfaceVoxels: Int
    public var truthSurfaceVoxels: Int

    /// Distances between two masks given as label ranges of label maps (i fastest, shape
    /// [nx, ny, nz], spacing in mm). Both empty: all distances 0. Exactly one empty: nil.
    public static func compute(prediction: UnsafeBufferPointer<UInt8>, predictionLabels: ClosedRange<UInt8>,
                               truth: UnsafeBufferPointer<UInt8>, truthLabels: ClosedRange<UInt8>,
                               shape: [Int], spacing: [Double]) -> SurfaceDistances? {
        compute(prediction: prediction, predictionLabels: predictionLabels, truth: truth, truthLabels: truthLabels,
                shape: shape, spacing: spacing,
                boxes: (LabelBoxes(prediction, shape: shape), LabelBoxes(truth, shape: shape)))
    }

    /// Same, with the label boxes of both maps already known.
    static func compute(prediction: UnsafeBufferPointer<UInt8>, predictionLabels: ClosedRange<UInt8>,
                        truth: UnsafeBufferPointer<UInt8>, truthLabels: ClosedRange<UInt8>,
                        shape: [Int], spacing: [Double], boxes: (LabelBoxes, LabelBoxes)) -> SurfaceDistances? {
        let boxP = boxes.0.box(predictionLabels)
        let boxT = boxes.1.box(truthLabels)
        switch (boxP, boxT) {
        case (nil, nil):
            return SurfaceDistances(assd: 0, mssd: 0, hd95: 0, predictionSurfaceVoxels: 0, truthSurfaceVoxels: 0)
        case (nil, _), (_, nil):
            return nil
        case let (bp?, bt?):
            // Every surface voxel lies in the union box and outside-the-box voxels are
            // background, so the transform restricted to the box is exact.
            let box = bp.union(bt)
            let p = box.crop(prediction, labels: predictionLabels, shape: shape)
            let t = box.crop(truth, labels: truthLabels, shape: shape)
            let dims = (box.size[0], box.size[1], box.size[2])
            let sp = Surface.extract(p, shape: dims)
            let st = Surface.extract(t, shape: dims)
            let sampling = (spacing[0], spacing[1], spacing[2])
            var distances = sample(DistanceTransform.squared(feature: st, shape: dims, spacing: sampling), at: sp)
            let nP = distances.count
            distances += sample(DistanceTransform.squared(feature: sp, shape: dims, spacing: sampling), at: st)
            return summarize(distances, predictionSurface: nP, truthSurface: distances.count - nP)
        }
    }

    /// Convenience for boolean masks.
    public static func compute(prediction: [Bool], truth: [Bool], shape: [Int], spacing: [Double]) throws -> SurfaceDistances? {
        try checkGrid(count: prediction.count, other: truth.count, shape: shape, spacing: spacing)
        return prediction.withUnsafeBytes { pb in
            truth.withUnsafeBytes { tb in
                compute(prediction: pb.bindMemory(to: UInt8.self), predictionLabels: 1...255,
                        truth: tb.bindMemory(to: UInt8.self), truthLabels: 1...255, shape: shape, spacing: spacing)
            }
        }
    }

    static func checkGrid(count: Int, other: Int, shape: [Int], spacing: [Double]) throws {
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
            throw EvaluationError("shape must be three positive sizes, got \(shape)")
        }
        guard spacing.count == 3, spacing.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw EvaluationError("spacing must be three positive finite values, got \(spacing)")
        }
        guard count == shape[0] * shape[1] * shape[2], other == count else {
            throw EvaluationError("mask sizes \(count) and \(other) do not match shape \(shape)")
        }
    }

    private static func sample(_ squared: [Double], at surface: [Bool]) -> [Double] {
        var out: [Double] = []
        for i in 0..<surface.count where surface[i] { out.append(squared[i].squareRoot()) }
        return out
    }

    static func summarize(_ d: [Double], predictionSurface: Int, truthSurface: Int) -> SurfaceDistances {
        var sum = 0.0, mx = 0.0
        for x in d { sum += x; if x > mx { mx = x } }
        return SurfaceDistances(assd: sum / Double(d.count), mssd: mx, hd95: percentile(d, 95),
                                predictionSurfaceVoxels: predictionSurface, truthSurfaceVoxels: truthSurface)
    }

    /// numpy.percentile's default ("linear") method.
    static func percentile(_ values: [Double], _ q: Double) -> Double {
        let a = values.sorted()
        let pos = q / 100 * Double(a.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, a.count - 1)
        let t = pos - Double(lo)
        let diff = a[hi] - a[lo]
        // numpy's _lerp: interpolate from the nearer end for stability.
        return t >= 0.5 ? a[hi] - diff * (1 - t) : a[lo] + diff * t
    }
}

/// Inclusive-exclusive voxel box.
struct BoundingBox: Equatable {
    var lower: [Int]
    var upper: [Int]
    var size: [Int] { (0..<3).map { upper[$0] - lower[$0] } }

    func union(_ o: BoundingBox) -> BoundingBox {
        BoundingBox(lower: (0..<3).map { min(lower[$0], o.lower[$0]) }, upper: (0..<3).map { max(upper[$0], o.upper[$0]) })
    }

    /// The box's voxels as a boolean mask (i fastest within the box).
    func crop(_ v: UnsafeBufferPointer<UInt8>, labels: ClosedRange<UInt8>, shape: [Int]) -> [Bool] {
        let s = size, nx = shape[0], ny = shape[1]
        var out = [Bool](repeating: false, count: s[0] * s[1] * s[2])
        let lo = labels.lowerBound, hi = labels.upperBound
        for k in 0..<s[2] {
            for j in 0..<s[1] {
                let src = ((k + lower[2]) * ny + (j + lower[1])) * nx + lower[0]
                let dst = (k * s[1] + j) * s[0]
                for i in 0..<s[0] { let x = v[src + i]; out[dst + i] = x >= lo && x <= hi }
            }
        }
        return out
    }
}

enum Surface {
    /// Mask minus its erosion by the 6-neighbour cross; outside the array is background.
    static func extract(_ m: [Bool], shape: (Int, Int, Int)) -> [Bool] {
        let (nx, ny, nz) = shape
        var s = [Bool](repeating: false, count: m.count)
        m.withUnsafeBufferPointer { mb in
            s.withUnsafeMutableBufferPointer { sb in
                let mp = SharedConstPointer(mb.baseAddress!), sp = SharedPointer(sb.baseAddress!)
                Parallel.forEach(nz, costPerItem: nx * ny * 2) { zs in
                    for k in zs {
                        for j in 0..<ny {
                            for i in 0..<nx {
                                let idx = (k * ny + j) * nx + i
                                guard mp[idx] else { continue }
                                let interior = i > 0 && i < nx - 1 && j > 0 && j < ny - 1 && k > 0 && k < nz - 1
                                    && mp[idx - 1] && mp[idx + 1] && mp[idx - nx] && mp[idx + nx]
                                    && mp[idx - nx * ny] && mp[idx + nx * ny]
                                sp[idx] = !interior
                            }
                        }
                    }
                }
            }
        }
        return s
    }
}
