import Testing
@testable import Segmentation

/// Small tumor components become liver, and the size is the one the validation cases favour.
@Suite struct LesionSizeTests {
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
        PostProcessing.removeLesions(smallerThan: 0.05, &v, shape: Self.shape, voxelML: 0.01)
        #expect(v == Self.labels(trueLesion: true, falseVoxels: 0))
        var kept = Self.labels(trueLesion: true, falseVoxels: 3)
        PostProcessing.removeLesions(smallerThan: 0.03, &kept, shape: Self.shape, voxelML: 0.01)   // 0.03 is not under 0.03
        #expect(kept == Self.labels(trueLesion: true, falseVoxels: 3))
        PostProcessing.removeLesions(smallerThan: 0.09, &kept, shape: Self.shape, voxelML: 0.01)
        #expect(!kept.contains(2) && kept.count == 256)
    }

    @Test func sizeWithTheBestMeanPerCaseDiceWinsAndTiesGoToTheSmallest() throws {
        // Case A: the true lesion found plus a 2-voxel false one; case B: no tumor, a 3-voxel false one.
        let a = LesionSizeSelection.Case(prediction: Self.labels(trueLesion: true, falseVoxels: 2),
                                         truth: Self.labels(trueLesion: true, falseVoxels: 0), shape: Self.shape, voxelML: 0.01)
        let b = LesionSizeSelection.Case(prediction: Self.labels(trueLesion: false, falseVoxels: 3),
                                         truth: Self.labels(trueLesion: false, falseVoxels: 0), shape: Self.shape, voxelML: 0.01)
        // By hand: keep all → A 2·8/(10+8), B 0; 0.02 mL drops nothing (2 voxels are 0.02);
        // 0.05 drops both false lesions → 1 and 1 (both empty); 0.06 the same; 0.1 drops the
        // true lesion too → A 0, B 1.
        let (minML, dice) = try #require(try LesionSizeSelection.choose([a, b], candidates: [0, 0.02, 0.05, 0.06, 0.1]))
        #expect(minML == 0.05)
        let expected = [8.0 / 18, 8.0 / 18, 1, 1, 0.5]
        #expect(zip(dice, expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(dice)")
        #expect(try LesionSizeSelection.choose([], candidates: [0, 1]) == nil)
    }
}
