import Foundation
import NeuralNet
import Testing
@testable import Segmentation

/// The cascade's network A taken whole from a finished run (`--liver-from`), B trained alone.
@Suite struct LiverFromTests {
    static func tensors(_ url: URL, prefix: String) throws -> [String: [Float]] {
        try SafeTensors.read(url).tensors.filter { $0.key.hasPrefix(prefix) }.mapValues(\.scalars)
    }

    static func bytes(_ run: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: run.path) { out[f] = try Data(contentsOf: run.appendingPathComponent(f)) }
        return out
    }

    /// The new run's A is the source's bit for bit, with its liver threshold; only B's phases
    /// run; B learned (its weights differ from the source's); the source run is left as it was.
    @Test func aIsTakenWholeAndOnlyBTrains() throws {
        let data = TinyDataset.tempDir("liverfrom")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        let source = data.appendingPathComponent("source"), run = data.appendingPathComponent("run")
        let c = TinyDataset.config(.cascade)
        try Trainer.start(data: data, config: c, runDir: source, quiet: true).train()
        let before = try Self.bytes(source)

        var d = c
        d.liverFrom = source.path
        d.seed = 6
        let t = try Trainer.start(data: data, config: d, runDir: run, quiet: true)
        try t.train()
        let after = try Self.bytes(source)
        #expect(after == before)
        let sourceManifest = try RunDirectory(source).readManifest(), m = t.manifest
        #expect(m.finished && m.totalEpochs == c.stage1Epochs + c.stage2Epochs)
        #expect(!t.history.contains { $0.phase == "liver" } && t.history.count == m.totalEpochs)
        #expect(m.liverThreshold == sourceManifest.liverThreshold)
        let (sourceA, runA) = (try Self.tensors(RunDirectory(source).best, prefix: "A."), try Self.tensors(RunDirectory(run).best, prefix: "A."))
        let (sourceB, runB) = (try Self.tensors(RunDirectory(source).best, prefix: "B."), try Self.tensors(RunDirectory(run).best, prefix: "B."))
        #expect(!sourceA.isEmpty && sourceA == runA)
        #expect(!sourceB.isEmpty && sourceB.keys == runB.keys && sourceB != runB)
    }

    /// Stopped in B's first epoch and resumed, the run ends with the straight run's weights.
    @Test func aRunWithATakenResumesToTheSameWeights() throws {
        let data = TinyDataset.tempDir("liverfromresume")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        let source = data.appendingPathComponent("source")
        var c = TinyDataset.config(.cascade)
        try Trainer.start(data: data, config: c, runDir: source, quiet: true).train()
        c.liverFrom = source.path
        _ = try TrainerTests.trainStraightAndResumed(data: data, config: c, stopAfter: 1)
    }

    /// Sources that hold no usable A, and options that cannot go with one, are refused with
    /// the reason, before the new run directory is made; a run whose copy of A is missing stops
    /// before B trains.
    @Test func unusableSourcesAreRefusedBeforeAnythingIsWritten() throws {
        let data = TinyDataset.tempDir("liverfromrefused")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        let c = TinyDataset.config(.cascade)
        let finished = data.appendingPathComponent("finished"), unfinished = data.appendingPathComponent("unfinished")
        let oneStep = data.appendingPathComponent("onestep")
        try Trainer.start(data: data, config: c, runDir: finished, quiet: true).train()
        let stopped = try Trainer.start(data: data, config: c, runDir: unfinished, quiet: true)
        stopped.stopAfterEpochs = 1
        #expect(throws: TrainingInterruption.self) { try stopped.train() }
        var o = TinyDataset.config(.oneStep)
        o.stage1Epochs = 1; o.stage2Epochs = 0
        try Trainer.start(data: data, config: o, runDir: oneStep, quiet: true).train()

        func refusal(_ source: URL, _ change: (inout TrainingConfig) -> Void = { _ in }) -> String {
            var d = c
            d.liverFrom = source.path
            change(&d)
            let run = data.appendingPathComponent("run")
            do {
                _ = try Trainer.start(data: data, config: d, runDir: run, quiet: true)
                return "accepted"
            } catch {
                return FileManager.default.fileExists(atPath: run.path) ? "run directory made: \(error)" : "\(error)"
            }
        }
        #expect(refusal(data.appendingPathComponent("nowhere")).contains("not a LiverSeg run directory"))
        #expect(refusal(unfinished).contains("has not finished training (1 of"))
        #expect(refusal(oneStep).contains("one-step model"))
        let size = refusal(finished) { $0.size = 64 }
        #expect(size.contains("size 32 there, 64 here"), "\(size)")
        #expect(refusal(finished) { $0.liverContext = 0; $0.tumorContext = 0 }.contains("liver context 1 there, 0 here"))
        #expect(refusal(finished) { $0.kind = .joint }.contains("trains its own"))
        #expect(refusal(finished) { $0.seed = 9 } == "accepted")
        // The accepted run without the copy of A (a write that failed): B is not trained on an untrained A.
        let run = RunDirectory(data.appendingPathComponent("run"))
        try FileManager.default.removeItem(at: run.bestLiver)
        do {
            try Trainer.resume(runDir: run.url, quiet: true).train()
            Issue.record("a run without its liver network trained B")
        } catch {
            #expect("\(error)".contains("best_liver.safetensors is missing"), "\(error)")
        }
    }
}
