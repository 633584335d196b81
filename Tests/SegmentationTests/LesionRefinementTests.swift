import Testing
@testable import Segmentation

/// Found lesions grown over the liver where the CT continues them. Expected labels are worked
/// out by hand from the 3×3 means of a piecewise-constant slice.
@Suite struct LesionRefinementTests {
    /// A 22×22 slice: liver (1, 100 HU) inside a 1-voxel frame of background; a 10×10 lesion
    /// of 40 HU at x, y ∈ 5…14 of which B labelled only the middle 6×6 (7…12). `darkBlock`:
    /// background of 40 HU at x ∈ 15…16, y ∈ 5…14, against the lesion's right side.
    static let side = 22

    static func slice(darkBlock: Bool) -> (labels: [UInt8], ct: [Float]) {
        let n = side
        var labels = [UInt8](repeating: 0, count: n * n), ct = [Float](repeating: 100, count: n * n)
        for y in 1..<(n - 1) { for x in 1..<(n - 1) { labels[y * n + x] = 1 } }
        for y in 5...14 { for x in 5...14 { ct[y * n + x] = 40 } }
        for y in 7...12 { for x in 7...12 { labels[y * n + x] = 2 } }
        if darkBlock { for y in 5...14 { for x in 15...16 { labels[y * n + x] = 0; ct[y * n + x] = 40 } } }
        return (labels, ct)
    }

    static func refine(_ s: (labels: [UInt8], ct: [Float]), reach: Int) -> [UInt8] {
        var labels = s.labels
        LesionRefinement.apply(&labels, shape: [side, side, 1], spacing: [1, 1, 1], reach: reach) { k, out in
            #expect(k == 0)
            _ = out.update(from: s.ct)
        }
        return labels
    }

    static func tumor(_ labels: [UInt8]) -> Set<[Int]> {
        Set(labels.indices.filter { labels[$0] == 2 }.map { [$0 % side, $0 / side] })
    }

    /// Lesion median 40 (its core's 3×3 means), liver median 100 (most of the ring lies 2+
    /// voxels off the lesion), so a voxel joins below 70. The lesion's edge voxels average
    /// (6·40 + 3·100)/9 = 60 and join; its corners (4·40 + 5·100)/9 ≈ 73.3 and the liver
    /// just outside (3·40 + 6·100)/9 = 80 do not: the 10×10 square without its 4 corners
    /// (the corners lie 4 voxels from B's labels, the rest of the square at most 3).
    @Test func growsToTheLesionsEdgeAndStopsAtItsCorners() {
        let out = Self.refine(Self.slice(darkBlock: false), reach: 3)
        var expected = Set<[Int]>()
        for y in 5...14 { for x in 5...14 where !([5, 14].contains(x) && [5, 14].contains(y)) { expected.insert([x, y]) } }
        #expect(Self.tumor(out) == expected)
        #expect(out.filter { $0 == 1 }.count == 20 * 20 - 96)
    }

    /// Reach 1: only the ring one voxel out from B's 6×6 (all 40 HU) joins: 6×6 + 4·6.
    @Test func reachLimitsTheGrowth() {
        let out = Self.refine(Self.slice(darkBlock: false), reach: 1)
        var expected = Set<[Int]>()
        for y in 6...13 { for x in 6...13 where !([6, 13].contains(x) && [6, 13].contains(y)) { expected.insert([x, y]) } }
        #expect(Self.tumor(out) == expected)
    }

    /// Dark background beside the lesion stays background, and darkens the lesion's right
    /// corners to (6·40 + 3·100)/9 = 60. With a reach of 4 the corners are in range: the
    /// right ones join, the left ones (≈ 73.3) do not: 100 − 2 voxels.
    @Test func neverLabelsBackground() {
        let s = Self.slice(darkBlock: true)
        let out = Self.refine(s, reach: 4)
        var expected = Set<[Int]>()
        for y in 5...14 { for x in 5...14 where !(x == 5 && [5, 14].contains(y)) { expected.insert([x, y]) } }
        #expect(Self.tumor(out) == expected)
        for i in s.labels.indices where s.labels[i] == 0 { #expect(out[i] == 0) }
    }

    /// Three slices of `slice(darkBlock: false)`'s CT (the 10×10 lesion in each) with B's 6×6
    /// in the middle one only, refined at reach 3. The middle slice grows as in 2-D. A step
    /// across slices costs the slice spacing in in-plane voxels:
    /// - 3 mm slices of 1 mm voxels: 3 steps, so in the outer slices only the voxels over B's
    ///   6×6 are in reach; their 3×3 means are 40 and they join;
    /// - 2 mm: 2 steps, so the outer slices reach 1 voxel further: the 8×8 at 6…13 without
    ///   its corners (2 + 2 steps), 60 voxels, all with means of 40;
    /// - 4 mm: beyond reach; the outer slices stay liver.
    @Test func growsIntoTheNextSlicesAsFarInMillimetres() {
        let s = Self.slice(darkBlock: false), n = Self.side * Self.side
        func refine(sliceMM: Double) -> [[UInt8]] {
            var labels = s.labels.map { $0 == 2 ? 1 : $0 } + s.labels + s.labels.map { $0 == 2 ? 1 : $0 }
            LesionRefinement.apply(&labels, shape: [Self.side, Self.side, 3], spacing: [1, 1, sliceMM], reach: 3) { _, out in
                _ = out.update(from: s.ct)
            }
            return (0..<3).map { Array(labels[($0 * n)..<(($0 + 1) * n)]) }
        }
        let middle = Self.refine(s, reach: 3)
        func square(_ r: ClosedRange<Int>, corners: Bool) -> Set<[Int]> {
            var out = Set<[Int]>()
            for y in r { for x in r where corners || !([r.lowerBound, r.upperBound].contains(x) && [r.lowerBound, r.upperBound].contains(y)) { out.insert([x, y]) } }
            return out
        }
        for (mm, outer) in [(3.0, square(7...12, corners: true)), (2.0, square(6...13, corners: false)), (4.0, Set<[Int]>())] {
            let out = refine(sliceMM: mm)
            #expect(out[1] == middle, "\(mm) mm: the middle slice")
            #expect(Self.tumor(out[0]) == outer && Self.tumor(out[2]) == outer, "\(mm) mm: the outer slices")
        }
    }

    /// A step across slices: the slice spacing in mean in-plane voxels, rounded, at least 1.
    @Test func sliceStepIsTheSpacingInInPlaneVoxels() {
        #expect(LesionRefinement.sliceStep(spacing: [1.63, 1.63, 5]) == 3)
        #expect(LesionRefinement.sliceStep(spacing: [0.7, 0.8, 0.5]) == 1)
        #expect(LesionRefinement.sliceStep(spacing: [0.75, 0.75, 5]) == 7)
    }

    /// Reach 0, no lesion, or a lesion too small for a core: the labels are returned unchanged.
    @Test func leavesLabelsAloneWithoutAUsableLesion() {
        let s = Self.slice(darkBlock: false)
        #expect(Self.refine(s, reach: 0) == s.labels)
        var none = s
        none.labels = s.labels.map { $0 == 2 ? 1 : $0 }
        #expect(Self.refine(none, reach: 3) == none.labels)
        var tiny = s, side = Self.side
        tiny.labels = s.labels.map { $0 == 2 ? 1 : $0 }
        tiny.labels[9 * side + 9] = 2
        #expect(Self.refine(tiny, reach: 3) == tiny.labels)
    }
}
