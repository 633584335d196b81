import Evaluation

/// Found lesions' edges set by the CT: grown, within a few voxels of their edge and into the
/// slices next to them, over the liver voxels whose CT value lies at least `boundary` of the way
/// from the liver's value around the lesion to the lesion's; and, where the lesion stands well
/// clear of the liver's noise, its outermost voxels that lie short of that given back to the liver.
///
/// B's probability falls off inside a lesion's margin, and the fainter the lesion the
/// earlier: on the long preset's labels of t12 and t12b, lesions 40–50 HU below the liver had
/// 0.70–0.98 of their voxels labelled, lesions 12 HU below it under 0.3 (docs/experiments.md,
/// session 15). The hysteresis of `PostProcessing.lesions` cannot reach those margins: a lower
/// extent threshold lets the bright lesions leak first. The CT itself says where a found
/// lesion ends, so each is compared with its own surroundings, as region-growing refinements
/// of LiTS entries do. The liver's outline does not change and no new lesion appears.
///
/// Why a boundary below half the contrast, and the trim: a lesion's edge is blurred over the
/// voxels on both sides of it. On the phantom test sets t12, t12b and t12c
/// (docs/experiments.md, session 26) the 3×3 mean of the voxels just inside a true lesion lay
/// at a median 0.51 of the way from the liver to the lesion, and of those just outside at 0.22
/// (0.53–0.56 and 0.20–0.26 on a fourth set, v12); half the contrast leaves many of the first
/// ones out, and the four-member ensemble labelled half of the second ones around lesions
/// 40 HU or more below the liver. The trim waits for a contrast of `trimNoise` times the
/// noise of the liver around the lesion: for a faint lesion the CT cannot tell its edge apart.
public enum LesionRefinement {
    /// How far a lesion may grow past B's labels: city-block steps of an in-plane voxel, and
    /// across slices as far in millimetres (`sliceStep`).
    public static let defaultReach = 3
    /// The liver around a lesion is sampled from `ringGap` to `reach + ringGap` voxels out:
    /// far enough that the lesion's blurred margin does not pull its median down.
    static let ringGap = 3
    /// Lesions with fewer core or ring voxels than these keep B's labels: their medians would
    /// be a handful of noisy voxels.
    static let minCore = 5, minRing = 20
    /// The largest reach: distances are kept in a byte.
    public static let maxReach = 200
    /// How far from the liver's value toward the lesion's a voxel's 3×3 mean must lie to be
    /// lesion: a little short of midway between the two medians above (0.37–0.39), toward the
    /// liver, where a lesion's soft margin lies. With the trim, 0.3–0.4 scored alike on the
    /// four sets and 0.5 lowest (session 26).
    public static let defaultBoundary: Float = 0.35
    /// The trim needs a lesion's contrast to be this many times the spread of the liver's
    /// 3×3 means around it (1.4826 · their median absolute deviation: σ for Gaussian noise).
    public static let trimNoise: Float = 3

    /// A step across slices, in in-plane voxels: the slice spacing over the in-plane spacing,
    /// rounded (at least 1). The reach is then about as many millimetres across slices as
    /// within them; slices thicker than `reach` in-plane voxels are not reached.
    static func sliceStep(spacing: [Double]) -> Int {
        let inPlane = (spacing[0] + spacing[1]) / 2
        guard inPlane > 0, spacing[2].isFinite, spacing[2] > 0 else { return Int(UInt8.max) }
        return max(1, Int(min(spacing[2] / inPlane, Double(UInt8.max)).rounded()))
    }

