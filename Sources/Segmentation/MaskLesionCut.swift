import Evaluation
import Foundation
import Support

/// Network B's training masks M with lesions at the liver's rim cut open, the way network A
/// cuts them on cases it never saw. On its own training cases A includes the lesions whole (1
/// of 14 of 1 mL or more cut); on the held-out phantoms it cuts 16 of 59, and B found 10–14 of
/// the 17–21 cut ones (four seeds) and labelled 0.38–0.46 of their voxels, against 0.75–0.87
/// of the others' (docs/experiments.md, sessions 18 and 20): it had barely seen a lesion whose
/// outer part the mask's edge removes. Cross-validated masks (`tumorMaskFolds`) show it such
/// lesions only as often as the fold networks happen to cut them; this shows it any rim
/// lesion, on purpose. With half of them cut, the longer recipe's per-case tumor Dice rose on
/// 9 of 12 seed × set pairs, though B found only a few more of the cut lesions (52 of 77
/// against 48; session 21).
///
/// A lesion of a slice (8-connected pixels of label 2 inside M) lies at the rim when it comes
/// within `rimGap` pixels of M's outside. With probability `share` it is cut: M loses the
/// lesion's outer part, a random 15–60 % of its extent towards the nearest outside pixel, and
/// the strip of liver between it and the outside, so M's edge runs through the lesion as A's
/// does. B's target stays M·B: only the part left inside M is tumor to learn.
enum MaskLesionCut {
    /// City-block pixels between a lesion and M's outside for it to count as a rim lesion.
    static let rimGap = 3
    /// Share of the lesion's extent (along the direction to the outside) cut away.
    static let cutRange = 0.15...0.6

    /// Cuts the rim lesions of one `size`×`size` slice's mask in place; the number cut.
    @discardableResult
    static func apply(mask m: inout [UInt8], labels l: [UInt8], size s: Int, share: Double, rng: inout SeededRNG) -> Int {
        guard share > 0 else { return 0 }
        // The lesions inside M, 8-connected: a one-slice volume's 26-connected components.
        let inside = (0..<(s * s)).map { l[$0] == 2 && m[$0] != 0 ? UInt8(2) : 0 }
        guard inside.contains(2) else { return 0 }
        let (distance, nearest) = outsideDistance(m, size: s)
        let components = inside.withUnsafeBufferPointer { Components($0, labels: 2...2, shape: [s, s, 1]) }
        var lesions = [[Int]](repeating: [], count: components.count)
        components.forEachVoxel(shape: [s, s, 1]) { c, i in lesions[c - 1].append(i) }
        var cuts = 0
        for lesion in lesions {
            // Its pixel nearest the outside (the first in raster order among equals).
            guard let closest = lesion.min(by: { (distance[$0], $0) < (distance[$1], $1) }), distance[closest] <= rimGap + 1 else { continue }
            guard rng.nextDouble() < share else { continue }
            let fraction = rng.uniform(cutRange.lowerBound, cutRange.upperBound)
            if cut(&m, lesion: lesion, towards: nearest[closest], fraction: fraction, size: s) { cuts += 1 }
        }
        return cuts
    }

    /// Removes from `m` the part of `lesion` beyond the line `fraction` of its extent from its
    /// outer end along the direction from its centroid to `outside`, and every mask pixel
    /// beyond that line within the lesion's width up to `outside`. False when the direction is
    /// undefined (the centroid is the outside pixel).
    static func cut(_ m: inout [UInt8], lesion: [Int], towards outside: Int, fraction: Double, size s: Int) -> Bool {
        let n = Double(lesion.count)
        let cx = lesion.reduce(0.0) { $0 + Double($1 % s) } / n, cy = lesion.reduce(0.0) { $0 + Double($1 / s) } / n
        var (ux, uy) = (Double(outside % s) - cx, Double(outside / s) - cy)
        let length = (ux * ux + uy * uy).squareRoot()
        guard length > 0 else { return false }
        (ux, uy) = (ux / length, uy / length)
        func along(_ x: Double, _ y: Double) -> Double { (x - cx) * ux + (y - cy) * uy }
        func across(_ x: Double, _ y: Double) -> Double { abs((x - cx) * uy - (y - cy) * ux) }
        let projections = lesion.map { along(Double($0 % s), Double($0 / s)) }
        let (inner, outer) = (projections.min()!, projections.max()!)
        let line = outer - fraction * (outer - inner)
        let halfWidth = lesion.map { across(Double($0 % s), Double($0 / s)) }.max()! + 1
        let reach = max(outer, length) + 1
        let r = Int(reach + halfWidth) + 1
        let (x0, y0) = (Int(cx.rounded()), Int(cy.rounded()))
        for y in max(0, y0 - r)...min(s - 1, y0 + r) {
            for x in max(0, x0 - r)...min(s - 1, x0 + r) {
                let a = along(Double(x), Double(y))
                if a >= line && a <= reach && across(Double(x), Double(y)) <= halfWidth { m[y * s + x] = 0 }
            }
        }
        return true
    }

    /// City-block distance of every pixel to the nearest pixel outside the mask (outside the
    /// slice counts as outside: a border pixel is 1 away), and that pixel (for a border pixel
    /// reached from beyond the slice, the border pixel itself).
    static func outsideDistance(_ m: [UInt8], size s: Int) -> ([Int], [Int]) {
        let p = s * s
        var distance = [Int](repeating: Int.max, count: p), nearest = [Int](repeating: -1, count: p)
        // A breadth-first search needs its queue ordered by distance: the outside (0) first,
        // then the mask's pixels on the slice's border (1).
        var queue = (0..<p).filter { m[$0] == 0 }
        queue.reserveCapacity(p)
        for i in queue { (distance[i], nearest[i]) = (0, i) }
        for i in 0..<p where m[i] != 0 {
            let (x, y) = (i % s, i / s)
            if x == 0 || y == 0 || x == s - 1 || y == s - 1 { (distance[i], nearest[i]) = (1, i); queue.append(i) }
        }
        var head = 0
        while head < queue.count {
            let i = queue[head]; head += 1
            SliceNeighbours.forEach(i, size: s) { j in
                if distance[j] > distance[i] + 1 { (distance[j], nearest[j]) = (distance[i] + 1, nearest[i]); queue.append(j) }
            }
        }
        return (distance, nearest)
    }
}
