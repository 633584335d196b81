import Foundation
import MedicalImage
import NeuralNet
import Support
import Tensor
import Testing
@testable import Segmentation

/// The output overlays the input: an LPS-ordered, anisotropic, oblique-free volume goes in,
/// the label map comes out with the input's affine and the labels on the voxels where the
/// structures are on the ORIGINAL grid.
///
/// The networks are set by hand to threshold intensities, so the expected labels are known
/// independently: A marks liver where HU > 150 (liver window −100…400 → 0.5), B marks tumor
/// where the tumor-windowed value is above 0.8 (HU > 190 inside the liver). The volume's
/// in-plane size equals the model size, so the resizes are exact.
@Suite struct GeometryTests {
    /// A network whose single filter passes input `channel` (and its own output) through
    /// unchanged, and whose head thresholds it at `level`.
    static func thresholdNet(_ net: UNet, scale: Float, at level: Float, channel: Int = 0) {
        for (name, v) in net.namedVariables {
            var t = Tensor.zeros(v.value.shape)
            if name.hasSuffix("conv1.weight") || name.hasSuffix("conv2.weight") { t[0, v.value.shape[1] > 1 ? channel : 0, 1, 1] = 1 }   // identity 3×3
            if name == "head.weight" { t[flat: 0] = scale }
            if name == "head.bias" { t[flat: 0] = -scale * level }
            v.value = t
        }
    }

    static func model() -> LiverTumorModel {
        // Whole-slice B: the zoomed liver crop would resample the tumor edges (LiverCropTests covers it).
        let m = LiverTumorModel(kind: .cascade, size: 24, unet: UNetConfig(inChannels: 1, classes: 1, filters: 1, depth: 0, dropout: 0),
                                tumorCrop: false, seed: 1)
        thresholdNet(m.netA, scale: 60, at: 0.5)
        thresholdNet(m.netB!, scale: 60, at: 0.8)
        return m
    }

    /// A predictor that labels exactly what the hand-set networks mark: the default closing of
    /// the liver before B would fill the inner corner of these tests' L-shaped livers
    /// (`LiverClosingTests`), and the lesion refinement may grow their lesions (`LesionRefinementTests`).
    static func exactPredictor(_ m: LiverTumorModel) -> Predictor {
        let p = Predictor(model: m)
        p.liverClosingMM = 0
        p.lesionReach = 0
        return p
    }

