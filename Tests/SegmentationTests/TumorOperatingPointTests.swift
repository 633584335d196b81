import Evaluation
import Foundation
import Testing
@testable import Segmentation

/// Small tumor components become liver; the tumor threshold and the size are the pair the
/// validation cases favour.
@Suite struct TumorOperatingPointTests {
    static let shape = [8, 8, 4]
    static func index(_ i: Int, _ j: Int, _ k: Int) -> Int { (k * 8 + j) * 8 + i }

    /// A liver block with a true 8-voxel lesion (2×2×2 at the origin corner) and, optionally,
    /// a false lesion of `falseVoxels` voxels along a diagonal (26-connected: one component).
    static func labels(trueLesion: Bool, falseVoxels: Int) -> [UInt8] {
        var v = [UInt8](repeating: 1, count: 8 * 8 * 4)
        if trueLesion { for k in 0..<2 { for j in 0..<2 { for i in 0..<2 { v[index(i, j, k)] = 2 } } } }
        for n in 0..<falseVoxels { v[index(4 + n, 4 + n, 2 + n % 2)] = 2 }
        return v
    }

    @Test func lesionsUnderTheSizeBecomeLiver() {
        // Voxels of 0.01 mL: the 8-voxel lesion is 0.08 mL, the 3-voxel one 0.03 mL.
        var v = Self.labels(trueLesion: true, falseVoxels: 3)
        PostProcessing.lesions(&v, shape: Self.shape, minML: 0.05, voxelML: 0.01)
        #expect(v == Self.labels(trueLesion: true, falseVoxels: 0))
        var kept = Self.labels(trueLesion: true, falseVoxels: 3)
        PostProcessing.lesions(&kept, shape: Self.shape, minML: 0.03, voxelML: 0.01)   // 0.03 is not under 0.03
        #expect(kept == Self.labels(trueLesion: true, falseVoxels: 3))
        PostProcessing.lesions(&kept, shape: Self.shape, minML: 0.09, voxelML: 0.01)
        #expect(!kept.contains(2) && kept.count == 256)
    }

    /// B's probability: `onTrue` on the true lesion, 0.6 on a false lesion of `falseVoxels`
    /// voxels, 0.2 on one stray voxel, 0 elsewhere; the liver is everywhere.
    static func validationCase(truthLesion: Bool, onTrue: Float, falseVoxels: Int) -> TumorOperatingPoint.Case {
        var p = [Float](repeating: 0, count: 256)
        if truthLesion { for k in 0..<2 { for j in 0..<2 { for i in 0..<2 { p[index(i, j, k)] = onTrue } } } }
        for n in 0..<falseVoxels { p[index(4 + n, 4 + n, 2 + n % 2)] = 0.6 }
        p[index(1, 6, 0)] = 0.2
        return .init(labels: [UInt8](repeating: 1, count: 256), probability: p,
                     truth: labels(trueLesion: truthLesion, falseVoxels: 0), shape: shape, voxelML: 0.01)
    }

    @Test func thresholdAndSizeOfTheBestMeanPerCaseDiceWin() throws {
        // Case A: the true 8-voxel lesion at probability 0.35, a 2-voxel false one at 0.6;
        // case B: no tumor, a 3-voxel false lesion at 0.6. Voxels of 0.01 mL. By hand
        // (A, B, mean) for sizes 0 / 0.05 mL:
        //   t = 0.5 (the ROC's): A 0 / 0 (only the false lesion, then nothing), B 0 / 1 → 0, 0.5
        //   t = 0.3: A 2·8/(10+8) / 1, B 0 / 1 → 4/9, 1
        //   t = 0.7: A 0 / 0, B 1 / 1 → 0.5, 0.5
        let a = Self.validationCase(truthLesion: true, onTrue: 0.35, falseVoxels: 2)
        let b = Self.validationCase(truthLesion: false, onTrue: 0, falseVoxels: 3)
        let choice = try #require(TumorOperatingPoint.choose([a, b], thresholds: [0.5, 0.3, 0.7], sizes: [0, 0.05]))
        #expect(choice == TumorOperatingPoint.Choice(threshold: 0.3, extentThreshold: 0.3, minLesionML: 0.05, dice: 1, diceBefore: 0))
        // Without the size filter the threshold alone gains 0.5 (at 0.7: nothing found at all).
        #expect(TumorOperatingPoint.choose([a, b], thresholds: [0.5, 0.3, 0.7], sizes: [0])?.threshold == 0.7)
        // Ties keep the incumbent threshold and take the largest size: 0.25 labels what 0.3 does
        // (the stray voxel is at 0.2), and 0.05 and 0.06 mL both drop the false lesions only.
        let tie = try #require(TumorOperatingPoint.choose([a, b], thresholds: [0.3, 0.25], sizes: [0.05, 0.06]))
        #expect(tie.threshold == 0.3 && tie.extentThreshold == 0.3 && tie.minLesionML == 0.06 && abs(tie.dice - 1) < 1e-12)
        #expect(TumorOperatingPoint.choose([], thresholds: [0.5]) == nil)
        // Training offers the ROC threshold and only lower ones.
        #expect(TumorOperatingPoint.candidates(below: 0.32) == [0.32, 0.1, 0.15, 0.2, 0.25, 0.3])
    }

