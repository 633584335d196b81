import Foundation
import MedicalImage
@testable import Segmentation

/// Small LiTS-layout datasets written in a temporary folder: a bright "liver" ellipse with a
/// darker "tumor" disc, on soft tissue, with noise — enough for real (tiny) training in tests.
enum TinyDataset {
    static func tempDir(_ tag: String) -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("liverseg-\(tag)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// Writes one case (LiTS names, case 0) and returns it as the dataset's only case.
    static func writeCase(_ dir: URL, image: Volume<Float>, labels: Volume<UInt8>) throws -> [CaseFiles] {
        let (v, s) = (dir.appendingPathComponent("volume-0.nii.gz"), dir.appendingPathComponent("segmentation-0.nii.gz"))
        try NIfTI.write(image, to: v)
        try NIfTI.write(labels, to: s)
        return [CaseFiles(name: "case-0", image: v, labels: s)]
    }

    /// Writes cases 0..<n. `noLiverCase` gets no liver label; `missingLabelsCase` no segmentation file.
    /// `secondLesion` adds a smaller disc beside the first, so a slice's lesion pieces differ in size.
    static func write(_ dir: URL, cases n: Int, size: Int = 32, slices: Int = 6, noLiverCase: Int? = nil,
                      missingLabelsCase: Int? = nil, mismatchedCase: Int? = nil, secondLesion: Bool = false) throws {
        for c in 0..<n {
            var rng = Support.SeededRNG(seed: 77, stream: UInt64(c))
            let g = Geometry(shape: [size, size, slices], spacing: [1.5, 1.5, 3])
            var img = Volume<Float>(geometry: g, voxels: [Float](repeating: 40, count: g.voxelCount))
            var lab = Volume<UInt8>(geometry: g, voxels: [UInt8](repeating: 0, count: g.voxelCount))
            let cx = Double(size) * (0.35 + 0.1 * rng.nextDouble()), cy = Double(size) * (0.45 + 0.1 * rng.nextDouble())
            for k in 0..<slices {
                for j in 0..<size {
                    for i in 0..<size {
                        let dx = (Double(i) - cx) / (Double(size) * 0.25), dy = (Double(j) - cy) / (Double(size) * 0.2)
                        let inLiver = dx * dx + dy * dy <= 1 && k > 0
                        let tx = Double(i) - cx, ty = Double(j) - cy
                        let sx = tx - Double(size) * 0.17
                        let inSecond = secondLesion && sx * sx + ty * ty <= Double(size * size) / 400
                        let inTumor = inLiver && (tx * tx + ty * ty <= Double(size * size) / 100 || inSecond) && k % 2 == 1
                        img[i, j, k] = (inTumor ? 60 : inLiver ? 120 : 40) + Float(rng.normal() * 8)
                        if c != noLiverCase { lab[i, j, k] = inTumor ? 2 : inLiver ? 1 : 0 }
                    }
                }
            }
            try NIfTI.write(img, to: dir.appendingPathComponent("volume-\(c).nii.gz"))
            if c == missingLabelsCase { continue }
            if c == mismatchedCase {
                let g2 = Geometry(shape: [size, size, slices + 1], spacing: [1.5, 1.5, 3])
                lab = Volume<UInt8>(geometry: g2, voxels: [UInt8](repeating: 0, count: g2.voxelCount))
            }
            try NIfTI.write(lab, to: dir.appendingPathComponent("segmentation-\(c).nii.gz"))
        }
    }

    static func config(_ kind: ModelKind = .cascade) -> TrainingConfig {
        var c = TrainingConfig()
        c.kind = kind
        c.size = 32; c.filters = 4; c.depth = 2; c.batchSize = 4
        // Two stage-1 epochs, so that the one-step and joint runs are interrupted mid-phase,
        // where the poly schedule and the tumor-slice sampling must pick up exactly.
        c.stage1Epochs = 2; c.stage2Epochs = 1; c.liverEpochs = 1
        c.optimizer = "adam"; c.learningRate1 = 1e-2; c.learningRate2 = 1e-3
        c.learningRateSchedule = "poly"; c.tumorSliceShare = 0.5; c.diceWeight = 0.5; c.tumorInitFromLiver = true
        // B's crop from the scan needs the whole slice as the networks' view (the tiny cases
        // are tissue edge to edge, so the body's square would be the whole slice anyway).
        c.tumorCropFromScan = true; c.bodyCrop = false
        // The stored standardization is what these runs check; centring (the default) is its alternative.
        c.tumorPatch = 16; c.standardizeTumorInput = true; c.centerTumorInput = false
        c.validationFraction = 0.34
        c.seed = 5
        return c
    }
}

import Support
