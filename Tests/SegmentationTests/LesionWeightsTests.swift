import Tensor
import Testing
@testable import Segmentation

/// B's loss weighted so that every lesion piece of a batch weighs the same (`LesionWeights`,
/// `--tumor-lesion-weights`).
@Suite struct LesionWeightsTests {
    /// A [2, 1, 6, 6] target from (slice, row, column, coverage) pixels.
    static func target(_ pixels: [(Int, Int, Int, Float)]) -> Tensor {
        var v = [Float](repeating: 0, count: 2 * 36)
        for (k, r, c, y) in pixels { v[k * 36 + r * 6 + c] = y }
        return Tensor(shape: [2, 1, 6, 6], values: v)
    }

    @Test func everyPieceOfTheBatchGetsTheSameShareOfItsTumorPixels() throws {
        // Slice 0: a 2×4 block (8 pixels), and two pixels touching at a corner, one of them of
        // coverage 0.5 (one piece of 2, counted as 4). Slice 1: a 2×2 block (4), and a lone
        // pixel of coverage 0.25 (1, counted as 4).
        var pixels: [(Int, Int, Int, Float)] = []
        for r in 0...1 { for c in 0...3 { pixels.append((0, r, c, 1)) } }
        pixels += [(0, 4, 4, 1), (0, 5, 5, 0.5)]
        for r in 2...3 { for c in 2...3 { pixels.append((1, r, c, 1)) } }
        pixels.append((1, 0, 5, 0.25))
        let w = try #require(LesionWeights.inverseSize(Self.target(pixels)))
        // Four pieces of 8 + 2 + 4 + 1 = 15 pixels: 15 / 4 = 3.75 each, spread over max(area, 4).
        var expected = [Float](repeating: 1, count: 72)
        for (k, r, c, _) in pixels { expected[k * 36 + r * 6 + c] = 3.75 / 4 }
        for r in 0...1 { for c in 0...3 { expected[r * 6 + c] = 3.75 / 8 } }
        #expect(w.shape == [2, 1, 6, 6])
        #expect(w.scalars == expected)
    }

    @Test func oneLesionAloneOrNoneLeavesTheLossAsItWas() throws {
        var pixels: [(Int, Int, Int, Float)] = []
        for r in 1...3 { for c in 1...3 { pixels.append((1, r, c, 1)) } }
        let w = try #require(LesionWeights.inverseSize(Self.target(pixels)))
        #expect(w.scalars.allSatisfy { $0 == 1 })
        #expect(LesionWeights.inverseSize(Self.target([])) == nil)
    }

    @Test func theWeightsAreForATumorNetwork() throws {
        var c = TrainingConfig()
        c.tumorLesionWeights = true
        try c.validate()
        c.kind = .joint
        try c.validate()
        c.kind = .oneStep
        #expect(throws: SegmentationError.self) { try c.validate() }
    }
}