    /// Grows the lesions (26-connected components of 2) of `labels` (x fastest, shape
    /// [nx, ny, nz], voxel `spacing` in mm). `plane(k, buffer)` writes slice k's CT values.
    /// - the CT is smoothed with a 3×3 in-plane mean (edges repeated, as scipy's
    ///   `uniform_filter` does for size 3), so a voxel's noise does not decide alone;
    /// - distances are city-block steps: one per in-plane neighbour, `sliceStep` per slice;
    /// - a lesion's value is the median over its core (its voxels whose four in-plane
    ///   neighbours are in it), the liver's the median over the voxels labelled 1 or 2 that
    ///   lie `ringGap`…`reach + ringGap` from it in its slices, each voxel counted for the
    ///   nearest lesion;
    /// - where the lesion's contrast (liver median − lesion median) is at least `trimNoise`
    ///   times the ring's spread, its voxels on its in-plane edge (a 4-neighbour outside it)
    ///   whose smoothed value lies less than `boundary` of the way from the liver's median to
    ///   the lesion's become liver (1); its core voxels never do, so no lesion vanishes;
    /// - a liver voxel (1) within `reach` of a lesion becomes 2 when its smoothed value lies
    ///   more than `boundary` of the way from the liver's median to the lesion's (at 0.5: nearer
    ///   the lesion's median than the liver's), and a 26-connected path of such voxels joins it
    ///   to a lesion voxel that is still 2.
    /// Growing across slices matters because B decides slice by slice: a lesion's first and
    /// last slices are where its probability is lowest (docs/experiments.md, session 18).
    /// `trim: false` only grows (the refinement of sessions 16–25).
    public static func apply(_ labels: inout [UInt8], shape: [Int], spacing: [Double], reach: Int = defaultReach,
                             boundary: Float = defaultBoundary, trim: Bool = true,
                             plane: (Int, UnsafeMutableBufferPointer<Float>) -> Void) {
        guard reach > 0 else { return }
        precondition(reach <= maxReach, "LesionRefinement: reach \(reach) must be at most \(maxReach)")
        precondition(boundary > 0 && boundary < 1, "LesionRefinement: boundary \(boundary) must lie in (0, 1)")
        let (nx, ny, nz) = (shape[0], shape[1], shape[2]), n = nx * ny
        let lesions = labels.withUnsafeBufferPointer { Components($0, labels: 2...2, shape: shape) }
        guard lesions.count > 0 else { return }
        var seeds: [(Int, Int32)] = []
        lesions.forEachVoxel(shape: shape) { c, idx in seeds.append((idx, Int32(c))) }
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
        // The medians in the lesion's own slices: the next slice holds its continuation (tumor
        // the liver's median must not take in) as near as the liver beside it.
        var core = [[Float]](repeating: [], count: lesions.count), ring = core
        var edge: [(voxel: Int, lesion: Int, value: Float)] = []    // the trim's candidates
        let inPlane = Nearest(seeds, nx: nx, ny: ny, nz: nz, sliceStep: reach + ringGap + 1, depth: reach + ringGap)
        for k in inPlane.slices {
            smoothed(k)
            let (distance, owner) = (inPlane.distance[k]!, inPlane.owner[k]!), base = k * n
            func isLesion(_ q: Int, _ c: Int32) -> Bool { distance[q] == 0 && owner[q] == c }
            for j in 0..<n {
                let d = Int(distance[j]), c = owner[j]
                if d == 0 {
                    let (x, y) = (j % nx, j / nx)
                    if x > 0 && x < nx - 1 && y > 0 && y < ny - 1
                        && isLesion(j - 1, c) && isLesion(j + 1, c) && isLesion(j - nx, c) && isLesion(j + nx, c) {
                        core[Int(c) - 1].append(smooth[j])
                    } else if trim {
                        edge.append((base + j, Int(c) - 1, smooth[j]))
                    }
                } else if d >= ringGap && d <= reach + ringGap && labels[base + j] >= 1 {
                    ring[Int(c) - 1].append(smooth[j])
                }
            }
        }
        let medians: [(lesion: Float, liver: Float)?] = zip(core, ring).map { c, r in
            c.count < minCore || r.count < minRing ? nil : (median(c), median(r))
        }
        guard medians.contains(where: { $0 != nil }) else { return }
        /// How far `value` lies from the liver's median toward the lesion's (nil: no contrast).
        func share(_ value: Float, _ m: (lesion: Float, liver: Float)) -> Float? {
            m.liver == m.lesion ? nil : (m.liver - value) / (m.liver - m.lesion)
        }
        if trim {
            let clear: [Bool] = medians.indices.map { c in
                guard let m = medians[c] else { return false }
                let spread = 1.4826 * median(ring[c].map { abs($0 - m.liver) })
                return abs(m.liver - m.lesion) >= trimNoise * spread
            }
            for e in edge where clear[e.lesion] {
                if let f = share(e.value, medians[e.lesion]!), f < boundary { labels[e.voxel] = 1 }
            }
        }
        // The voxels that may join, slice by slice; then a flood from the lesions through them.
        let near = Nearest(seeds, nx: nx, ny: ny, nz: nz, sliceStep: sliceStep(spacing: spacing), depth: reach)
        var joins = [[Bool]?](repeating: nil, count: nz)
        for k in near.slices {
            smoothed(k)
            let (distance, owner) = (near.distance[k]!, near.owner[k]!), base = k * n
            joins[k] = (0..<n).map { j in
                let d = Int(distance[j])
                guard d >= 1 && d <= reach, labels[base + j] == 1, let m = medians[Int(owner[j]) - 1],
                      let f = share(smooth[j], m) else { return false }
                return f > boundary
            }
        }
        var stack = seeds.map { $0.0 }.filter { labels[$0] == 2 }
        while let g = stack.popLast() {
            let (k, j) = (g / n, g % n), (x, y) = (j % nx, j / nx)
            for dz in -1...1 where k + dz >= 0 && k + dz < nz {
                guard let candidates = joins[k + dz] else { continue }
                for dy in -1...1 where y + dy >= 0 && y + dy < ny {
                    for dx in -1...1 where x + dx >= 0 && x + dx < nx {
                        let q = j + dy * nx + dx, gq = (k + dz) * n + q
                        if candidates[q] && labels[gq] == 1 { labels[gq] = 2; stack.append(gq) }
                    }
                }
            }
        }
    }