    @Test func lpsAnisotropicVolumeKeepsItsAffineAndLabelsLandOnTheRightVoxels() throws {
        let (nx, ny, nz) = (24, 24, 7)
        // LPS order: i → patient's left (−x in RAS), j → posterior (−y), k → superior; anisotropic.
        let g = Geometry(shape: [nx, ny, nz], affine: [-0.7, 0, 0, 100, 0, -0.9, 0, 80, 0, 0, 2.5, -40, 0, 0, 0, 1])
        var v = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        // An asymmetric L-shaped "liver" (HU 170) with a "tumor" (HU 230) in one corner, so that
        // any flip or transpose would move labels.
        var expected = [UInt8](repeating: 0, count: g.voxelCount)
        for k in 1..<6 {
            for j in 3..<15 {
                for i in 2..<18 where i < 8 || j < 8 {
                    let tumor = i >= 3 && i < 6 && j >= 4 && j < 7 && k >= 2 && k < 4
                    v[i, j, k] = tumor ? 230 : 170
                    expected[v.index(i, j, k)] = tumor ? 2 : 1
                }
            }
        }
        let predictor = Self.exactPredictor(Self.model())
        predictor.batchSize = 3
        let (labels, prob, summary) = try predictor.segment(v, tumorProbability: true)
        #expect(labels.geometry == g)
        #expect(prob?.geometry == g)
        #expect(labels.voxels == expected)
        #expect(summary.tumorCount == 1)
        let voxelML = 0.7 * 0.9 * 2.5 / 1000
        #expect(abs(summary.liverML - Double(expected.filter { $0 >= 1 }.count) * voxelML) < 1e-9)
        // Written and read back: the same affine on disk.
        let dir = TinyDataset.tempDir("geom")
        defer { try? FileManager.default.removeItem(at: dir) }
        try NIfTI.write(labels, to: dir.appendingPathComponent("seg.nii.gz"))
        let back = try NIfTI.readLabels(dir.appendingPathComponent("seg.nii.gz"))
        #expect(back.voxels == expected)
        #expect(zip(back.geometry.affine, g.affine).allSatisfy { abs($0 - $1) < 1e-5 })

        // The same CT stored as scaled int16 (raw = (HU + 10) / 0.5) and read as it is stored,
        // the way `segment` reads it: the same labels and probabilities, bit for bit.
        let ct = dir.appendingPathComponent("ct.nii.gz")
        try NIfTI.write(v, to: ct, as: .int16, scaling: Scaling(slope: 0.5, intercept: -10))
        let scan = try MedicalImageReader.readScan(ct)
        guard case .int16 = scan.storage else { Issue.record("int16 CT should stay int16 in memory"); return }
        #expect(scan.storedBytes == g.voxelCount * 2)
        let fromScan = try predictor.segment(scan, tumorProbability: true)
        #expect(fromScan.labels.voxels == expected)
        #expect(fromScan.probability?.voxels == prob?.voxels)

        // `segment`'s defaults add liver only in the L's inner corner (i ≥ 8 and j ≥ 8, inside
        // its bounding box, 0.7 × 0.9 mm pixels, 5 mm disk) and keep every label it had.
        let closed = try Predictor(model: Self.model()).segment(v).labels
        var added = 0
        for k in 0..<nz { for j in 0..<ny { for i in 0..<nx {
            let n = v.index(i, j, k)
            if expected[n] != 0 { #expect(closed.voxels[n] == expected[n]); continue }
            guard closed.voxels[n] != 0 else { continue }
            added += 1
            #expect(closed.voxels[n] == 1 && i >= 8 && i < 18 && j >= 8 && j < 15 && k >= 1 && k < 6, "voxel \(i), \(j), \(k)")
        } } }
        #expect(added > 0)
    }

    @Test func keepLargestDropsASecondBlobAndTumorOutsideIt() throws {
        let g = Geometry(shape: [24, 24, 4], spacing: [1, 1, 1])
        var v = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        for k in 0..<4 { for j in 2..<12 { for i in 2..<12 { v[i, j, k] = 170 } } }          // big liver
        for k in 0..<2 { for j in 18..<21 { for i in 18..<21 { v[i, j, k] = 230 } } }        // small bright blob
        let p = Predictor(model: Self.model())
        let kept = try p.segment(v).labels
        #expect(kept.voxels.filter { $0 == 2 }.isEmpty)
        #expect(kept.voxels.filter { $0 == 1 }.count == 10 * 10 * 4)
        p.keepLargest = false
        let all = try p.segment(v).labels
        #expect(all.voxels.filter { $0 == 2 }.count == 3 * 3 * 2)
    }

    /// A liver and a "spleen" A also takes for liver, joined by a bridge one voxel thick, each
    /// with a bright lesion. The bridge is cut before B runs, so the spleen and its lesion go;
    /// the bridge splits where growth from the two eroded cores meets (worked out as in
    /// `BridgeCutTests`: x 10–11 stay with the liver). With radius 0 everything is one organ.
    @Test func aNeighbourJoinedByAThinBridgeIsCutBeforeB() throws {
        let g = Geometry(shape: [24, 24, 7], spacing: [1, 1, 1])
        var v = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        var expected = [UInt8](repeating: 0, count: g.voxelCount)
        func lesion(_ i: Int, _ j: Int, _ k: Int, at i0: Int, _ j0: Int) -> Bool { i >= i0 && i < i0 + 3 && j >= j0 && j < j0 + 3 && k >= 2 && k < 4 }
        for k in 1..<6 { for j in 1..<10 { for i in 1..<10 {
            v[i, j, k] = lesion(i, j, k, at: 3, 3) ? 230 : 170
            expected[v.index(i, j, k)] = lesion(i, j, k, at: 3, 3) ? 2 : 1
        } } }
        for k in 1..<6 { for j in 2..<9 { for i in 14..<21 { v[i, j, k] = lesion(i, j, k, at: 16, 4) ? 230 : 170 } } }
        for i in 10..<14 { v[i, 5, 3] = 170 }
        for i in 10..<12 { expected[v.index(i, 5, 3)] = 1 }
        let p = Self.exactPredictor(Self.model())
        let bar = ProgressBar(total: 7, label: "")
        let (cut, _, summary) = try p.segment(v, progress: bar)
        #expect(cut.voxels == expected)
        #expect(summary.tumorCount == 1)
        #expect(bar.done == 7)
        p.bridgeRadius = 0
        let whole = try p.segment(v).labels
        #expect(whole.voxels.filter { $0 >= 1 }.count == 9 * 9 * 5 + 7 * 7 * 5 + 4)
        #expect(whole.voxels.filter { $0 == 2 }.count == 2 * 3 * 3 * 2)
    }

    @Test func nonFiniteInputIsRefused() {
        let g = Geometry(shape: [24, 24, 2], spacing: [1, 1, 1])
        var v = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        v[3, 3, 1] = .nan
        #expect(throws: SegmentationError.self) { _ = try Predictor(model: Self.model()).segment(v) }
    }

    /// A batch of no slices would never advance through the volume (`segment --batch 0`
    /// stopped the process before it was refused).
    @Test func aBatchOfNoSlicesIsRefused() {
        let g = Geometry(shape: [24, 24, 2], spacing: [1, 1, 1])
        let v = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        let p = Predictor(model: Self.model())
        for size in [0, -1] {
            p.batchSize = size
            #expect { _ = try p.segment(v) } throws: { "\($0)".contains("batch size must be at least 1") }
        }
    }
}

/// The cascade's B on a liver square cut from the scan at its own resolution: a 3×3-voxel
/// tumor (1.5 model pixels, which a model-size slice would smear) is found voxel for voxel.
/// The sizes are chosen so every resampling is exact: the scan is 2× the model size, the
/// liver is 12 model pixels wide on even scan voxels, so the crop is 16 model pixels = 32
/// scan voxels and B sees the scan 1:1.
@Suite struct ScanCropGeometryTests {
    @Test func smallTumorIsFoundOnTheScanGrid() throws {
        let (nx, ny, nz) = (64, 64, 3)
        let g = Geometry(shape: [nx, ny, nz], spacing: [0.8, 0.8, 3])
        var v = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        var expected = [UInt8](repeating: 0, count: g.voxelCount)
        for k in 0..<nz {
            for j in 20..<44 {
                for i in 12..<36 {
                    let tumor = k == 1 && i >= 21 && i < 24 && j >= 27 && j < 30
                    v[i, j, k] = tumor ? 230 : 170
                    expected[v.index(i, j, k)] = tumor ? 2 : 1
                }
            }
        }
        let m = LiverTumorModel(kind: .cascade, size: 32, unet: UNetConfig(inChannels: 1, classes: 1, filters: 1, depth: 0, dropout: 0),
                                tumorCrop: true, tumorCropFromScan: true, seed: 1)
        #expect(m.tumorCropFromScan)
        GeometryTests.thresholdNet(m.netA, scale: 60, at: 0.5)
        GeometryTests.thresholdNet(m.netB!, scale: 60, at: 0.8)
        let (labels, _, summary) = try Predictor(model: m).segment(v)
        #expect(labels.voxels == expected)
        #expect(summary.tumorCount == 1)
        #expect(abs(summary.tumorML - 9 * 0.8 * 0.8 * 3 / 1000) < 1e-9)
    }
}
