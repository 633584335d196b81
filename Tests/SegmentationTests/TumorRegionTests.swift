import Testing
import Tensor
@testable import Segmentation

/// B's region: the liver mask grown by a disc, slice by slice, clipped at the slice's edge.
@Suite struct TumorRegionTests {
    @Test func masksGrowByADiscOnEachSliceAlone() {
        // Slice 0: one pixel at (3, 3) of 8×8; slice 1: one pixel in the corner (0, 0).
        var m = Tensor.zeros([2, 1, 8, 8])
        m[0, 0, 3, 3] = 1
        m[1, 0, 0, 0] = 1
        let one = TumorRegion.grown(m, radius: 1), two = TumorRegion.grown(m, radius: 2)
        func pixels(_ t: Tensor, _ s: Int) -> Set<[Int]> {
            Set((0..<8).flatMap { y in (0..<8).compactMap { x in t[s, 0, y, x] > 0 ? [x, y] : nil } })
        }
        // Radius 1: the pixel and its 4 neighbours; radius 2: the 13 with dx² + dy² ≤ 4.
        #expect(pixels(one, 0) == [[3, 3], [2, 3], [4, 3], [3, 2], [3, 4]])
        #expect(pixels(two, 0).count == 13 && pixels(two, 0).contains([1, 3]) && !pixels(two, 0).contains([1, 2]))
        // In the corner only the quarter disc inside the slice: (0,0) (1,0) (2,0) (0,1) (1,1) (0,2).
        #expect(pixels(two, 1) == [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [0, 2]])
        #expect(TumorRegion.grown(m, radius: 0).scalars == m.scalars)
    }
}
