import Foundation
import MedicalImage
@testable import Phantom
import Testing

/// The same tiny dataset as read by nibabel (scripts/phantom_nibabel_fixture.py): geometry,
/// types and scaling must agree exactly; voxel statistics within a rounding flip or two, since
/// the fixture came from a release build and the tests run in debug.
@Suite struct NibabelTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var index: Int, shape: [Int], affine: [Double], zooms: [Double], axcodes: String
            var dtype: String, slope: Double, inter: Double, labelDtype: String
            var labelCounts: [Int], meanHU: [Double], minHU: Double, maxHU: Double
        }
        var seed: UInt64, size: Int, slices: Int, tumors: Int, cases: [Case]
    }

    @Test func filesAgreeWithNibabelsReading() throws {
        let fx = try JSONDecoder().decode(Fixture.self, from: Data(nibabelFixtureJSON.utf8))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("phantom-nib-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = PhantomConfig(size: fx.size, slices: fx.slices...fx.slices, tumorCount: fx.tumors...fx.tumors)
        try PhantomDataset.write(to: dir, cases: 0..<fx.cases.count, seed: fx.seed, config: config)
        #expect(Set(fx.cases.map(\.axcodes)) == ["RAS", "LPS"])
        for c in fx.cases {
            let header = try NIfTI.readHeader(PhantomDataset.volumeURL(dir, c.index))
            #expect(header.shape == c.shape)
            #expect(header.type.rawValue == c.dtype)
            #expect(header.scaling?.slope ?? 1 == c.slope && header.scaling?.intercept ?? 0 == c.inter)
            let img = try NIfTI.read(PhantomDataset.volumeURL(dir, c.index))
            let lab = try NIfTI.readLabels(PhantomDataset.segmentationURL(dir, c.index))
            for (a, b) in zip(img.geometry.affine, c.affine) { #expect(abs(a - b) < 1e-4) }
            for (a, b) in zip(img.geometry.spacing, c.zooms) { #expect(abs(a - b) < 1e-4) }
            #expect(img.geometry.axisCodes == c.axcodes)
            #expect(try NIfTI.readHeader(PhantomDataset.segmentationURL(dir, c.index)).type.rawValue == c.labelDtype)
            var counts = [0, 0, 0], sums = [0.0, 0, 0]
            for (v, l) in zip(img.voxels, lab.voxels) { counts[Int(l)] += 1; sums[Int(l)] += Double(v) }
            for k in 0..<3 {
                #expect(abs(counts[k] - c.labelCounts[k]) <= max(2, c.labelCounts[k] / 200), "label \(k) count \(counts[k]) vs nibabel \(c.labelCounts[k])")
                if counts[k] > 20 { #expect(abs(sums[k] / Double(counts[k]) - c.meanHU[k]) < 1.0) }
            }
            #expect(Double(img.voxels.min()!) == c.minHU)
            #expect(abs(Double(img.voxels.max()!) - c.maxHU) <= 2)
        }
    }
}
