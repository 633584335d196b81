import Foundation
import MedicalImage
import Testing
@testable import Segmentation

/// `segment` on a DICOM folder: a coronal, anisotropic series written by pydicom
/// (scripts/fixtures/make_segmentation_fixtures.py; uint16 with intercept −1024, files shuffled)
/// is read as it is stored, turned to axial RAS slices for the networks (every axis flipped and
/// two swapped), and labelled back on the series' own grid: the labels must be the script's, voxel
/// for voxel, with the affine nibabel's convention gives the series. The hand-set threshold
/// networks of `GeometryTests` mark what the script painted (liver 170 HU, tumor 230 HU), and the
/// axial plane is 24 × 24, the model size, so no resampling blurs the answer.
@Suite struct DICOMSegmentationTests {
    @Test func coronalSeriesIsLabelledOnItsOwnGrid() throws {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("expected.json"))) as? [String: Any])
        let shape = try #require(json["shape"] as? [Int])
        let affine = try #require(json["affine"] as? [Double])
        let expected = try #require(json["labels"] as? [Int]).map(UInt8.init)

        let scan = try MedicalImageReader.readScan(root.appendingPathComponent("dicom-coronal"))
        guard case .int16 = scan.storage else { Issue.record("a 16-bit series should stay 16-bit"); return }
        #expect(scan.geometry.shape == shape)
        let (labels, _, summary) = try GeometryTests.exactPredictor(GeometryTests.model()).segment(scan)
        #expect(labels.geometry == scan.geometry)
        #expect(zip(labels.geometry.affine, affine).allSatisfy { abs($0 - $1) < 1e-6 }, "\(labels.geometry.affine)")
        #expect(labels.voxels == expected)
        #expect(summary.tumorCount == 1)
    }
}
