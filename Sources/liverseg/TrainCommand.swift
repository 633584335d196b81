import ArgumentParser
import Foundation
import NeuralNet
import Segmentation
import Tensor

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the one-step U-Net, the sequential cascade or the jointly trained cascade.",
        discussion: """
        DATA is a folder in LiTS layout (volume-N.nii[.gz] + segmentation-N.nii[.gz]) or nnU-Net layout
        (imagesTr/NAME_0000.nii.gz + labelsTr/NAME.nii.gz). Cases are split into training and validation
        by case. Every epoch writes RUN_DIR/last.safetensors, best.safetensors, history.csv and
        training_curve.png atomically; `--resume RUN_DIR` continues after a crash or kill.
        """)

    @Option(help: "Dataset folder (LiTS or nnU-Net layout).") var data: String?
    @Option(help: "one-step, cascade or joint.") var model: String = "cascade"
    @Option(help: "Run directory to create (must not hold a run).") var out: String?
    @Option(help: "Continue the run in this directory after its last completed epoch.") var resume: String?
    @Option(help: "Starting point: demo, long, full or paper.") var preset: String = "demo"
    @Option(help: "Network input size (square).") var size: Int?
    @Option(help: "Filters of the first U-Net level.") var filters: Int?
    @Option(help: "Number of poolings.") var depth: Int?
    @Option(help: "Dropout in the up path.") var dropout: Float?
    @Flag(help: "Batch normalization.") var batchNorm = false
    @Option(help: "Filters of the first level of the cascade's tumor network (default: --filters).") var tumorFilters: Int?
    @Option(help: "Batch normalization in the cascade's tumor network: true or false (default: as --batch-norm, or the preset's).") var tumorBatchNorm: Bool?
    @Option(help: "Lesions must span at least this many slices (1 keeps all; the operating point is chosen with the rule).") var minLesionSlices: Int?
    @Option(help: "Negative slope of the activations (0: the seed's ReLU; e.g. 0.01: leaky ReLU, as nnU-Net).") var leakySlope: Float?
    @Option(help: "Slices per batch.") var batchSize: Int?
    @Option(help: "Slices per batch of the cascade's liver network (default: --batch-size).") var liverBatchSize: Int?
    @Option(help: "Epochs of stage 1 (plain cross-entropy).") var epochs: Int?
    @Option(help: "Epochs of stage 2 (balanced or α-weighted tumor loss).") var stage2Epochs: Int?
    @Option(help: "Epochs of the liver network (cascade).") var liverEpochs: Int?
    @Option(help: "Learning rate of stage 1.") var lr: Float?
    @Option(help: "Learning rate of stage 2.") var lr2: Float?
    @Option(help: "sgd or adam.") var optimizer: String?
    @Option(help: "Learning rate within each phase: constant (the seed) or poly (falls as (1 − t)^0.9).") var lrSchedule: String?
    @Option(help: "Tumor loss weighting in stage 2: balanced, or α (e.g. 0.02).") var alpha: String?
    @Option(help: "c of the joint loss c·L_A + (1−c)·L_B.") var jointC: Float?
    @Option(help: "At most this many training slices per epoch.") var slicesPerEpoch: Int?
    @Option(help: "Share of cases held out for validation.") var validation: Double?
    @Option(help: "Share of slices without liver, relative to slices with liver.") var nonLiver: Double?
    @Flag(help: "No augmentation.") var noAugment = false
    @Option(name: .customLong("tumor-crop"), help: "What the cascade's tumor network sees: scan (the liver square at the scan's resolution), slice (the liver square of the model-size slice) or whole (the whole slice).")
    var tumorCrop: String?
    @Option(help: "Add this weight × soft Dice to the liver and tumor networks' cross-entropy (cascade, joint).") var diceWeight: Float?
    @Option(help: "The liver network's cross-entropy weighs tumor pixels this many times a liver pixel (cascade, joint; default 1).") var liverTumorWeight: Float?
    @Option(help: "The cascade's tumor network learns on liver masks from liver networks trained on the other training cases, in this many folds (2 or more; default: the liver network's own masks).") var tumorMaskFolds: Int?
    @Option(help: "Share (0…1) of the lesions at the liver's rim whose liver mask is cut open at the lesion in the cascade tumor network's training slices (default 0).") var tumorMaskCuts: Double?
    @Option(help: "Share (0…1) of the cascade tumor network's training slices whose liver mask is grown at random into the tissue next to the liver, which the network learns is not tumor (default 0).") var tumorMaskSpills: Double?
    @Flag(help: "The tumor network's loss gives every lesion piece of a batch the same total weight (inverse-size weighting; cascade, joint).") var tumorLesionWeights = false
    @Option(help: "The tumor network's loss is the focal loss with this γ (cascade, joint; 0: plain cross-entropy, the default).") var tumorFocalGamma: Float?
    @Flag(help: "The cascade's tumor network ends as the mean of its weights after each epoch of its last phase (stochastic weight averaging).") var averageTumorWeights = false
    @Flag(help: "Start the cascade's tumor network from the trained liver network's weights (all but its head).") var tumorInitFromLiver = false
    @Option(help: ArgumentHelp("Take the cascade's liver network, with its liver threshold, from this finished run and train only the tumor network (its preset and the options that shape the liver network must match).", valueName: "run-dir"))
    var liverFrom: String?
    @Option(help: "Share of the tumor network's training slices drawn from slices with tumor (0…1; default: as they come).") var tumorSliceShare: Double?
    @Option(help: "Neighbouring slices on each side that the liver network also sees, as input channels (0: the seed's single slice; default 1).") var liverContext: Int?
    @Option(help: "Neighbouring slices on each side that the tumor network also sees (cascade, joint; at most --liver-context; default 0, the long preset 1).") var tumorContext: Int?
    @Option(help: "Train the tumor network on patches of this side (half centred on a lesion) instead of its whole view.") var tumorPatch: Int?
    @Flag(help: "Standardize the tumor network's input by the training livers' mean and spread (stored with the model).") var standardizeTumorInput = false
    @Flag(inversion: .prefixedNo, help: "Centre the tumor network's input on each slice's liver (default: on; --no-center-tumor-input gives the seed's w(M·X)).")
    var centerTumorInput: Bool?
    @Flag(help: "The tumor network sees its whole view, not zeroed outside the liver mask, with the mask as a second input channel.")
    var tumorMaskChannel = false
    @Flag(inversion: .prefixedNo, help: "The networks see the square around the body instead of the whole slice (default: on; off with --tumor-crop scan).")
    var bodyCrop: Bool?
    @Flag(inversion: .prefixedNo, help: "The liver and tumor networks learn how much of each of their pixels is liver or tumor on the scan, not a 0/1 label (cascade, joint; default: on).")
    var coverageTargets: Bool?
    @Option(help: "Random seed.") var seed: UInt64?
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        try ThreadsOption.apply(threads)
        let trainer: Trainer
        if let resume {
            trainer = try Trainer.resume(runDir: URL(fileURLWithPath: resume))
        } else {
            guard let data, let out else { throw ValidationError("give --data DIR and --out RUN_DIR (or --resume RUN_DIR)") }
            var c = try TrainingConfig.preset(preset)
            guard let kind = ModelKind(rawValue: model) else { throw ValidationError("--model must be one-step, cascade or joint") }
            c.kind = kind
            if let size { c.size = size }
            if let filters { c.filters = filters }
            if let depth { c.depth = depth }
            if let dropout { c.dropout = dropout }
            if batchNorm { c.batchNorm = true }
            if let tumorBatchNorm { c.tumorBatchNorm = tumorBatchNorm }
            if let tumorFilters { c.tumorFilters = tumorFilters }
            if let leakySlope { c.leakySlope = leakySlope }
            if let minLesionSlices { c.minLesionSlices = minLesionSlices }
            if let batchSize { c.batchSize = batchSize }
            if let liverBatchSize { c.liverBatchSize = liverBatchSize }
            if let epochs { c.stage1Epochs = epochs }
            if let stage2Epochs { c.stage2Epochs = stage2Epochs }
            if let liverEpochs { c.liverEpochs = liverEpochs }
            if let lr { c.learningRate1 = lr }
            if let lr2 { c.learningRate2 = lr2 }
            if let optimizer { c.optimizer = optimizer }
            if let lrSchedule { c.learningRateSchedule = lrSchedule }
            if let alpha { c.tumorWeighting = try Self.weighting(alpha) }
            if let jointC { c.jointC = jointC }
            if let slicesPerEpoch { c.maxSlicesPerEpoch = slicesPerEpoch }
            if let validation { c.validationFraction = validation }
            if let nonLiver { c.nonLiverFraction = nonLiver }
            if noAugment { c.augmentation = .none }
            if let tumorCrop {
                switch tumorCrop {
                case "scan": (c.tumorCrop, c.tumorCropFromScan) = (true, true)
                case "slice": (c.tumorCrop, c.tumorCropFromScan) = (true, false)
                case "whole": (c.tumorCrop, c.tumorCropFromScan) = (false, false)
                default: throw ValidationError("--tumor-crop must be scan, slice or whole, got \(tumorCrop)")
                }
            }
            if let diceWeight { c.diceWeight = diceWeight }
            if let liverTumorWeight { c.liverTumorWeight = liverTumorWeight }
            if tumorInitFromLiver { c.tumorInitFromLiver = true }
            if let liverFrom { c.liverFrom = URL(fileURLWithPath: liverFrom).standardizedFileURL.path }
            if averageTumorWeights { c.averageTumorWeights = true }
            if let tumorFocalGamma { c.tumorFocusing = tumorFocalGamma }
            if tumorLesionWeights { c.tumorLesionWeights = true }
            if let tumorMaskFolds { c.tumorMaskFolds = tumorMaskFolds }
            if let tumorMaskCuts { c.tumorMaskCuts = tumorMaskCuts }
            if let tumorMaskSpills { c.tumorMaskSpills = tumorMaskSpills }
            if let tumorSliceShare { c.tumorSliceShare = tumorSliceShare }
            if let liverContext { c.liverContext = liverContext }
            if let tumorPatch { c.tumorPatch = tumorPatch }
            if let v = centerTumorInput { c.centerTumorInput = v }
            if tumorMaskChannel { c.tumorMaskChannel = true }
            if standardizeTumorInput { c.standardizeTumorInput = true; c.centerTumorInput = centerTumorInput ?? false }
            if let v = bodyCrop { c.bodyCrop = v } else if c.tumorCropFromScan == true { c.bodyCrop = false }
            if let v = coverageTargets { c.coverageTargets = v }
            // A preset's context for B gives way to choices it cannot go with, unless asked for.
            if let tumorContext { c.tumorContext = tumorContext } else if c.tumorCropFromScan == true { c.tumorContext = nil }
            else if let t = c.tumorContext { c.tumorContext = min(t, c.liverContext ?? 0) }
            if let seed { c.seed = seed }
            trainer = try Trainer.start(data: URL(fileURLWithPath: data), config: c, runDir: URL(fileURLWithPath: out))
        }
        do {
            try trainer.train()
        } catch let e as TrainingInterruption {
            throw CleanExit.message("\(e)")   // printed; see below for the exit code
        }
        let m = trainer.manifest
        print("trained \(m.training.kind.rawValue) in \(String(format: "%.0f", m.trainingSeconds)) s; best epoch \(m.bestEpoch.map(String.init) ?? "–"); thresholds liver \(m.liverThreshold), tumor \(m.tumorThreshold) (\(m.thresholdSource)); model in \(trainer.run.url.path)")
    }

    static func weighting(_ s: String) throws -> BinaryWeighting {
        if s == "balanced" { return .balanced }
        guard let a = Float(s), a > 0, a < 1 else { throw ValidationError("--alpha must be 'balanced' or a number in (0, 1), got \(s)") }
        return .alpha(a)
    }
}
