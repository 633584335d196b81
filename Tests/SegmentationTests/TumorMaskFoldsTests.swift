import Foundation
import NeuralNet
import Tensor
import Testing
@testable import Segmentation

/// B learning on liver masks from networks A that never saw the case (`--tumor-mask-folds`).
@Suite struct TumorMaskFoldsTests {
    static func config() -> TrainingConfig {
        var c = TinyDataset.config(.cascade)
        c.tumorCropFromScan = false; c.tumorPatch = nil
        c.tumorMaskFolds = 2
        return c
    }

    /// A run of `config` in `data`'s subfolder `run`, stopped after the liver phase, with B's
    /// training masks made.
    static func masksAfterLiverPhase(data: URL, config c: TrainingConfig, run: String) throws -> Trainer {
        let t = try Trainer.start(data: data, config: c, runDir: data.appendingPathComponent(run), quiet: true)
        t.stopAfterEpochs = c.liverEpochs!
        #expect(throws: TrainingInterruption.self) { try t.train() }
        try t.prepareTumorData()
        return t
    }

    /// Expects each of A's tensors in `t`'s model to equal its namesake in `tensors`.
    static func expectA(of t: Trainer, equals tensors: [String: Tensor], _ what: String) {
        for (name, v) in t.model.netA.namedVariables(prefix: "A") {
            let same = tensors[name]?.scalars == v.value.scalars
            #expect(same, "\(name) differs from \(what)")
        }
    }

    @Test func foldsThatCannotWorkAreRefused() throws {
        var c = Self.config()
        try c.validate()
        c.tumorMaskFolds = -1
        #expect(throws: SegmentationError.self) { try c.validate() }
        c.tumorMaskFolds = 2; c.tumorCropFromScan = true      // scan crops take A's masks their own way
        #expect(throws: SegmentationError.self) { try c.validate() }
        c.tumorCropFromScan = false; c.kind = .joint
        #expect(throws: SegmentationError.self) { try c.validate() }
        c.tumorMaskFolds = 1                                   // 0 and 1: off, for any model
        try c.validate()
    }

    /// After the liver phase, B's masks come from the fold networks: they differ from A's own
    /// masks of the same slices, and A (the network `segment` uses) is the liver phase's best
    /// epoch, untouched by the fold networks' training.
    @Test func bsMasksComeFromOtherNetworksAndALeavesUntouched() throws {
        let data = TinyDataset.tempDir("maskfolds")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        let t = try Self.masksAfterLiverPhase(data: data, config: Self.config(), run: "run")
        #expect(t.trainCases.count == 2)
        let folded = try #require(t.trainSet.predictedLiver)
        let best = try SafeTensors.read(t.run.bestLiver).tensors
        #expect(t.model.netA.namedVariables(prefix: "A").count == best.count)
        Self.expectA(of: t, equals: best, "the best liver epoch's")
        t.predictMasks(t.trainSet)
        let own = try #require(t.trainSet.predictedLiver)
        #expect(folded.count == own.count && folded != own)
    }

    /// A run with fold masks trains, and stopped in B's first epoch then resumed (the fold
    /// networks trained again) ends with the same weights as the run trained straight through.
    @Test func aRunWithFoldMasksResumesToTheSameWeights() throws {
        let data = TinyDataset.tempDir("maskfoldsresume")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        let c = Self.config()
        _ = try TrainerTests.trainStraightAndResumed(data: data, config: c, stopAfter: c.liverEpochs! + 1)
    }

    /// With `--liver-from`, the fold networks still train, as in a run that trains its own A
    /// (the liver phase's epochs, on this run's cases): B's masks are that run's fold masks bit
    /// for bit, not the copied A's own masks, and A stays the source's.
    @Test func foldMasksWithALiverNetworkFromAnotherRun() throws {
        let data = TinyDataset.tempDir("maskfoldsliverfrom")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        let source = data.appendingPathComponent("source")
        try Trainer.start(data: data, config: TinyDataset.config(.cascade), runDir: source, quiet: true).train()
        let ownA = try Self.masksAfterLiverPhase(data: data, config: Self.config(), run: "own")
        var c = Self.config()
        c.liverFrom = source.path
        try c.validate()
        let t = try Trainer.start(data: data, config: c, runDir: data.appendingPathComponent("run"), quiet: true)
        try t.prepareTumorData()
        let folded = try #require(t.trainSet.predictedLiver)
        let sameAsOwnRun = folded == ownA.trainSet.predictedLiver
        #expect(sameAsOwnRun, "the fold networks did not train as in the run with its own A")
        #expect(!t.model.netA.namedVariables(prefix: "A").isEmpty)
        Self.expectA(of: t, equals: try SafeTensors.read(RunDirectory(source).weights()).tensors, "the source's")
        t.predictMasks(t.trainSet)
        let differsFromA = t.trainSet.predictedLiver.map { $0 != folded } == true
        #expect(differsFromA, "B's masks are the copied A's own")
    }
}
