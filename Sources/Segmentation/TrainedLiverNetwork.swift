import Foundation
import NeuralNet

/// Network A taken whole from a finished run (`TrainingConfig.liverFrom`), so that the
/// cascade's B trains on it without a liver phase of its own. Why: the liver and the lesions
/// want different amounts of data. B learns from many lesions: 12 extra phantoms with 4–8
/// lesions each let it find 42–46 of the held-out sets' 57 lesions against 31–39. A learns
/// the liver from the demo's 12 phantoms in 20 epochs (held-out Dice 0.959–0.972 over four
/// seeds); on the 24 it needed 40, twice the time, to score 0.964–0.966, and at 20 scored
/// 0.947–0.953 (seed 1; docs/experiments.md, sessions 18 and 19).
enum TrainedLiverNetwork {
    /// The settings that shape A and what it sees; a run can only use an A that agrees on all.
    static func differences(_ source: TrainingConfig, _ c: TrainingConfig) -> [String] {
        func differ<T: Equatable>(_ name: String, _ a: T, _ b: T) -> String? { a == b ? nil : "\(name) \(a) there, \(b) here" }
        return [
            differ("size", source.size, c.size),
            differ("filters", source.filters, c.filters),
            differ("depth", source.depth, c.depth),
            differ("batch norm", source.batchNorm, c.batchNorm),
            differ("leaky slope", source.leakySlope ?? 0, c.leakySlope ?? 0),
            differ("liver context", source.liverContext ?? 0, c.liverContext ?? 0),
            differ("liver window", "\(source.liverWindow.low)…\(source.liverWindow.high)", "\(c.liverWindow.low)…\(c.liverWindow.high)"),
            differ("body crop", source.bodyCrop ?? false, c.bodyCrop ?? false),
        ].compactMap { $0 }
    }

    /// The source run's manifest and its weights file, once it is known to hold a trained A
    /// that runs with configuration `c` can use, and the weights are read.
    static func load(_ path: String, for c: TrainingConfig) throws -> (manifest: ModelManifest, weights: SafeTensors.Contents, file: URL) {
        let run = RunDirectory(URL(fileURLWithPath: path))
        let m = try run.readManifest()
        guard m.training.kind != .oneStep else {
            throw SegmentationError("\(path) holds a one-step model, which has no liver network to take; give a cascade or joint run")
        }
        guard m.finished else {
            throw SegmentationError("\(path) has not finished training (\(m.epochsDone) of \(m.totalEpochs) epochs); finish it with --resume \(path) first")
        }
        let differences = differences(m.training, c)
        guard differences.isEmpty else {
            throw SegmentationError("the liver network of \(path) was trained with other settings than this run's (\(differences.joined(separator: ", "))); give the preset and options it was trained with")
        }
        let file = try run.weights()
        return (m, try SafeTensors.read(file), file)
    }

    /// Puts the source's A (`load`) into `model`, whose other tensors it leaves as they are.
    static func assign(_ weights: SafeTensors.Contents, from file: URL, to model: LiverTumorModel) throws {
        try Checkpoint.assign(weights.tensors, to: ModelVariables(model, onlyLiverNet: true), path: file.path, ignoringPrefixes: ["B."] + RunDirectory.trainingStatePrefixes)
    }
}