    /// Voxels of 0.01 mL along row (·, 0, 0): a 2-voxel core (2) at x = 0, 1, extent voxels
    /// (3) at x = 2 and 4, a 1-voxel core at x = 3 between them; apart, an extent-only voxel
    /// at (6, 6, 3). Everything else is liver.
    @Test func lesionsReachFromTheirCoresOverTheExtent() {
        var v = [UInt8](repeating: 1, count: 256)
        for (x, l) in [(0, 2), (1, 2), (2, 3), (3, 2), (4, 3)] { v[Self.index(x, 0, 0)] = UInt8(l) }
        v[Self.index(6, 6, 3)] = 3
        var lesion = [UInt8](repeating: 1, count: 256)
        for x in 0..<5 { lesion[Self.index(x, 0, 0)] = 2 }
        // The largest core holds 0.02 mL: at 0.02 the region around it is one lesion (the
        // small core joins it); the region without a core becomes liver.
        var a = v
        PostProcessing.lesions(&a, shape: Self.shape, minML: 0.02, voxelML: 0.01)
        #expect(a == lesion)
        // Over 0.02 no core is large enough: no lesion at all.
        var b = v
        PostProcessing.lesions(&b, shape: Self.shape, minML: 0.025, voxelML: 0.01)
        #expect(b == [UInt8](repeating: 1, count: 256))
    }

    @Test func extentOfTheBestMeanPerCaseDiceWins() throws {
        // Case A: the true 8-voxel lesion, its 4 voxels with i = 0 at 0.6 and the other 4 at
        // 0.3; case B: no tumor, a 3-voxel false region at 0.3 (the stray voxel is at 0.2).
        // By hand (A, B, mean), all sizes 0:
        //   t = 0.5, no reach: A 2·4/(4+8) = 2/3, B 1 → 5/6 (the incumbent)
        //   t = 0.5, reach 0.25: A 1 (the rim joins its core), B 1 (no core there) → 1
        //   t = 0.25: A 1, B 0 → 1/2
        var a = Self.validationCase(truthLesion: true, onTrue: 0.3, falseVoxels: 0)
        for k in 0..<2 { for j in 0..<2 { a.probability[Self.index(0, j, k)] = 0.6 } }
        var b = Self.validationCase(truthLesion: false, onTrue: 0, falseVoxels: 3)
        for n in 0..<3 { b.probability[Self.index(4 + n, 4 + n, 2 + n % 2)] = 0.3 }
        let choice = try #require(TumorOperatingPoint.choose([a, b], thresholds: [0.5, 0.25], sizes: [0]))
        #expect(choice.threshold == 0.5 && choice.extentThreshold == 0.25 && choice.minLesionML == 0)
        #expect(abs(choice.dice - 1) < 1e-12 && abs(choice.diceBefore - 5.0 / 6) < 1e-12)
    }
    /// The false lesion of `labels(falseVoxels: 3)` lies on slices 2 and 3; one of 4 voxels laid
    /// out flat on slice 1 spans one slice. Voxels of 0.01 mL, no size limit.
    @Test func lesionsOnFewerSlicesThanTheMinimumBecomeLiver() {
        var v = Self.labels(trueLesion: true, falseVoxels: 3)     // true lesion: slices 0–1
        for i in 4..<8 { v[Self.index(i, 0, 1)] = 2 }            // flat: slice 1 only, apart from both
        let spans = v.withUnsafeBufferPointer { Components($0, labels: 2...2, shape: Self.shape) }.sliceSpans()
        #expect(spans.sorted() == [1, 2, 2])
        var one = v
        PostProcessing.lesions(&one, shape: Self.shape, minML: 0, minSlices: 1, voxelML: 0.01)
        #expect(one == v)
        var two = v
        PostProcessing.lesions(&two, shape: Self.shape, minML: 0, minSlices: 2, voxelML: 0.01)
        #expect(two == Self.labels(trueLesion: true, falseVoxels: 3))
        var three = v
        PostProcessing.lesions(&three, shape: Self.shape, minML: 0, minSlices: 3, voxelML: 0.01)
        #expect(!three.contains(2))
    }

    @Test func theOperatingPointIsChosenWithTheSliceRule() throws {
        // Case A: the true lesion (slices 0–1) at 0.6; case B: no tumor, a flat false lesion of
        // 4 voxels on slice 1 at 0.6. At t = 0.5, size 0: A 1, B 0 → 1/2 with every lesion kept;
        // with lesions of 2 slices or more: A 1, B 1 → 1. At t = 0.7 nothing is found: A 0, B 1.
        let a = Self.validationCase(truthLesion: true, onTrue: 0.6, falseVoxels: 0)
        var b = Self.validationCase(truthLesion: false, onTrue: 0, falseVoxels: 0)
        for i in 4..<8 { b.probability[Self.index(i, 0, 1)] = 0.6 }
        let kept = try #require(TumorOperatingPoint.choose([a, b], thresholds: [0.5, 0.7], sizes: [0]))
        #expect(kept.threshold == 0.5 && abs(kept.dice - 0.5) < 1e-12)
        let rule = try #require(TumorOperatingPoint.choose([a, b], thresholds: [0.5, 0.7], sizes: [0], minSlices: 2))
        #expect(rule.threshold == 0.5 && abs(rule.dice - 1) < 1e-12)
    }

    @Test func newRunsDropOneSliceLesionsAndOldRunsKeepThem() throws {
        var c = TrainingConfig()
        c.filters = 2; c.depth = 1     // the rule, not the networks, is under test
        #expect(LiverTumorModel(c).minLesionSlices == 2)
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(c).replacingKey("minLesionSlices"))
        #expect(decoded.minLesionSlices == nil && LiverTumorModel(decoded).minLesionSlices == 1)
    }
}
