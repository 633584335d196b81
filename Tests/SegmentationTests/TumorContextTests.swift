import Foundation
import MedicalImage
import NeuralNet
import Support
import Tensor
import Testing
@testable import Segmentation

/// Network B with its neighbouring slices (`TrainingConfig.tumorContext`).
@Suite struct TumorContextTests {
    static func config(liverContext: Int = 1, tumorContext: Int = 1) -> TrainingConfig {
        var c = TrainingConfig()
        c.size = 16; c.filters = 2; c.depth = 2
        c.liverContext = liverContext; c.tumorContext = tumorContext
        return c
    }

    /// B's input for one 2×2 slice (channel 1) between its two neighbours, mask on all but the
    /// fourth pixel, compared with values worked by hand.
    static func expectInput(_ c: TrainingConfig, standardization: Standardization? = nil, _ expected: [Float]) throws {
        try c.validate()
        let model = LiverTumorModel(c)
        #expect(model.netB?.config.inChannels == 3)
        model.tumorStandardization = standardization
        let hu = Tensor(shape: [1, 3, 2, 2], values: [40, 160, 250, 100, 100, 130, 70, 400, -50, 100, 10, 0])
        let got = model.tumorInput(hu, mask: Tensor(shape: [1, 1, 2, 2], values: [1, 1, 1, 0])).scalars
        #expect(got.count == expected.count)
        for (g, e) in zip(got, expected) { #expect(abs(g - e) < 1e-5, "\(got) vs \(expected)") }
    }

    /// By hand, window −50…250 (w = (h + 50) / 300), gain 5. The slice is slice 0 of
    /// `TumorInputTests`: w inside M = 0.5, 0.6, 0.4, median 0.5 (100 HU). Its neighbours are
    /// centred on that median and cut by the slice's M: 40, 160, 250 HU → w 0.3, 0.7, 1 →
    /// −1, 1, 2.5; −50, 100, 10 HU → −2.5, 0, −1.5; the fourth pixel is outside M.
    @Test func neighboursAreCentredOnTheSlicesOwnLiverAndCutByItsMask() throws {
        try Self.expectInput(Self.config(), [-1, 1, 2.5, 0, 0, 0.5, -0.5, 0, -2.5, 0, -1.5, 0])
    }

    /// Without centring each channel is windowed and standardized like the slice, and cut by
    /// the slice's M: 40 HU → w 0.3 → (0.3 − 0.5) / 0.25 = −0.8, …
    @Test func uncentredNeighboursAreWindowedAndCutByTheSlicesMask() throws {
        var c = Self.config()
        c.centerTumorInput = false
        try Self.expectInput(c, standardization: Standardization(mean: 0.5, std: 0.25), [-0.8, 0.8, 2, 0, 0, 0.4, -0.4, 0, -2, 0, -1.2, 0])
    }

    /// B's slices are the middle 2·tumorContext + 1 channels of A's stack, in z order.
    @Test func bTakesTheMiddleChannelsOfTheLiverNetworksStack() throws {
        let model = LiverTumorModel(Self.config(liverContext: 2, tumorContext: 1))
        #expect(model.netA.config.inChannels == 5 && model.netB?.config.inChannels == 3)
        let stack = Tensor(shape: [2, 5, 1, 2], values: (0..<20).map(Float.init))
        let b = model.tumorSlices(stack)
        #expect(b.shape == [2, 3, 1, 2])
        #expect(b.scalars == [2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17])
        // Without context B takes the slice alone, as before the option.
        #expect(LiverTumorModel(Self.config(liverContext: 2, tumorContext: 0)).tumorSlices(stack).scalars == [4, 5, 14, 15])
    }

    @Test func contextBeyondTheLiverNetworksOrFromTheScanIsRefused() throws {
        #expect(throws: SegmentationError.self) { try Self.config(liverContext: 1, tumorContext: 2).validate() }
        var scan = Self.config()
        scan.tumorCropFromScan = true; scan.bodyCrop = false
        #expect(throws: SegmentationError.self) { try scan.validate() }
        var oneStep = Self.config(liverContext: 0, tumorContext: 2)
        oneStep.kind = .oneStep                                   // no B: nothing to refuse
        try oneStep.validate()
        // A run saved before the option (no key in model.json) has B see its slice alone.
        let old = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(Self.config()).replacingKey("tumorContext"))
        #expect(old.tumorContext == nil && LiverTumorModel(old).netB?.config.inChannels == 1)
    }

