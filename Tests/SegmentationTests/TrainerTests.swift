import Foundation
import NeuralNet
import Testing
@testable import Segmentation

@Suite(.serialized) struct TrainerTests {
    static func weights(_ run: URL, file: String = "last.safetensors") throws -> [String: [Float]] {
        try SafeTensors.read(run.appendingPathComponent(file)).tensors.mapValues(\.scalars)
    }

    /// Trains `config` on `data` straight through (run "a") and stopped after `stopAfter` epochs
    /// then resumed (run "b"), and expects both to end with the same weights. Returns run "a".
    static func trainStraightAndResumed(data: URL, config: TrainingConfig, stopAfter: Int = 1) throws -> URL {
        let runA = data.appendingPathComponent("a"), runB = data.appendingPathComponent("b")
        try Trainer.start(data: data, config: config, runDir: runA, quiet: true).train()
        let t = try Trainer.start(data: data, config: config, runDir: runB, quiet: true)
        t.stopAfterEpochs = stopAfter
        #expect(throws: TrainingInterruption.self) { try t.train() }
        try Trainer.resume(runDir: runB, quiet: true).train()
        #expect(try weights(runA) == weights(runB))
        return runA
    }

    /// An interrupted run resumed from its checkpoint ends with exactly the weights of an
    /// uninterrupted one (same seed), and two uninterrupted runs agree bit for bit. F = 4 trains
    /// layer by layer; F = 16 fills oneDNN's 16-wide blocks, so network A trains as a compiled
    /// training graph (`CompiledTrainingGraph`).
    @Test(arguments: [ModelKind.cascade, .oneStep, .joint], [4, 16])
    func resumeAfterInterruptionMatchesUninterruptedRun(_ kind: ModelKind, filters: Int) throws {
        let data = TinyDataset.tempDir("data")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        var c = TinyDataset.config(kind)
        c.filters = filters
        let runA = data.appendingPathComponent("runA"), runB = data.appendingPathComponent("runB"), runC = data.appendingPathComponent("runC")
        let first = try Trainer.start(data: data, config: c, runDir: runA, quiet: true)
        try first.train()
        #expect(first.model.netA.trainingGraphImplementations.isEmpty == (filters == 4))
        try Trainer.start(data: data, config: c, runDir: runC, quiet: true).train()

        let t = try Trainer.start(data: data, config: c, runDir: runB, quiet: true)
        t.stopAfterEpochs = 1
        #expect(throws: TrainingInterruption.self) { try t.train() }
        #expect(try RunDirectory(runB).readManifest().epochsDone == 1)
        let resumed = try Trainer.resume(runDir: runB, quiet: true)
        try resumed.train()

        let a = try Self.weights(runA), b = try Self.weights(runB), cc = try Self.weights(runC)
        #expect(a == b)
        #expect(a == cc)
        let ma = try RunDirectory(runA).readManifest(), mb = try RunDirectory(runB).readManifest()
        #expect(ma.epochsDone == ma.totalEpochs && mb.epochsDone == mb.totalEpochs && mb.finished)
        #expect(ma.liverThreshold == mb.liverThreshold && ma.tumorThreshold == mb.tumorThreshold)
        // The smallest lesion kept is chosen on the validation cases, the same after a resume.
        #expect(ma.minLesionML != nil && ma.minLesionML == mb.minLesionML)
        let history = try String(contentsOf: runB.appendingPathComponent("history.csv"), encoding: .utf8)
        #expect(history.split(separator: "\n").count == 1 + ma.totalEpochs)
        #expect(FileManager.default.fileExists(atPath: runB.appendingPathComponent("training_curve.png").path))
        // The trained model loads back and segments.
        let (model, _) = try RunDirectory(runB).loadModel()
        #expect(model.kind == kind)
        #expect(model.minLesionML == ma.minLesionML)
        // B's input standardization is computed once, stored, and what the loaded model uses.
        #expect(ma.tumorStandardization == mb.tumorStandardization)
        #expect((ma.tumorStandardization != nil) == (kind != .oneStep))
        #expect(model.tumorStandardization == ma.tumorStandardization)
    }

