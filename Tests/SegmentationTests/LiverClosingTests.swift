import Testing
@testable import Segmentation

/// The liver mask closed slice by slice before B: bays and holes narrower than the disk
/// closed, wider ones only rounded, the outline of a convex liver left as it is.
@Suite struct LiverClosingTests {
    /// A 30×30 slice (1 mm pixels), liver at x, y ∈ 5…24 with a lesion (2) at 10…11 × 10…11,
    /// a 2×2 hole at 15…16 × 15…16, a 6×8 hole at 18…23 × 12…19, a bay 2 wide and 4 deep at
    /// x 8…9 from the top (y 5…8), and a bay 8 wide and 4 deep at x 14…21 from the bottom (y 21…24).
    static func slice() -> [UInt8] {
        let n = 30
        var l = [UInt8](repeating: 0, count: n * n)
        for y in 5...24 { for x in 5...24 { l[y * n + x] = 1 } }
        for y in 10...11 { for x in 10...11 { l[y * n + x] = 2 } }
        for y in 15...16 { for x in 15...16 { l[y * n + x] = 0 } }
        for y in 12...19 { for x in 18...23 { l[y * n + x] = 0 } }
        for y in 5...8 { for x in 8...9 { l[y * n + x] = 0 } }
        for y in 21...24 { for x in 14...21 { l[y * n + x] = 0 } }
        return l
    }

    static func closed(_ l: [UInt8], radius: Double, slices: Int = 1) -> [UInt8] {
        var out = l
        LiverClosing.apply(&out, shape: [30, 30, slices], spacing: (1, 1), radiusMM: radius)
        return out
    }

    /// A 2-mm disk adds exactly what scipy adds to this slice (`binary_closing` with the disk
    /// x² + y² ≤ 4 on the slice padded with background, as `apply` does; scipy 1.17.1, run once, the set pasted
    /// below): the narrow bay's rows 6…8 (its mouth row, 5, stays open: the pixels above it lie
    /// √5 mm from the liver, outside the dilation), the small hole, the rounded corners of the
    /// wide bay and of the large hole (36 of whose 48 pixels stay open). Nothing else changes;
    /// the lesion keeps its label.
    @Test func diskAddsWhatScipysClosingAdds() {
        let l = Self.slice(), out = Self.closed(l, radius: 2)
        let scipy: Set<[Int]> = [[8, 6], [8, 7], [8, 8], [9, 6], [9, 7], [9, 8], [14, 21], [14, 22], [15, 15], [15, 16],
                                 [15, 21], [16, 15], [16, 16], [18, 12], [18, 13], [18, 18], [18, 19], [19, 12], [19, 19],
                                 [20, 21], [21, 21], [21, 22], [22, 12], [22, 19], [23, 12], [23, 13], [23, 18], [23, 19]]
        for i in l.indices {
            let p = [i % 30, i / 30]
            #expect(out[i] == (scipy.contains(p) ? 1 : l[i]), "pixel \(p)")
        }
    }

    @Test func radiusZeroChangesNothing() {
        let l = Self.slice()
        #expect(Self.closed(l, radius: 0) == l)
    }

    /// Slices are closed one by one: an empty slice stays empty, and a second slice with the
    /// same mask gets the same result.
    @Test func slicesAreIndependent() {
        let l = Self.slice()
        let stack = l + [UInt8](repeating: 0, count: 900) + l
        let out = Self.closed(stack, radius: 2, slices: 3)
        let one = Self.closed(l, radius: 2)
        #expect(one != l)
        #expect(Array(out[0..<900]) == one)
        #expect(out[900..<1800].allSatisfy { $0 == 0 })
        #expect(Array(out[1800..<2700]) == one)
    }
}
