import Foundation
import NeuralNet
import Support

/// What a run directory holds about its model (model.json): enough to rebuild the networks,
/// preprocess like training did, and resume training.
public struct ModelManifest: Codable, Equatable, Sendable {
    public var format = "liverseg-model"
    public var version = 1
    public var training: TrainingConfig
    /// Dataset folder the run was trained on.
    public var data: String
    public var trainCases: [String]
    public var validationCases: [String]
    public var liverThreshold: Float = 0.5
    public var tumorThreshold: Float = 0.5
    /// "default", "roc-max-dice" (the ROC vertex with the best Dice on the validation slices,
    /// seed sec. 3.2.1), or "roc-max-dice, tumor by case Dice" (the tumor's then moved by
    /// `TumorOperatingPoint`; the ROC's in `rocTumorThreshold`).
    public var thresholdSource = "default"
    /// Tumor components under this volume (mL) become liver (`TumorOperatingPoint`; nil for
    /// runs saved before it was chosen: all kept).
    public var minLesionML: Double?
    /// Found lesions reach out to where B's probability is at least this (hysteresis,
    /// `PostProcessing.lesions`; chosen by `TumorOperatingPoint`; nil: the tumor threshold).
    public var tumorExtentThreshold: Float?
    /// The tumor threshold of the validation ROC, when `tumorThreshold` was then moved by
    /// `TumorOperatingPoint` (nil: it was not).
    public var rocTumorThreshold: Float?
    /// What B's input is standardized by (`TrainingConfig.standardizeTumorInput`).
    public var tumorStandardization: Standardization?
    public var epochsDone = 0
    public var totalEpochs = 0
    public var finished = false
    public var bestEpoch: Int?
    public var bestScore: Double?
    /// The cascade's liver phase: the epoch whose A network B is trained on, and its validation Dice.
    public var bestLiverEpoch: Int?
    public var bestLiverDice: Double?
    public var trainingSeconds: Double = 0
}

/// File layout of a run directory.
public struct RunDirectory: Sendable {
    public let url: URL
    public init(_ url: URL) { self.url = url }

    public var manifest: URL { url.appendingPathComponent("model.json") }
    public var last: URL { url.appendingPathComponent("last.safetensors") }
    public var best: URL { url.appendingPathComponent("best.safetensors") }
    /// The cascade's network A at its best validation liver Dice (B is trained on top of it).
    public var bestLiver: URL { url.appendingPathComponent("best_liver.safetensors") }
    public var history: URL { url.appendingPathComponent("history.csv") }
    public var curve: URL { url.appendingPathComponent("training_curve.png") }
    public var historyJSON: URL { url.appendingPathComponent("training_history.json") }

    public func readManifest() throws -> ModelManifest {
        guard FileManager.default.fileExists(atPath: manifest.path) else {
            throw SegmentationError("\(url.path): not a LiverSeg run directory (model.json is missing)")
        }
        do {
            return try JSONDecoder().decode(ModelManifest.self, from: Data(contentsOf: manifest))
        } catch {
            throw SegmentationError("\(manifest.path): cannot read the model description (\(error))")
        }
    }

    public func write(_ m: ModelManifest) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(enc.encode(m), to: manifest)
    }

    /// Prefixes of checkpoint tensors that hold training state, not the model: the optimizer's
    /// (`opt.`) and B's running average (`avg.`, `--average-tumor-weights`). Loading a model
    /// skips them, so an unfinished run's last checkpoint loads like a best one.
    public static let trainingStatePrefixes = ["opt.", "avg."]

    /// The trained model's weights: the best if present, else the last.
    public func weights() throws -> URL {
        let weights = FileManager.default.fileExists(atPath: best.path) ? best : last
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw SegmentationError("\(url.path): no weights (best.safetensors or last.safetensors); has training run?")
        }
        return weights
    }

    /// The trained model with its thresholds (`weights()`).
    public func loadModel() throws -> (LiverTumorModel, ModelManifest) {
        let m = try readManifest()
        let t = m.training
        let model = LiverTumorModel(t)
        let weights = try weights()
        let contents = try SafeTensors.read(weights)
        try Checkpoint.assign(contents.tensors, to: ModelVariables(model), path: weights.path, ignoringPrefixes: Self.trainingStatePrefixes)
        model.liverThreshold = m.liverThreshold
        model.tumorThreshold = m.tumorThreshold
        model.minLesionML = m.minLesionML ?? 0
        model.tumorExtentThreshold = m.tumorExtentThreshold
        model.tumorStandardization = m.tumorStandardization
        return (model, m)
    }
}

/// Adapts a two-network model to `Module` for checkpointing.
final class ModelVariables: Module {
    let model: LiverTumorModel
    let onlyLiverNet: Bool
    /// All of the model's tensors, or only network A's (`onlyLiverNet`).
    init(_ model: LiverTumorModel, onlyLiverNet: Bool = false) { self.model = model; self.onlyLiverNet = onlyLiverNet }
    func namedVariables(prefix: String) -> [(String, Variable)] {
        onlyLiverNet ? model.netA.namedVariables(prefix: "A") : model.namedVariables
    }
}
