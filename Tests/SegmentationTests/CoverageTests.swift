import Foundation
import MedicalImage
import Support
import Tensor
import Testing
@testable import Segmentation

/// Soft targets: the share of each model pixel's footprint on the scan that a structure covers.
@Suite struct CoverageTests {
    @Test func coverageIsTheAreaShareOfEachFootprint() {
        // 3×3 → 2×2: output pixel 0 spans source [0, 1.5), pixel 1 spans [1.5, 3) on each axis.
        // Inside: column 1 only. Along x each output pixel holds half of column 1, i.e. 0.5 of
        // its 1.5-wide footprint = 1/3; every row is the same, so every output pixel is 1/3.
        let src: [UInt8] = [0, 1, 0,
                            0, 1, 0,
                            0, 1, 0]
        var out = [Float](repeating: -1, count: 4)
        src.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { o in
            SliceResize.coverage(s, width: 3, height: 3, region: .full(width: 3, height: 3), to: o, width: 2, height: 2) { $0 == 1 }
        } }
        for v in out { #expect(abs(v - 1.0 / 3) < 1e-6) }

        // Inside: the top-left pixel only. Output (0, 0) holds all of it: 1 of its 1.5 × 1.5
        // footprint = 1 / 2.25; the other three output pixels hold none of it.
        let corner: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0, 0]
        corner.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { o in
            SliceResize.coverage(s, width: 3, height: 3, region: .full(width: 3, height: 3), to: o, width: 2, height: 2) { $0 == 1 }
        } }
        #expect(abs(out[0] - 1 / 2.25) < 1e-6 && out[1] == 0 && out[2] == 0 && out[3] == 0)

        // A region reaching one pixel past the left edge ([-1, 3) × [0, 3), 4 × 3 source pixels
        // onto 2 × 1): the edge column repeats there. Inside: column 0. Output 0 spans x in
        // [-1, 1): the repeated column and column 0 itself, all inside → 1; output 1 spans [1, 3) → 0.
        let left: [UInt8] = [1, 0, 0, 1, 0, 0, 1, 0, 0]
        var two = [Float](repeating: -1, count: 2)
        left.withUnsafeBufferPointer { s in two.withUnsafeMutableBufferPointer { o in
            SliceResize.coverage(s, width: 3, height: 3, region: SliceRegion(x0: -1, y0: 0, width: 4, height: 3), to: o, width: 2, height: 1) { $0 == 1 }
        } }
        #expect(two == [1, 0])
    }

    /// An 8×8 slice at model size 4 (each model pixel is 2×2 scan pixels). Liver in columns
    /// 3…5, rows 2…5, tumor in column 5 of those rows. Along a row the model pixels cover
    /// columns {0,1}, {2,3}, {4,5}, {6,7}: liver 0, ½, 1, 0 and tumor 0, 0, ½, 0 (rows 1 and 2
    /// of the model; rows 0 and 3 nothing). Nearest neighbour picks columns 1, 3, 5, 7 instead,
    /// which says liver 0, 1, 1, 0 and tumor 0, 0, 1, 0.
    @Test func datasetAndBatchCarryCoverage() throws {
        let dir = TinyDataset.tempDir("coverage")
        defer { try? FileManager.default.removeItem(at: dir) }
        let g = Geometry(shape: [8, 8, 1], spacing: [1, 1, 2])
        let img = Volume<Float>(geometry: g, voxels: [Float](repeating: 50, count: g.voxelCount))
        var lab = Volume<UInt8>(geometry: g, voxels: [UInt8](repeating: 0, count: g.voxelCount))
        for j in 2..<6 { for i in 3..<6 { lab[i, j, 0] = i == 5 ? 2 : 1 } }
        let files = try TinyDataset.writeCase(dir, image: img, labels: lab)
        let liverRow: [Float] = [0, 0.5, 1, 0], tumorRow: [Float] = [0, 0, 0.5, 0]
        func expected(_ row: [Float]) -> [Float] { (0..<16).map { ($0 / 4 == 1 || $0 / 4 == 2) ? row[$0 % 4] : 0 } }

        let soft = try SliceDataset(cases: files, size: 4, nonLiverFraction: 0, coverage: true, seed: 1)
        var rng = SeededRNG(seed: 3)
        let b = TrainingBatch(soft, indices: [0], augmentation: .none, rng: &rng)
        // Stored in 1/255: 0.5 comes back as 128/255, half a step off.
        for (n, (l, t)) in zip(expected(liverRow), expected(tumorRow)).enumerated() {
            #expect(abs(b.liver[flat: n] - l) < 0.6 / 255 && abs(b.tumor[flat: n] - t) < 0.6 / 255, "pixel \(n)")
        }

        let hard = try SliceDataset(cases: files, size: 4, nonLiverFraction: 0, seed: 1)
        let h = TrainingBatch(hard, indices: [0], augmentation: .none, rng: &rng)
        #expect(h.liver.scalars == expected([0, 1, 1, 0]) && h.tumor.scalars == expected([0, 0, 1, 0]))
    }

    @Test func newRunsTrainOnCoverageOldRunsOnLabels() throws {
        #expect(TrainingConfig().coverageTargets == true)
        let old = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(TrainingConfig()).replacingKey("coverageTargets"))
        #expect(old.coverageTargets == nil)
        var c = TrainingConfig()
        c.liverBatchSize = 0
        #expect(throws: SegmentationError.self) { try c.validate() }
    }
}
