import Foundation
import NeuralNet
import Testing
@testable import Segmentation

/// B's weights averaged over the epochs of its last phase (`--average-tumor-weights`).
@Suite struct TumorWeightAveragingTests {
    /// A tiny cascade whose last phase (B's stage 2) has 3 epochs, after 1 liver and 2 tumor epochs.
    static func config() -> TrainingConfig {
        var c = TinyDataset.config(.cascade)
        c.stage2Epochs = 3
        c.averageTumorWeights = true
        return c
    }

    @Test func onlyTheCascadeAveragesB() throws {
        for kind in [ModelKind.oneStep, .joint] {
            var c = Self.config()
            c.kind = kind
            #expect(throws: SegmentationError.self) { try c.validate() }
        }
        try Self.config().validate()
    }

    /// Run one epoch at a time, reading B's weights after each epoch of the last phase: the
    /// kept model's B is the mean of the three, by hand; A is untouched; and the interrupted
    /// run ends with the uninterrupted one's weights.
    @Test func theKeptBIsTheMeanOfItsLastPhasesEpochs() throws {
        let data = TinyDataset.tempDir("swa")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        let c = Self.config()
        let stepped = data.appendingPathComponent("stepped"), straight = data.appendingPathComponent("straight")
        var perEpoch: [[String: [Float]]] = []
        var t = try Trainer.start(data: data, config: c, runDir: stepped, quiet: true)
        while true {
            t.stopAfterEpochs = 1
            do { try t.train(); break } catch is TrainingInterruption {}
            if try RunDirectory(stepped).readManifest().epochsDone > 3 { perEpoch.append(try TrainerTests.weights(stepped)) }
            t = try Trainer.resume(runDir: stepped, quiet: true)
        }
        perEpoch.append(try TrainerTests.weights(stepped))
        #expect(perEpoch.count == 3)
        let manifest = try RunDirectory(stepped).readManifest()
        let k = try #require(manifest.bestEpoch) - 3           // epochs of the last phase averaged
        #expect(k == 3)                 // the whole phase, whatever the validation scores
        let best = try TrainerTests.weights(stepped, file: "best.safetensors")
        var bNames = 0
        for (name, values) in best {
            if name.hasPrefix("B.") {
                bNames += 1
                for (i, v) in values.enumerated() {
                    let mean = perEpoch.prefix(k).reduce(Float(0)) { $0 + $1[name]![i] } / Float(k)
                    #expect(abs(v - mean) <= 1e-6 * max(1, abs(mean)), "\(name)[\(i)]")
                    if abs(v - mean) > 1e-6 * max(1, abs(mean)) { break }
                }
            } else {
                #expect(values == perEpoch[0][name], "A does not train in B's phases: \(name)")
            }
        }
        #expect(bNames > 0)
        // B's last weights differ from the mean: the average is not the last epoch.
        #expect(best.keys.filter { $0.hasPrefix("B.") }.contains { best[$0]! != perEpoch[k - 1][$0]! })
        try Trainer.start(data: data, config: c, runDir: straight, quiet: true).train()
        #expect(try TrainerTests.weights(straight, file: "best.safetensors") == best)
        #expect(try TrainerTests.weights(straight) == TrainerTests.weights(stepped))
    }

    /// A run stopped inside the averaged phase, before a best checkpoint exists, loads from its
    /// last checkpoint, whose running average (`avg.`) is training state, not the model.
    @Test func anUnfinishedAveragingRunLoadsFromItsLastCheckpoint() throws {
        let data = TinyDataset.tempDir("swa-last")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        let runDir = data.appendingPathComponent("run")
        let t = try Trainer.start(data: data, config: Self.config(), runDir: runDir, quiet: true)
        t.stopAfterEpochs = 4           // 1 liver, 2 tumor, 1 of the averaged phase
        #expect(throws: TrainingInterruption.self) { try t.train() }
        let last = try TrainerTests.weights(runDir)
        #expect(last.keys.contains { $0.hasPrefix("avg.") })
        try FileManager.default.removeItem(at: runDir.appendingPathComponent("best.safetensors"))
        let (model, _) = try RunDirectory(runDir).loadModel()
        let loaded = Dictionary(uniqueKeysWithValues: ModelVariables(model).namedVariables.map { ($0.0, $0.1.value.scalars) })
        #expect(loaded == last.filter { !$0.key.hasPrefix("avg.") && !$0.key.hasPrefix("opt.") })
    }
}
