import Foundation
import MedicalImage
import Testing
@testable import Segmentation

/// The networks' view of a slice: the body's square (`SliceRegion.body`), cut out before the
/// resize to the model size and put back after it.
@Suite struct BodyCropTests {
    /// A 40×40 slice (2 mm voxels) of air with a 22×20-voxel body (HU 0) at i 8..<30, j 9..<29,
    /// a table (HU 0, one row, the whole width) at j 37 and a one-voxel bridge (i 20) between them.
    static func phantom(depth: Int) -> Volume<Float> {
        let g = Geometry(shape: [40, 40, depth], spacing: [2, 2, 2])
        var v = Volume<Float>(geometry: g, voxels: [Float](repeating: -1000, count: g.voxelCount))
        for k in 0..<depth {
            for i in 0..<40 { v[i, 37, k] = 0 }
            for j in 29..<37 { v[20, j, k] = 0 }
            // The body narrows on the last slice: the projection over z keeps the widest.
            for j in 9..<29 { for i in 8..<(k == depth - 1 ? 20 : 30) { v[i, j, k] = 0 } }
        }
        return v
    }

    @Test func bodySquareLeavesOutTheTableAndAir() {
        // By hand: erosion by 6 mm = 3 voxels removes the table and the bridge and leaves the
        // body's core i 11…26, j 12…25 (more than 3 voxels from air); widened back by 3 voxels:
        // i 8…29 (22), j 9…28 (20); side ⌈22 · 1.08⌉ = 24; centred:
        // x0 = (8 + 29 + 1 − 24) / 2 = 7, y0 = (9 + 28 + 1 − 24) / 2 = 7.
        #expect(SliceRegion.body(of: Self.phantom(depth: 3)) == SliceRegion(x0: 7, y0: 7, width: 24, height: 24))
        // All air, or tissue up to the slice's edges: the whole slice.
        let air = Volume<Float>(geometry: Geometry(shape: [16, 16, 2], spacing: [2, 2, 2]), voxels: [Float](repeating: -1000, count: 512))
        #expect(SliceRegion.body(of: air) == .full(width: 16, height: 16))
        let filled = Volume<Float>(geometry: Geometry(shape: [16, 12, 2], spacing: [1, 1, 1]), voxels: [Float](repeating: 40, count: 384))
        #expect(SliceRegion.body(of: filled) == .full(width: 16, height: 12))
        // A body at the slice's edge (which is not air): core i 0…1, j 0…2, widened back and
        // cut at the edge: i 0…4, j 0…5; side ⌈6 · 1.08⌉ = 7, moved inside the slice.
        var edge = air
        for k in 0..<2 { for j in 0..<6 { for i in 0..<5 { edge[i, j, k] = 0 } } }
        #expect(SliceRegion.body(of: edge) == SliceRegion(x0: 0, y0: 0, width: 7, height: 7))
    }

    @Test func cutAndPutBackAreExactOnALinearImage() {
        // Bilinear resampling reproduces a linear function wherever it does not clamp at an edge.
        let (w, h, s) = (30, 26, 10)
        let r = SliceRegion(x0: 5, y0: 3, width: 20, height: 20)
        let f = { (x: Float, y: Float) in 2 * x + 3 * y + 1 }
        let image = (0..<(w * h)).map { f(Float($0 % w), Float($0 / w)) }
        var model = [Float](repeating: 0, count: s * s)
        image.withUnsafeBufferPointer { src in
            model.withUnsafeMutableBufferPointer { SliceResize.bilinear(src, width: w, height: h, region: r, to: $0, width: s, height: s) }
        }
        // Model pixel (x, y) samples the scan at x0 + 2x + ½, y0 + 2y + ½.
        for y in 0..<s { for x in 0..<s { #expect(abs(model[y * s + x] - f(5 + 2 * Float(x) + 0.5, 3 + 2 * Float(y) + 0.5)) < 1e-4) } }
        var back = [Float](repeating: -1, count: w * h)
        model.withUnsafeBufferPointer { src in
            back.withUnsafeMutableBufferPointer { SliceResize.bilinear(src, width: s, height: s, to: $0, width: w, height: h, region: r) }
        }
        for y in 0..<h {
            for x in 0..<w {
                let inside = x >= 5 && x < 25 && y >= 3 && y < 23
                if !inside { #expect(back[y * w + x] == 0); continue }
                // Away from the region's outermost scan pixel (where the model's edge clamps) it is the image again.
                if x > 5 && x < 24 && y > 3 && y < 22 { #expect(abs(back[y * w + x] - image[y * w + x]) < 1e-3) }
            }
        }
        // Labels: nearest picks the scan pixel under each model pixel's centre.
        let labels = (0..<(w * h)).map { UInt8(($0 % w) / 3 + 10 * (($0 / w) / 5)) }
        var small = [UInt8](repeating: 0, count: s * s)
        labels.withUnsafeBufferPointer { src in
            small.withUnsafeMutableBufferPointer { SliceResize.nearest(src, width: w, height: h, region: r, to: $0, width: s, height: s) }
        }
        for y in 0..<s { for x in 0..<s { #expect(small[y * s + x] == labels[(3 + 2 * y + 1) * w + 5 + 2 * x + 1]) } }
    }

    /// `segment` with the body's square: the hand-set threshold networks of `GeometryTests`
    /// see a 24² square of a 40² scan 1:1 (the square is the model size), so the labels must
    /// land on exactly the voxels of the liver and tumor, and nothing outside the square.
    @Test func segmentThroughTheBodySquareLabelsTheRightVoxels() throws {
        var v = Self.phantom(depth: 4)
        var expected = [UInt8](repeating: 0, count: v.geometry.voxelCount)
        for k in 0..<3 {
            for j in 12..<24 {
                for i in 10..<22 where i < 15 || j < 16 {
                    let tumor = i >= 11 && i < 14 && j >= 13 && j < 15 && k == 1
                    v[i, j, k] = tumor ? 230 : 170
                    expected[v.index(i, j, k)] = tumor ? 2 : 1
                }
            }
        }
        let model = GeometryTests.model()
        model.bodyCrop = true
        #expect(model.region(width: 40, height: 40, depth: 4, spacing: (2, 2)) { k, out in
            _ = out.update(from: v.voxels[(k * 1600)..<((k + 1) * 1600)])
        } == SliceRegion(x0: 7, y0: 7, width: 24, height: 24))
        let (labels, _, _) = try GeometryTests.exactPredictor(model).segment(v)
        #expect(labels.geometry == v.geometry)
        #expect(labels.voxels == expected)
    }

    @Test func configDefaultsOnOldRunsOffAndScanCropExcludesIt() throws {
        #expect(TrainingConfig().bodyCrop == true && LiverTumorModel(TrainingConfig()).bodyCrop)
        let old = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(TrainingConfig()).replacingKey("bodyCrop"))
        #expect(old.bodyCrop == nil && !LiverTumorModel(old).bodyCrop)
        var scan = TrainingConfig()
        scan.tumorCropFromScan = true
        #expect(throws: SegmentationError.self) { try scan.validate() }
        scan.bodyCrop = false
        try scan.validate()
    }
}
