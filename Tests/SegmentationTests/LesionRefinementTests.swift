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

    /// `boundary: 0.5, trim: false` is the rule of sessions 16–25 (nearer the lesion's median
    /// than the liver's, grow only), which the first tests work out.
    static func refine(_ s: (labels: [UInt8], ct: [Float]), reach: Int, boundary: Float = 0.5, trim: Bool = false) -> [UInt8] {
        var labels = s.labels
        LesionRefinement.apply(&labels, shape: [side, side, 1], spacing: [1, 1, 1], reach: reach, boundary: boundary, trim: trim) { k, out in
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
            LesionRefinement.apply(&labels, shape: [Self.side, Self.side, 3], spacing: [1, 1, sliceMM], reach: 3,
                                   boundary: 0.5, trim: false) { _, out in
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

    static func square(_ r: ClosedRange<Int>) -> Set<[Int]> {
        var out = Set<[Int]>()
        for y in r { for x in r { out.insert([x, y]) } }
        return out
    }

    /// The default boundary, 0.35 of the way from the liver's 100 to the lesion's 40: a voxel
    /// joins below 79. The lesion's corners (≈ 73.3) now join once in reach (4: they lie 4 steps
    /// from B's 6×6); the liver just outside (80) still does not. The whole 10×10, as drawn.
    /// B's 6×6 has no edge voxel the trim could take (all of them average 40).
    @Test func defaultBoundaryTakesTheCornersAndNoLiver() {
        let s = Self.slice(darkBlock: false)
        var labels = s.labels
        LesionRefinement.apply(&labels, shape: [Self.side, Self.side, 1], spacing: [1, 1, 1], reach: 4) { _, out in
            _ = out.update(from: s.ct)
        }
        #expect(Self.tumor(labels) == Self.square(5...14))
        #expect(Self.tumor(Self.refine(s, reach: 4)) == Self.square(5...14).subtracting([[5, 5], [5, 14], [14, 5], [14, 14]]),
                "at 0.5 the corners (≈ 73.3, 0.44 of the contrast) stay liver")
    }

    /// B labelled the lesion and a 1-voxel ring of liver around it (the 12×12 at 4…15). The
    /// liver around is flat, so its spread is 0 and the lesion (contrast 60) is clear of it.
    /// The ring's 3×3 means are 80 beside the lesion's sides (0.33 of the contrast), 86.7 and
    /// 93.3 by its corners: all under 0.35, all back to liver. The lesion's own edge voxels
    /// are the 12×12's core and stay. Without the trim the 12×12 stays (nothing outside it
    /// averages under 100).
    @Test func trimGivesBackTheLiverRingBLabelled() {
        var s = Self.slice(darkBlock: false)
        for y in 4...15 { for x in 4...15 { s.labels[y * Self.side + x] = 2 } }
        #expect(Self.tumor(Self.refine(s, reach: 3, boundary: 0.35, trim: true)) == Self.square(5...14))
        #expect(Self.tumor(Self.refine(s, reach: 3, boundary: 0.35, trim: false)) == Self.square(4...15))
    }

    /// The same 12×12, with the liver outside the lesion striped: columns of 160 and 40 HU in
    /// turn, 3 wide, so its 3×3 means are 160, 120, 80 or 40. Over the ring the liver's median
    /// is 120 and the median absolute deviation 40 (scipy's medians over the same voxels): a
    /// spread of 59.3, and the lesion's contrast (120 − 40 = 80) is under 3 of it. No voxel of
    /// the 12×12 is given back.
    @Test func trimLeavesALesionTheLiversNoiseCouldHide() {
        var s = Self.slice(darkBlock: false)
        for y in 0..<Self.side {
            for x in 0..<Self.side where !((5...14).contains(x) && (5...14).contains(y)) { s.ct[y * Self.side + x] = (x / 3) % 2 == 0 ? 160 : 40 }
        }
        for y in 4...15 { for x in 4...15 { s.labels[y * Self.side + x] = 2 } }
        let out = Self.refine(s, reach: 3, boundary: 0.35, trim: true)
        #expect(Self.tumor(out).isSuperset(of: Self.square(4...15)))
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
