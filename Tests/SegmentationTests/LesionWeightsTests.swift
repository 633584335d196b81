import Foundation
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

/// The flag reaches B's loss: a tiny cascade trained with it ends with other B weights than one
/// trained without (same seed, same data) and the same A, and its resumed run matches its
/// straight one (the flag is stored with the run).
@Suite(.serialized) struct LesionWeightsTrainingTests {
    @Test func theFlagChangesBAloneAndSurvivesAResume() throws {
        let data = TinyDataset.tempDir("lesion-weights")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3, secondLesion: true)
        var c = TinyDataset.config(.cascade)
        c.tumorLesionWeights = true
        let weighted = try TrainerTests.weights(TrainerTests.trainStraightAndResumed(data: data, config: c, stopAfter: 2))
        c.tumorLesionWeights = nil
        let plainRun = data.appendingPathComponent("plain")
        try Trainer.start(data: data, config: c, runDir: plainRun, quiet: true).train()
        let plain = try TrainerTests.weights(plainRun)
        #expect(Set(weighted.keys) == Set(plain.keys))
        let (aNames, bNames) = (weighted.keys.filter { $0.hasPrefix("A.") }, weighted.keys.filter { $0.hasPrefix("B.") })
        #expect(!aNames.isEmpty && !bNames.isEmpty)
        #expect(aNames.allSatisfy { weighted[$0] == plain[$0] })
        #expect(bNames.contains { weighted[$0] != plain[$0] })
    }
}