    /// Each neighbour is cut by its own slice's liver square, like the slice: channel by
    /// channel the view equals the view of that channel alone.
    @Test func theLiverCropCutsEveryChannelAlike() {
        let model = LiverTumorModel(Self.config())
        let s = 16, p = s * s
        var m = [Float](repeating: 0, count: 2 * p)
        for y in 3..<9 { for x in 5..<12 { m[y * s + x] = 1 } }           // sample 0: a 7×6 liver
        for y in 8..<16 { for x in 0..<4 { m[p + y * s + x] = 1 } }       // sample 1: at the corner
        let mask = Tensor(shape: [2, 1, s, s], values: m)
        let hu = Tensor(shape: [2, 3, s, s], values: (0..<(6 * p)).map { Float(($0 * 37) % 211) })
        let whole = model.tumorView(hu: hu, mask: mask)
        #expect(whole.hu.shape == [2, 3, s, s] && whole.crops.allSatisfy { $0 != nil })
        let channels = hu.splitChannels([1, 1, 1])
        for (ch, one) in channels.enumerated() {
            let alone = model.tumorView(hu: one, mask: mask).hu
            for n in 0..<2 {
                let got = (0..<p).map { whole.hu[flat: (n * 3 + ch) * p + $0] }
                #expect(got == (0..<p).map { alone[flat: n * p + $0] }, "sample \(n), channel \(ch)")
            }
        }
    }

    /// Every channel of a patch is cut at the same place as the slice's.
    @Test func patchesCutEveryChannelAtTheSamePlace() {
        let (hu1, mask, tumor) = TumorInputTests.samples()
        let p = 64
        var v = [Float](repeating: 0, count: 2 * 3 * p)
        for n in 0..<2 { for ch in 0..<3 { for j in 0..<p { v[(n * 3 + ch) * p + j] = hu1[flat: n * p + j] + Float(1000 * ch) } } }
        let hu3 = Tensor(shape: [2, 3, 8, 8], values: v)
        for seed in 0..<10 as Range<UInt64> {
            var r1 = SeededRNG(seed: seed), r3 = SeededRNG(seed: seed)
            let one = TumorPatches.cut([hu1], tumor: tumor, mask: mask, patch: 4, rng: &r1)[0]
            let three = TumorPatches.cut([hu3, mask], tumor: tumor, mask: mask, patch: 4, rng: &r3)[0]
            #expect(three.shape == [2, 3, 4, 4])
            for n in 0..<2 { for ch in 0..<3 { for j in 0..<16 {
                #expect(three[flat: (n * 3 + ch) * 16 + j] == one[flat: n * 16 + j] + Float(1000 * ch))
            } } }
        }
    }

    /// `segment` feeds B each slice with its neighbours in z order. A marks liver above 150 HU
    /// (its middle input channel); B, centred, reads only its first channel — the slice below —
    /// and marks tumor 60 HU above the liver's median there. A block of 230 HU on slices 2–3 of a
    /// 170 HU liver (slices 1–5) is then called tumor on slices 3–4: on the slice above each
    /// lesion slice, where the liver is. The end slices repeat past the volume's edge.
    @Test func segmentGivesBTheSlicesBelowAndAbove() throws {
        let (n, nz) = (24, 7)
        let g = Geometry(shape: [n, n, nz], spacing: [1, 1, 2])
        var v = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        var expected = [UInt8](repeating: 0, count: g.voxelCount)
        func inLesion(_ i: Int, _ j: Int) -> Bool { i >= 3 && i < 6 && j >= 4 && j < 7 }
        for k in 1..<6 { for j in 3..<15 { for i in 2..<18 {
            v[i, j, k] = inLesion(i, j) && (2..<4).contains(k) ? 230 : 170
            expected[v.index(i, j, k)] = inLesion(i, j) && (3..<5).contains(k) ? 2 : 1
        } } }
        let model = LiverTumorModel(kind: .cascade, size: n, unet: UNetConfig(inChannels: 1, classes: 1, filters: 1, depth: 0, dropout: 0),
                                    tumorCrop: false, liverContext: 1, tumorContext: 1, seed: 1)
        model.centerTumorInput = true
        GeometryTests.thresholdNet(model.netA, scale: 60, at: 0.5, channel: 1)
        GeometryTests.thresholdNet(model.netB!, scale: 60, at: 0.5, channel: 0)   // centred: 1 at 60 HU above
        let predictor = GeometryTests.exactPredictor(model)
        predictor.batchSize = 2
        let labels = try predictor.segment(v).labels
        #expect(labels.voxels == expected)
    }

    /// A cascade and a joint run with B's context, patches and slice crops train, resume and
    /// load back: B's first convolution reads 3 channels and two runs agree bit for bit.
    @Test(arguments: [ModelKind.cascade, .joint]) func runsWithContextTrainDeterministically(_ kind: ModelKind) throws {
        let data = TinyDataset.tempDir("context")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        var c = TinyDataset.config(kind)
        c.tumorCropFromScan = false; c.standardizeTumorInput = nil; c.centerTumorInput = true
        c.tumorContext = 1; c.tumorInitFromLiver = nil
        let runA = try TrainerTests.trainStraightAndResumed(data: data, config: c)
        let (model, _) = try RunDirectory(runA).loadModel()
        #expect(model.tumorContext == 1 && model.netB?.config.inChannels == 3)
        let (image, _) = try SliceDataset.loadCase(try CaseDiscovery.cases(in: data)[0])
        let out = try Predictor(model: model).segment(image, tumorProbability: true)
        #expect(out.labels.geometry == image.geometry)
    }
}
