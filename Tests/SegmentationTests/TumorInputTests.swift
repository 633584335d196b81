import Foundation
import Support
import Tensor
import Testing
@testable import Segmentation

/// B's training patches and its standardized input.
@Suite struct TumorInputTests {
    /// Two 8×8 samples: the first with a 2×2 lesion at (5, 6), the second without tumor and
    /// its mask a 3×3 block at the top left. Every pixel value is its own flat index.
    static func samples() -> (hu: Tensor, mask: Tensor, tumor: Tensor) {
        let s = 8, p = s * s
        let hu = Tensor(shape: [2, 1, s, s], values: (0..<(2 * p)).map(Float.init))
        var m = [Float](repeating: 0, count: 2 * p), t = [Float](repeating: 0, count: 2 * p)
        for y in 2..<8 { for x in 2..<8 { m[y * s + x] = 1 } }
        for (x, y) in [(5, 6), (6, 6), (5, 7), (6, 7)] { t[y * s + x] = 1 }
        for y in 0..<3 { for x in 0..<3 { m[p + y * s + x] = 1 } }
        return (hu, Tensor(shape: [2, 1, s, s], values: m), Tensor(shape: [2, 1, s, s], values: t))
    }

    @Test func patchesAreWindowsOfTheSampleAndLesionPatchesHoldTheLesion() {
        let (hu, mask, tumor) = Self.samples()
        var lesionPatches = 0
        for seed in 0..<40 as Range<UInt64> {
            var rng = SeededRNG(seed: seed)
            let out = TumorPatches.cut([hu, mask, tumor], tumor: tumor, mask: mask, patch: 4, rng: &rng)
            #expect(out.map(\.shape) == Array(repeating: [2, 1, 4, 4], count: 3))
            for n in 0..<2 {
                // The HU patch names its own window: a 4×4 block of consecutive rows, inside the slice.
                let v = (0..<16).map { Int(out[0][flat: n * 16 + $0]) - n * 64 }
                let (x0, y0) = (v[0] % 8, v[0] / 8)
                #expect(x0 <= 4 && y0 <= 4)
                #expect(v == (0..<16).map { (y0 + $0 / 4) * 8 + x0 + $0 % 4 })
                for j in 0..<16 {    // mask and tumor cut from the same window
                    #expect(out[1][flat: n * 16 + j] == mask[flat: n * 64 + v[j]])
                    #expect(out[2][flat: n * 16 + j] == tumor[flat: n * 64 + v[j]])
                }
                if n == 1 { #expect(x0 <= 3 && y0 <= 3) }   // centred (± jitter) on the 3×3 mask, clamped
            }
            if (0..<16).contains(where: { out[2][flat: $0] > 0 }) { lesionPatches += 1 }
            var again = SeededRNG(seed: seed)
            #expect(TumorPatches.cut([hu], tumor: tumor, mask: mask, patch: 4, rng: &again)[0].scalars == out[0].scalars)
        }
        // Half the draws aim at the lesion (always caught: jitter 1 < half a patch); the liver
        // draws catch it a quarter of the time or less. Expected ≈ 0.5 + 0.5·0.2 of 40.
        #expect(lesionPatches >= 16 && lesionPatches <= 34)
    }

    @Test func standardizationHasTheMeanAndSpreadComputedByHand() throws {
        let z = try #require(Standardization.of([1, 2, 3, 6] as [Float]))
        #expect(z.mean == 3)
        #expect(abs(z.std - Float(3.5).squareRoot()) < 1e-6)          // (4 + 1 + 0 + 9) / 4
        #expect(abs(z(6) - 3 / Float(3.5).squareRoot()) < 1e-6)
        #expect(Standardization.of([] as [Float]) == nil && Standardization.of([2, 2] as [Float]) == nil)
    }

    @Test func bSeesTheStandardizedWindowedMaskedSlice() {
        var c = TrainingConfig()
        c.size = 16; c.filters = 2; c.depth = 2
        c.centerTumorInput = false                                 // the seed's w(M·X)
        let model = LiverTumorModel(c)
        let hu = Tensor(shape: [1, 1, 1, 3], values: [100, 250, -400]), mask = Tensor(shape: [1, 1, 1, 3], values: [1, 1, 0])
        #expect(model.tumorInput(hu, mask: mask).scalars == [0.5, 1, 0])        // w = (h + 50) / 300, 0 outside M
        model.tumorStandardization = Standardization(mean: 0.5, std: 0.25)
        #expect(model.tumorInput(hu, mask: mask).scalars == [0, 2, 0])       // outside M: the liver's mean
    }

    /// By hand, window −50…250 (w = (h + 50) / 300), gain 5. Slice 0: w inside M = 0.5, 0.6,
    /// 0.4 → median 0.5 → 0, 0.5, −0.5, and 0 outside. Slice 1: w = 1/6, 1/2, 5/6, 1 → upper
    /// median 5/6 → −10/3, −5/3, 0, 5/6. Slice 2: no mask → all 0.
    @Test func centredInputIsTheGainTimesTheDistanceFromTheSlicesLiverMedian() throws {
        var c = TrainingConfig()
        c.size = 16; c.filters = 2; c.depth = 2
        #expect(c.centerTumorInput == true)                       // the default for new runs
        let model = LiverTumorModel(c)
        #expect(model.centerTumorInput)
        let hu = Tensor(shape: [3, 1, 2, 2], values: [100, 130, 70, 400, 0, 100, 200, 250, 100, 100, 100, 100])
        let mask = Tensor(shape: [3, 1, 2, 2], values: [1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0])
        let expected: [Float] = [0, 0.5, -0.5, 0, -10.0 / 3, -5.0 / 3, 0, 5.0 / 6, 0, 0, 0, 0]
        let got = model.tumorInput(hu, mask: mask).scalars
        for (g, e) in zip(got, expected) { #expect(abs(g - e) < 1e-5, "\(got) vs \(expected)") }
        // A run saved before the option (no key in model.json) keeps the seed's input.
        let old = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(TrainingConfig()).replacingKey("centerTumorInput"))
        #expect(old.centerTumorInput == nil && !LiverTumorModel(old).centerTumorInput)
        var both = c
        both.standardizeTumorInput = true
        #expect(throws: SegmentationError.self) { try both.validate() }
    }

    /// The same slices as above with the mask channel: channel 0 keeps what lies outside M,
    /// centred on the same median (slice 0's 400 HU: w = 1.5 clipped to 1 → 5 · (1 − 0.5) = 2.5;
    /// slice 2, no mask: median 0 → 5 · 0.5 = 2.5 everywhere), channel 1 is M itself.
    @Test func maskChannelKeepsTheViewOutsideTheMaskAndAddsTheMask() throws {
        var c = TrainingConfig()
        c.size = 16; c.filters = 2; c.depth = 2
        c.tumorMaskChannel = true
        try c.validate()
        let model = LiverTumorModel(c)
        #expect(model.netB?.config.inChannels == 2)
        let hu = Tensor(shape: [3, 1, 2, 2], values: [100, 130, 70, 400, 0, 100, 200, 250, 100, 100, 100, 100])
        let mask = Tensor(shape: [3, 1, 2, 2], values: [1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0])
        let x = model.tumorInput(hu, mask: mask)
        #expect(x.shape == [3, 2, 2, 2])
        let expected: [Float] = [0, 0.5, -0.5, 2.5, 1, 1, 1, 0,
                                 -10.0 / 3, -5.0 / 3, 0, 5.0 / 6, 1, 1, 1, 1,
                                 2.5, 2.5, 2.5, 2.5, 0, 0, 0, 0]
        for (g, e) in zip(x.scalars, expected) { #expect(abs(g - e) < 1e-5, "\(x.scalars) vs \(expected)") }
        var uncentred = c
        uncentred.centerTumorInput = false
        #expect(throws: SegmentationError.self) { try uncentred.validate() }
    }
}

extension Data {
    /// This JSON object without `key` (a model.json written before the key existed).
    func replacingKey(_ key: String) throws -> Data {
        var o = try #require(try JSONSerialization.jsonObject(with: self) as? [String: Any])
        #expect(o.removeValue(forKey: key) != nil)
        return try JSONSerialization.data(withJSONObject: o)
    }
}