    /// A diverging loss stops training with a clear error and keeps the last good checkpoint.
    @Test func nonFiniteLossStopsCleanlyAndKeepsTheCheckpoint() throws {
        let data = TinyDataset.tempDir("nan")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        let run = data.appendingPathComponent("run")
        let t = try Trainer.start(data: data, config: TinyDataset.config(), runDir: run, quiet: true)
        t.stopAfterEpochs = 1
        #expect(throws: TrainingInterruption.self) { try t.train() }
        let before = try Data(contentsOf: run.appendingPathComponent("last.safetensors"))
        let r = try Trainer.resume(runDir: run, quiet: true)
        r.lossScaleForTesting = .nan
        do {
            try r.train()
            Issue.record("training went on with a NaN loss")
        } catch let e as TrainingInterruption {
            guard case .nonFiniteLoss(let epoch, _, _, let kept) = e else { Issue.record("wrong stop: \(e)"); return }
            #expect(epoch == 1)
            #expect(kept.hasSuffix("last.safetensors"))
            #expect("\(e)".contains("nan") || "\(e)".contains("NaN"))
        }
        #expect(try Data(contentsOf: run.appendingPathComponent("last.safetensors")) == before)
        #expect(try RunDirectory(run).readManifest().epochsDone == 1)
    }

    @Test func badDatasetsAreNamedAndRunDirsAreNotDestroyed() throws {
        let root = TinyDataset.tempDir("bad")
        defer { try? FileManager.default.removeItem(at: root) }
        let c = TinyDataset.config()
        func expectError(_ data: URL, _ fragment: String, _ line: Int = #line) {
            do {
                _ = try Trainer.start(data: data, config: c, runDir: root.appendingPathComponent("run-\(line)"), quiet: true)
                Issue.record("no error for \(fragment)")
            } catch {
                #expect("\(error)".contains(fragment), "\(error)")
            }
        }
        let missing = root.appendingPathComponent("missing")
        try FileManager.default.createDirectory(at: missing, withIntermediateDirectories: true)
        try TinyDataset.write(missing, cases: 3, missingLabelsCase: 1)
        expectError(missing, "volume-1")
        let noLiver = root.appendingPathComponent("noliver")
        try FileManager.default.createDirectory(at: noLiver, withIntermediateDirectories: true)
        try TinyDataset.write(noLiver, cases: 3, noLiverCase: 2)
        expectError(noLiver, "case-2")
        let mismatch = root.appendingPathComponent("mismatch")
        try FileManager.default.createDirectory(at: mismatch, withIntermediateDirectories: true)
        try TinyDataset.write(mismatch, cases: 3, mismatchedCase: 0)
        expectError(mismatch, "case-0")
        expectError(root.appendingPathComponent("nowhere"), "does not exist")

        // A run directory that holds a run is refused, and its files stay as they were.
        let good = root.appendingPathComponent("good")
        try FileManager.default.createDirectory(at: good, withIntermediateDirectories: true)
        try TinyDataset.write(good, cases: 3)
        let run = root.appendingPathComponent("existing")
        let t = try Trainer.start(data: good, config: c, runDir: run, quiet: true)
        t.stopAfterEpochs = 1
        _ = try? t.train()
        let manifest = try Data(contentsOf: run.appendingPathComponent("model.json"))
        let weights = try Data(contentsOf: run.appendingPathComponent("last.safetensors"))
        #expect(throws: SegmentationError.self) { _ = try Trainer.start(data: good, config: c, runDir: run, quiet: true) }
        #expect(try Data(contentsOf: run.appendingPathComponent("model.json")) == manifest)
        #expect(try Data(contentsOf: run.appendingPathComponent("last.safetensors")) == weights)
    }
}
