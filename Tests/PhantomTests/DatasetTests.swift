import Foundation
import MedicalImage
@testable import Phantom
import Testing

@Suite struct DatasetTests {
    func tempDir() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("phantom-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }

    @Test func writtenFilesReadBackExactlyAndRepeatByteForByte() throws {
        let dir = tempDir(), dir2 = tempDir()
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: dir2) }
        let config = PhantomConfig(size: 48, slices: 6...8)
        let infos = try PhantomDataset.write(to: dir, cases: 0..<2, seed: 4, config: config, preview: true)
        #expect(infos.map(\.index) == [0, 1])
        let gen = PhantomGenerator(config)
        for i in 0..<2 {
            let c = try gen.makeCase(index: i, seed: 4)
            let img = try NIfTI.read(PhantomDataset.volumeURL(dir, i))
            let lab = try NIfTI.readLabels(PhantomDataset.segmentationURL(dir, i))
            #expect(img.voxels == c.image.voxels)
            #expect(lab.voxels == c.labels.voxels)
            #expect(img.shape == c.image.shape && lab.shape == c.image.shape)
            for (a, b) in zip(img.geometry.affine, c.image.geometry.affine) { #expect(abs(a - b) < 1e-4) }
            #expect(img.geometry.axisCodes == c.info.axisCodes)
            #expect(FileManager.default.fileExists(atPath: PhantomDataset.previewURL(dir, i).path))
        }
        let manifest = try JSONDecoder().decode(PhantomDataset.Manifest.self, from: Data(contentsOf: PhantomDataset.manifestURL(dir)))
        #expect(manifest.cases.count == 2 && manifest.seed == 4)
        // Case 1 written alone into another folder: the same bytes.
        try PhantomDataset.write(to: dir2, cases: 1..<2, seed: 4, config: config)
        for name in ["volume-1.nii.gz", "segmentation-1.nii.gz"] {
            let a = try Data(contentsOf: dir.appendingPathComponent(name))
            let b = try Data(contentsOf: dir2.appendingPathComponent(name))
            #expect(a == b, "\(name) differs between runs")
        }
        // Parallel workers write the same bytes, and the manifest keeps index order.
        let dir3 = tempDir()
        defer { try? FileManager.default.removeItem(at: dir3) }
        let par = try PhantomDataset.write(to: dir3, cases: 0..<2, seed: 4, config: config, jobs: 2)
        #expect(par.map(\.index) == [0, 1])
        for name in ["volume-0.nii.gz", "segmentation-0.nii.gz", "volume-1.nii.gz"] {
            #expect(try Data(contentsOf: dir.appendingPathComponent(name)) == Data(contentsOf: dir3.appendingPathComponent(name)))
        }
    }

    @Test func previewShowsOutlinesInRadiologicalOrientation() throws {
        let c = try PhantomGenerator(PhantomConfig(size: 64, slices: 12...12, tumorCount: 1...1)).makeCase(index: 2, seed: 3)
        let png = PhantomPreview.montage(image: c.image, labels: c.labels, tiles: 4, columns: 2, tileSize: 64)
        #expect(png.width == 128 && png.height == 128)
        var green = 0
        for y in 0..<png.height { for x in 0..<png.width where png.get(x, y) == (40, 220, 60) { green += 1 } }
        #expect(green > 0)
        // The liver lies on the patient's right: the image's left half (radiological display).
        var left = 0, right = 0
        for y in 0..<64 { for x in 0..<64 where png.get(x, y) == (40, 220, 60) { if x < 32 { left += 1 } else { right += 1 } } }
        #expect(left > right)
        let data = try png.pngData()
        #expect(data.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
    }
}
