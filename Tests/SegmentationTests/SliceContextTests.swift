import Foundation
import MedicalImage
import NeuralNet
import Support
import Tensor
import Testing
@testable import Segmentation

/// Network A's neighbours along z: which slices land in which channel, in training and in
/// `segment`, with the volume's ends clamped.
@Suite struct SliceContextTests {
    @Test func stackPutsNeighboursInZOrderAndRepeatsTheEnds() {
        let t = SliceContext.stack([0, 2, 3], radius: 1, depth: 4, size: 2) { k, out in
            for i in out.indices { out[i] = Float(10 * k + i) }
        }
        #expect(t.shape == [3, 3, 2, 2])
        // Channel c of slice k holds slice k − 1 + c, clamped to 0…3.
        for (n, ks) in [[0, 0, 1], [1, 2, 3], [2, 3, 3]].enumerated() {
            for (c, k) in ks.enumerated() {
                for i in 0..<4 { #expect(t[n, c, i / 2, i % 2] == Float(10 * k + i)) }
            }
        }
        let mid = SliceContext.middle(t)
        #expect(mid.shape == [3, 1, 2, 2])
        for (n, k) in [0, 2, 3].enumerated() { for i in 0..<4 { #expect(mid[n, 0, i / 2, i % 2] == Float(10 * k + i)) } }
    }

    /// Slices 1…3 of 6 hold liver; with no liver-free slices sampled those are the dataset's
    /// slices, and slices 0 and 4 are kept once each as neighbours only.
    @Test func datasetKeepsEachSlicesNeighbours() throws {
        let dir = TinyDataset.tempDir("context")
        defer { try? FileManager.default.removeItem(at: dir) }
        let g = Geometry(shape: [8, 8, 6], spacing: [1, 1, 2])
        var img = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        var lab = Volume<UInt8>(geometry: g, voxels: [UInt8](repeating: 0, count: g.voxelCount))
        for k in 0..<6 { for j in 0..<8 { for i in 0..<8 {
            img[i, j, k] = Float(100 * k)      // constant per slice: any resize keeps it exactly
            if (1...3).contains(k) && i >= 2 && i < 6 && j >= 2 && j < 6 { lab[i, j, k] = 1 }
        } } }
        let files = try TinyDataset.writeCase(dir, image: img, labels: lab)
        let data = try SliceDataset(cases: files, size: 4, nonLiverFraction: 0, context: 1, seed: 1)
        #expect(data.sliceInCase == [1, 2, 3])
        let stack = data.stack([0, 1, 2])
        #expect(stack.shape == [3, 3, 4, 4])
        for (n, ks) in [[0, 1, 2], [1, 2, 3], [2, 3, 4]].enumerated() {
            for (c, k) in ks.enumerated() {
                #expect((0..<16).allSatisfy { stack[n, c, $0 / 4, $0 % 4] == Float(100 * k) }, "slice \(n) channel \(c)")
            }
        }
        // A batch without augmentation: A's input is the stack, `hu` (B's) the slices alone.
        var rng = SeededRNG(seed: 3)
        let batch = TrainingBatch(data, indices: [2, 0], augmentation: .none, rng: &rng)
        #expect(batch.liverInput.shape == [2, 3, 4, 4] && batch.hu.shape == [2, 1, 4, 4])
        #expect(batch.liverInput[0, 2, 1, 1] == 400 && batch.liverInput[1, 0, 1, 1] == 0)
        #expect(batch.hu[0, 0, 1, 1] == 300 && batch.hu[1, 0, 1, 1] == 100)
        // Without context the dataset is the seed's: one channel.
        let plain = try SliceDataset(cases: files, size: 4, nonLiverFraction: 0, seed: 1)
        #expect(plain.stack([0]).shape == [1, 1, 4, 4] && plain.stack([2])[0, 0, 0, 0] == 300)
    }

    /// The channels of a slice move together: augmenting a two-channel slice equals
    /// augmenting each channel alone with the same random draws.
    @Test func augmentationMovesAllChannelsAlike() {
        let s = 12
        let a = (0..<(s * s)).map { Float(($0 % s) * 7 + ($0 / s) * 3) }
        let b = (0..<(s * s)).map { Float(($0 % s) * ($0 / s)) - 50 }
        let labels = (0..<(s * s)).map { UInt8(($0 % s) > 5 ? 1 : 0) }
        var aug = Augmentation()
        aug.flipLeftRight = true
        func run(_ hu: [Float]) -> ([Float], [UInt8]) {
            var rng = SeededRNG(seed: 11)
            var h = hu, l = labels, m: [UInt8]? = nil
            var f: [Float]? = nil
            aug.apply(hu: &h, labels: &l, mask: &m, soft: &f, size: s, rng: &rng)
            return (h, l)
        }
        let (both, l2) = run(a + b)
        let (alone0, l0) = run(a), (alone1, _) = run(b)
        #expect(both == alone0 + alone1)
        #expect(l2 == l0 && l0 != labels)
    }

    /// `segment` stacks neighbours in the canonical (RAS) z order: with A looking only at the
    /// slice above (superior to) its own, the liver comes out one slice below where it is. The
    /// volume is stored inferior-first, so canonical z runs against the file's k.
    @Test func segmentFeedsANeighboursInCanonicalOrder() throws {
        let (nx, ny, nz) = (24, 24, 6)
        let g = Geometry(shape: [nx, ny, nz], affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -2, 10, 0, 0, 0, 1])
        var v = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        let liverSlices = 2..<5
        for k in liverSlices { for j in 4..<16 { for i in 3..<12 { v[i, j, k] = 170 } } }
        let m = LiverTumorModel(kind: .cascade, size: 24, unet: UNetConfig(inChannels: 1, classes: 1, filters: 1, depth: 0, dropout: 0),
                                tumorCrop: false, liverContext: 1, seed: 1)
        GeometryTests.thresholdNet(m.netA, scale: 60, at: 0.5)
        GeometryTests.thresholdNet(m.netB!, scale: 60, at: 0.8)
        // A's first convolution reads channel 2 (the superior neighbour) instead of channel 0.
        let first = m.netA.namedVariables.first { $0.0.hasSuffix("conv1.weight") }!.1
        #expect(first.value.shape[1] == 3)
        var w = Tensor.zeros(first.value.shape)
        w[0, 2, 1, 1] = 1
        first.value = w
        let (labels, _, _) = try Predictor(model: m).segment(v)
        // Superior of file slice k is file slice k − 1 (the top one, k = 0, repeats itself).
        for k in 0..<nz {
            let above = max(0, k - 1)
            for j in 0..<ny { for i in 0..<nx {
                let expected: UInt8 = liverSlices.contains(above) && (3..<12).contains(i) && (4..<16).contains(j) ? 1 : 0
                #expect(labels[i, j, k] == expected, "voxel \(i), \(j), \(k)")
            } }
        }
    }

    @Test func oldRunsSeeOneSliceAndTheRadiusIsChecked() throws {
        #expect(TrainingConfig().liverContext == 1 && LiverTumorModel(TrainingConfig()).liverContext == 1)
        let old = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(TrainingConfig()).replacingKey("liverContext"))
        #expect(old.liverContext == nil && LiverTumorModel(old).liverContext == 0)
        var c = TrainingConfig()
        c.liverContext = 5
        #expect(throws: SegmentationError.self) { try c.validate() }
    }
}