    static func median(_ v: [Float]) -> Float {
        let s = v.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// City-block distance to the nearest lesion voxel (an in-plane step 1, a step across
    /// slices `sliceStep`), up to `depth` (farther: `UInt8.max`), and that lesion (0 beyond
    /// `depth`). Kept only for the slices within `depth` of a lesion (`slices`): a volume's
    /// worth would be five bytes a voxel. Dial's bucket queue, as the steps are small integers.
    struct Nearest {
        var distance: [[UInt8]?], owner: [[Int32]?]
        var slices: [Int] { distance.indices.filter { distance[$0] != nil } }

        init(_ seeds: [(Int, Int32)], nx: Int, ny: Int, nz: Int, sliceStep: Int, depth: Int) {
            precondition(depth < Int(UInt8.max), "LesionRefinement: depth \(depth) must be below \(UInt8.max)")
            let n = nx * ny
            distance = Array(repeating: nil, count: nz)
            owner = Array(repeating: nil, count: nz)
            var buckets = [[Int]](repeating: [], count: depth + 1)
            func relax(_ g: Int, _ d: Int, _ c: Int32) {
                let (k, j) = (g / n, g % n)
                if distance[k] == nil { distance[k] = [UInt8](repeating: .max, count: n); owner[k] = [Int32](repeating: 0, count: n) }
                guard d < Int(distance[k]![j]) else { return }
                distance[k]![j] = UInt8(d); owner[k]![j] = c
                buckets[d].append(g)
            }
            for (g, c) in seeds { relax(g, 0, c) }
            for d in 0...depth {
                var i = 0
                while i < buckets[d].count {
                    let g = buckets[d][i]
                    i += 1
                    let (k, j) = (g / n, g % n)
                    guard Int(distance[k]![j]) == d else { continue }
                    let c = owner[k]![j], (x, y) = (j % nx, j / nx)
                    if d + 1 <= depth {
                        if x > 0 { relax(g - 1, d + 1, c) }
                        if x < nx - 1 { relax(g + 1, d + 1, c) }
                        if y > 0 { relax(g - nx, d + 1, c) }
                        if y < ny - 1 { relax(g + nx, d + 1, c) }
                    }
                    if d + sliceStep <= depth {
                        if k > 0 { relax(g - n, d + sliceStep, c) }
                        if k < nz - 1 { relax(g + n, d + sliceStep, c) }
                    }
                }
            }
        }
    }
}
