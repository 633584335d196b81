import Foundation
import Support
import Testing
@testable import Segmentation

/// Which slices an epoch trains on: a cap, and the share drawn from slices with tumor.
@Suite struct EpochOrderTests {
    let tumorSlices: Set<Int> = [2, 5, 9]

    @Test func shareOfTumorSlicesIsExactAndTheRestAreDistinctOthers() {
        var rng = SeededRNG(seed: 3)
        let order = Trainer.epochOrder(Array(0..<20), cap: 10, tumorShare: 0.6, hasTumor: { tumorSlices.contains($0) }, rng: &rng)
        #expect(order.count == 10)
        let tumor = order.filter { tumorSlices.contains($0) }, other = order.filter { !tumorSlices.contains($0) }
        #expect(tumor.count == 6)                       // 3 tumor slices, each twice
        #expect(Set(tumor) == tumorSlices)
        #expect(other.count == 4 && Set(other).count == 4)
    }

    @Test func withoutShareItIsAShuffledPrefixAndDeterministic() {
        var a = SeededRNG(seed: 5), b = SeededRNG(seed: 5)
        let x = Trainer.epochOrder(Array(0..<20), cap: 7, tumorShare: nil, hasTumor: { tumorSlices.contains($0) }, rng: &a)
        let y = Trainer.epochOrder(Array(0..<20), cap: 7, tumorShare: nil, hasTumor: { _ in false }, rng: &b)
        #expect(x == y && x.count == 7 && Set(x).count == 7)
        var c = SeededRNG(seed: 5)
        let all = Trainer.epochOrder(Array(0..<20), cap: nil, tumorShare: nil, hasTumor: { _ in false }, rng: &c)
        #expect(Array(all.prefix(7)) == x && Set(all) == Set(0..<20))
    }

    @Test func noTumorSlicesLeavesTheOrderAlone() {
        var a = SeededRNG(seed: 9), b = SeededRNG(seed: 9)
        let x = Trainer.epochOrder(Array(0..<12), cap: 6, tumorShare: 0.5, hasTumor: { _ in false }, rng: &a)
        let y = Trainer.epochOrder(Array(0..<12), cap: 6, tumorShare: nil, hasTumor: { _ in false }, rng: &b)
        #expect(x == y)
    }
}

/// A run saved before B could crop from the scan keeps cutting from the model-size slice.
@Suite struct TrainingConfigCompatibilityTests {
    @Test func manifestWithoutTheScanCropKeyLoadsAsSliceCrops() throws {
        var c = TrainingConfig()
        c.size = 32; c.filters = 2; c.depth = 2
        c.tumorCropFromScan = true
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as! [String: Any]
        #expect(json["tumorCropFromScan"] as? Bool == true)
        #expect(LiverTumorModel(c).tumorCropFromScan)
        json.removeValue(forKey: "tumorCropFromScan")
        let old = try JSONDecoder().decode(TrainingConfig.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.tumorCropFromScan == nil)
        #expect(!LiverTumorModel(old).tumorCropFromScan)
        #expect(LiverTumorModel(old).tumorCrop)
    }
}

/// `tumorInitFromLiver`: when B's phase begins, B holds A's trained weights except its head.
@Suite struct TumorInitFromLiverTests {
    /// With `maskChannel`, B's first convolution has an extra input channel (the liver mask),
    /// which A never saw: it starts at zero weight. With `context` B reads A's 3 slices.
    @Test(arguments: [(false, false), (true, false), (true, true)]) func bStartsFromATrainedWeights(maskChannel: Bool, context: Bool) throws {
        let data = TinyDataset.tempDir("init")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        var c = TinyDataset.config(.cascade)
        if maskChannel { c.tumorMaskChannel = true; c.standardizeTumorInput = nil; c.centerTumorInput = true }
        if context { c.tumorContext = 1; c.tumorCropFromScan = false }
        let t = try Trainer.start(data: data, config: c, runDir: data.appendingPathComponent("run"), quiet: true)
        t.stopAfterEpochs = 1
        #expect(throws: TrainingInterruption.self) { try t.train() }
        let a = Dictionary(uniqueKeysWithValues: t.model.netA.namedVariables(prefix: "").map { ($0.0, $0.1.value.scalars) })
        let before = t.model.netB!.namedVariables(prefix: "").map { ($0.0, $0.1.value.scalars) }
        #expect(before.contains { a[$0.0] != $0.1 })             // random B differs from trained A
        try t.prepareTumorData()
        for (name, v) in t.model.netB!.namedVariables(prefix: "") {
            if name.hasPrefix("head") {
                #expect(v.value.scalars == before.first { $0.0 == name }!.1, "\(name)")
            } else if v.value.shape != t.model.netA.namedVariables(prefix: "").first(where: { $0.0 == name })!.1.value.shape {
                // A's first convolution reads the slice and its 2 neighbours. B's reads the
                // slice alone and gets A's weights summed over the 3 input channels, or with
                // context the same 3 channels and A's weights as they are.
                let w = t.model.netA.namedVariables(prefix: "").first { $0.0 == name }!.1.value
                let slices = context ? 3 : 1
                #expect(w.shape[1] == 3 && v.value.shape == [w.shape[0], slices + (maskChannel ? 1 : 0), w.shape[2], w.shape[3]], "\(name)")
                for o in 0..<w.shape[0] { for y in 0..<w.shape[2] { for x in 0..<w.shape[3] {
                    if context {
                        for i in 0..<3 { #expect(v.value[o, i, y, x] == w[o, i, y, x]) }
                    } else {
                        #expect(v.value[o, 0, y, x] == w[o, 0, y, x] + w[o, 1, y, x] + w[o, 2, y, x])
                    }
                    if maskChannel { #expect(v.value[o, slices, y, x] == 0) }
                } } }
            } else {
                #expect(v.value.scalars == a[name], "\(name)")
            }
        }
    }
}
