import Evaluation

/// Found lesions grown, within a few voxels of their edge, over the liver voxels whose CT
/// value is nearer the lesion's than the liver's around it.
///
/// B's probability falls off inside a lesion's margin, and the fainter the lesion the
/// earlier: on the long preset's labels of t12 and t12b, lesions 40–50 HU below the liver had
/// 0.70–0.98 of their voxels labelled, lesions 12 HU below it under 0.3 (docs/experiments.md,
/// session 15). The hysteresis of `PostProcessing.lesions` cannot reach those margins: a lower
/// extent threshold lets the bright lesions leak first. The CT itself says where a found
/// lesion ends, so each is compared with its own surroundings, as region-growing refinements
/// of LiTS entries do. Only liver becomes tumor: nothing is removed, the liver's outline does
/// not change, and no new lesion appears.
public enum LesionRefinement {
    /// How far (in-plane city-block voxels) a lesion may grow past B's labels.
    public static let defaultReach = 3
    /// The liver around a lesion is sampled from `ringGap` to `reach + ringGap` voxels out:
    /// far enough that the lesion's blurred margin does not pull its median down.
    static let ringGap = 3
    /// Lesions with fewer core or ring voxels than these keep B's labels: their medians would
    /// be a handful of noisy voxels.
    static let minCore = 5, minRing = 20

    /// Grows the lesions (26-connected components of 2) of `labels` (x fastest, shape
    /// [nx, ny, nz]) slice by slice. `plane(k, buffer)` writes slice k's CT values.
    /// - the CT is smoothed with a 3×3 in-plane mean (edges repeated, as scipy's
    ///   `uniform_filter` does for size 3), so a voxel's noise does not decide alone;
    /// - a lesion's value is the median over its core (its voxels whose four in-plane
    ///   neighbours are in it), the liver's the median over the voxels labelled 1 or 2 that
    ///   lie `ringGap`…`reach + ringGap` voxels from it, each voxel counted for the nearest
    ///   lesion;
    /// - a liver voxel (1) within `reach` voxels of a lesion becomes 2 when its smoothed value
    ///   is nearer the lesion's median than the liver's, and an 8-connected in-plane path of
    ///   such voxels joins it to that lesion.
    public static func apply(_ labels: inout [UInt8], shape: [Int], reach: Int = defaultReach,
                             plane: (Int, UnsafeMutableBufferPointer<Float>) -> Void) {
        guard reach > 0 else { return }
        let (nx, ny) = (shape[0], shape[1]), n = nx * ny
        let lesions = labels.withUnsafeBufferPointer { Components($0, labels: 2...2, shape: shape) }
        guard lesions.count > 0 else { return }
        // The lesions' voxels by slice: (index in the slice, lesion 1-based).
        var bySlice: [Int: [(Int, Int32)]] = [:]
        lesions.forEachVoxel(shape: shape) { c, idx in bySlice[idx / n, default: []].append((idx % n, Int32(c))) }
        let slices = bySlice.keys.sorted()
        var ct = [Float](repeating: 0, count: n), smooth = [Float](repeating: 0, count: n)
        func smoothed(_ k: Int) {
            ct.withUnsafeMutableBufferPointer { plane(k, $0) }
            for y in 0..<ny {
                for x in 0..<nx {
                    var s: Float = 0
                    for dy in -1...1 {
                        let yy = min(max(y + dy, 0), ny - 1)
                        for dx in -1...1 { s += ct[yy * nx + min(max(x + dx, 0), nx - 1)] }
                    }
                    smooth[y * nx + x] = s / 9
                }
            }
        }
        var core = [[Float]](repeating: [], count: lesions.count), ring = core
        for k in slices {
            smoothed(k)
            let near = Nearest(bySlice[k]!, nx: nx, ny: ny, depth: reach + ringGap)
            let base = k * n
            func isLesion(_ q: Int, _ c: Int32) -> Bool { near.distance[q] == 0 && near.owner[q] == c }
            for (j, c) in bySlice[k]! {
                let (x, y) = (j % nx, j / nx)
                if x > 0 && x < nx - 1 && y > 0 && y < ny - 1
                    && isLesion(j - 1, c) && isLesion(j + 1, c) && isLesion(j - nx, c) && isLesion(j + nx, c) {
                    core[Int(c) - 1].append(smooth[j])
                }
            }
            for j in 0..<n where near.distance[j] >= ringGap && near.distance[j] <= reach + ringGap && labels[base + j] >= 1 {
                ring[Int(near.owner[j]) - 1].append(smooth[j])
            }
        }
        let medians: [(lesion: Float, liver: Float)?] = zip(core, ring).map { c, r in
            c.count < minCore || r.count < minRing ? nil : (median(c), median(r))
        }
        guard medians.contains(where: { $0 != nil }) else { return }
        for k in slices {
            smoothed(k)
            let near = Nearest(bySlice[k]!, nx: nx, ny: ny, depth: reach)
            let base = k * n
            func joins(_ j: Int) -> Bool {
                guard (1...reach).contains(near.distance[j]), labels[base + j] == 1, let m = medians[Int(near.owner[j]) - 1] else { return false }
                return abs(smooth[j] - m.lesion) < abs(smooth[j] - m.liver)
            }
            // Flood from the lesions' voxels through the voxels that join their nearest lesion.
            var stack = bySlice[k]!.map { $0.0 }
            while let j = stack.popLast() {
                let (x, y) = (j % nx, j / nx)
                for dy in -1...1 where y + dy >= 0 && y + dy < ny {
                    for dx in -1...1 where x + dx >= 0 && x + dx < nx {
                        let q = j + dy * nx + dx
                        if joins(q) { labels[base + q] = 2; stack.append(q) }
                    }
                }
            }
        }
    }

    static func median(_ v: [Float]) -> Float {
        let s = v.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// In-plane city-block distance (4-connected steps) to the nearest lesion voxel of a
    /// slice, up to `depth` (farther: Int.max), and that lesion (0 beyond `depth`).
    struct Nearest {
        var distance: [Int], owner: [Int32]
        init(_ seeds: [(Int, Int32)], nx: Int, ny: Int, depth: Int) {
            distance = [Int](repeating: .max, count: nx * ny)
            owner = [Int32](repeating: 0, count: nx * ny)
            var front: [Int] = []
            for (j, c) in seeds { distance[j] = 0; owner[j] = c; front.append(j) }
            var d = 0
            while !front.isEmpty && d < depth {
                d += 1
                var next: [Int] = []
                for j in front {
                    let (x, y) = (j % nx, j / nx)
                    for (q, ok) in [(j - 1, x > 0), (j + 1, x < nx - 1), (j - nx, y > 0), (j + nx, y < ny - 1)] where ok && distance[q] == .max {
                        distance[q] = d; owner[q] = owner[j]; next.append(q)
                    }
                }
                front = next
            }
        }
    }
}
