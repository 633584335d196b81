import Evaluation
import Foundation
import MedicalImage
import NeuralNet
import Support
import Tensor

/// One row of history.csv.
public struct EpochRecord: Sendable, Equatable {
    public var epoch: Int
    public var phase: String
    public var trainLoss: Double
    public var liverDice: Double?, liverIoU: Double?, tumorDice: Double?, tumorIoU: Double?
    /// Tumor Dice at the best threshold on the validation ROC (what `finish` would choose).
    public var tumorBestDice: Double?
    public var seconds: Double

    static let header = "epoch,phase,train_loss,val_liver_dice,val_liver_iou,val_tumor_dice,val_tumor_iou,seconds,val_tumor_dice_best"
    var csv: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.6f", $0) } ?? "" }
        return "\(epoch),\(phase),\(f(trainLoss)),\(f(liverDice)),\(f(liverIoU)),\(f(tumorDice)),\(f(tumorIoU)),\(String(format: "%.2f", seconds)),\(f(tumorBestDice))"
    }
    init(epoch: Int, phase: String, trainLoss: Double, liverDice: Double?, liverIoU: Double?, tumorDice: Double?, tumorIoU: Double?,
         tumorBestDice: Double? = nil, seconds: Double) {
        self.epoch = epoch; self.phase = phase; self.trainLoss = trainLoss; self.liverDice = liverDice
        self.liverIoU = liverIoU; self.tumorDice = tumorDice; self.tumorIoU = tumorIoU; self.tumorBestDice = tumorBestDice
        self.seconds = seconds
    }
    /// Reads rows with or without the last column (runs saved before it existed have 8).
    init?(csv line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 8 || f.count == 9, let e = Int(f[0]), let l = Double(f[2]), let s = Double(f[7]) else { return nil }
        self.init(epoch: e, phase: f[1], trainLoss: l, liverDice: Double(f[3]), liverIoU: Double(f[4]),
                  tumorDice: Double(f[5]), tumorIoU: Double(f[6]), tumorBestDice: f.count == 9 ? Double(f[8]) : nil, seconds: s)
    }
    /// Model-selection score: mean of liver Dice and the tumor's best-threshold Dice (a
    /// missing value counts 0). The tumor at the fixed threshold 0.5 would not do: a short
    /// run's B stays below 0.5 everywhere for many epochs (Dice 0 in every one), so the first
    /// epoch of the phase won every tie, though the threshold chosen afterwards by ROC sees
    /// the later epochs rank lesions better.
    var score: Double { ((liverDice ?? 0) + (tumorBestDice ?? tumorDice ?? 0)) / 2 }
}

/// Training stopped on purpose (tests simulate a crash this way) or by a diverging loss.
public enum TrainingInterruption: Error, CustomStringConvertible {
    case stoppedAfter(epochs: Int)
    case nonFiniteLoss(epoch: Int, step: Int, value: Float, keptCheckpoint: String)
    public var description: String {
        switch self {
        case .stoppedAfter(let e): return "training stopped after \(e) epoch(s) as requested"
        case .nonFiniteLoss(let e, let s, let v, let ckpt):
            return "training stopped: the loss became \(v) at epoch \(e + 1), step \(s + 1) (try a lower learning rate); the last good checkpoint is kept at \(ckpt)"
        }
    }
}

/// Trains one of the seed's systems on a dataset, epoch by epoch, with validation,
/// checkpoints after every epoch (atomic writes) and exact resumption.
public final class Trainer {
    public let run: RunDirectory
    public private(set) var manifest: ModelManifest
    public let model: LiverTumorModel
    let trainSet: SliceDataset
    let valSet: SliceDataset
    let trainCases: [CaseFiles], validationCases: [CaseFiles]
    /// B's scan-resolution crops (`tumorCropFromScan`), built once A is trained.
    var tumorTrainSet: SliceDataset?, tumorValSet: SliceDataset?
    var tumorDataReady = false
    public private(set) var history: [EpochRecord] = []
    let phases: [Phase]
    var optimizer: Optimizer?
    var optimizerPhase: Int?
    /// B's running mean over the epochs of the last phase (`averageTumorWeights`), by name.
    var averagedB: [String: Tensor] = [:]
    /// Stop (as if the process were killed) after this many epochs of this call (tests).
    public var stopAfterEpochs: Int?
    /// Multiplies every loss, to provoke divergence in tests.
    public var lossScaleForTesting: Float = 1
    public var quiet = false

    struct Phase {
        enum Nets { case oneStep, liver, tumor, joint }
        let name: String, nets: Nets, epochs: Int, learningRate: Float, stage2: Bool
    }

    /// The cascade's liver phase as the config sets it, also where `liverFrom` skips it: the
    /// fold networks of `tumorMaskFolds` train for its epochs at its rate.
    static func liverPhase(_ c: TrainingConfig) -> Phase {
        Phase(name: "liver", nets: .liver, epochs: c.liverEpochs ?? c.stage1Epochs, learningRate: c.learningRate1, stage2: false)
    }

    static func phases(_ c: TrainingConfig) -> [Phase] {
        let all: [Phase]
        switch c.kind {
        case .oneStep:
            all = [Phase(name: "one-step", nets: .oneStep, epochs: c.stage1Epochs, learningRate: c.learningRate1, stage2: false),
                   Phase(name: "one-step-balanced", nets: .oneStep, epochs: c.stage2Epochs, learningRate: c.learningRate2, stage2: true)]
        case .cascade:
            all = (c.liverFrom == nil ? [liverPhase(c)] : []) + [
                   Phase(name: "tumor", nets: .tumor, epochs: c.stage1Epochs, learningRate: c.learningRate1, stage2: false),
                   Phase(name: "tumor-weighted", nets: .tumor, epochs: c.stage2Epochs, learningRate: c.learningRate2, stage2: true)]
        case .joint:
            all = [Phase(name: "joint", nets: .joint, epochs: c.stage1Epochs, learningRate: c.learningRate1, stage2: false),
                   Phase(name: "joint-weighted", nets: .joint, epochs: c.stage2Epochs, learningRate: c.learningRate2, stage2: true)]
        }
        return all.filter { $0.epochs > 0 }
    }

    /// A new run in `runDir` (which must not hold a run already: nothing there is overwritten).
    public static func start(data: URL, config: TrainingConfig, runDir: URL, quiet: Bool = false) throws -> Trainer {
        try config.validate()
        let run = RunDirectory(runDir)
        if FileManager.default.fileExists(atPath: run.manifest.path) {
            throw SegmentationError("\(runDir.path) already holds a run (model.json); use --resume \(runDir.path) or another --out")
        }
        let cases = try CaseDiscovery.cases(in: data)
        var names = cases.map(\.name)
        var rng = SeededRNG(seed: config.seed, stream: 7)
        for i in stride(from: names.count - 1, to: 0, by: -1) { names.swapAt(i, rng.below(i + 1)) }
        let nVal = cases.count >= 2 && config.validationFraction > 0
            ? min(cases.count - 1, max(1, Int((Double(cases.count) * config.validationFraction).rounded()))) : 0
        let valNames = Array(names.prefix(nVal)).sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        let trainNames = Array(names.dropFirst(nVal)).sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        var m = ModelManifest(training: config, data: data.path, trainCases: trainNames, validationCases: valNames)
        m.totalEpochs = phases(config).reduce(0) { $0 + $1.epochs }
        // A taken from another run comes with the threshold chosen on that run's validation
        // cases, which A never trained on; this run's may include A's training cases.
        let source = try config.liverFrom.map { try TrainedLiverNetwork.load($0, for: config) }
        if let source { m.liverThreshold = source.manifest.liverThreshold }
        let trainer = try Trainer(run: run, manifest: m, cases: cases, quiet: quiet, isNew: true)
        if let source {
            try TrainedLiverNetwork.assign(source.weights, from: source.file, to: trainer.model)
            try Checkpoint.save(ModelVariables(trainer.model, onlyLiverNet: true), metadata: ["epoch": "0", "format": "liverseg-liver-net"], to: run.bestLiver)
        }
        return trainer
    }

    /// Continues the run in `runDir` after its last completed epoch.
    public static func resume(runDir: URL, quiet: Bool = false) throws -> Trainer {
        let run = RunDirectory(runDir)
        let m = try run.readManifest()
        let cases = try CaseDiscovery.cases(in: URL(fileURLWithPath: m.data))
        return try Trainer(run: run, manifest: m, cases: cases, quiet: quiet, isNew: false)
    }

    init(run: RunDirectory, manifest: ModelManifest, cases: [CaseFiles], quiet: Bool, isNew: Bool) throws {
        self.run = run
        self.manifest = manifest
        self.quiet = quiet
        let c = manifest.training
        phases = Self.phases(c)
        model = LiverTumorModel(c)
        let byName = Dictionary(uniqueKeysWithValues: cases.map { ($0.name, $0) })
        func pick(_ names: [String]) throws -> [CaseFiles] {
            try names.map { n in
                guard let c = byName[n] else { throw SegmentationError("case \(n) of this run is no longer in \(manifest.data)") }
                return c
            }
        }
        trainCases = try pick(manifest.trainCases)
        validationCases = try pick(manifest.validationCases)
        trainSet = try SliceDataset(cases: trainCases, size: c.size, nonLiverFraction: c.nonLiverFraction, bodyCrop: model.bodyCrop,
                                    context: model.liverContext, coverage: c.kind != .oneStep && c.coverageTargets == true,
                                    seed: c.seed, progressLabel: quiet ? nil : "loading training cases  ")
        valSet = try SliceDataset(cases: validationCases, size: c.size, nonLiverFraction: c.nonLiverFraction, bodyCrop: model.bodyCrop,
                                  context: model.liverContext, seed: c.seed &+ 99, progressLabel: quiet || validationCases.isEmpty ? nil : "loading validation cases")
        if isNew && c.kind != .oneStep && c.standardizeTumorInput == true {
            // From the true liver (label ≥ 1) of the training slices: known before A is trained,
            // and the same for the cascade and joint training.
            self.manifest.tumorStandardization = trainSet.standardization(window: c.tumorWindow)
        }
        model.tumorStandardization = self.manifest.tumorStandardization
        if isNew {
            try FileManager.default.createDirectory(at: run.url, withIntermediateDirectories: true)
            try run.write(manifest)
        } else if manifest.epochsDone > 0 {
            try restoreLast()
        }
    }

    func say(_ s: String) { if !quiet { FileHandle.standardError.write(Data((s + "\n").utf8)) } }

    /// Folds B's current weights into the running mean of `count` epochs' weights.
    func updateAverageB(count: Int) {
        for (name, v) in model.netB!.namedVariables(prefix: "B") {
            if count == 1 { averagedB[name] = v.value; continue }   // shared until the optimizer writes (copy on write)
            let mean = averagedB[name]!
            averagedB[name] = mean + (v.value - mean) * (1 / Float(count))
        }
    }

    /// Runs `body` with B's averaged weights in place of its current ones (when `active`).
    func withAveragedB<T>(_ active: Bool, _ body: () throws -> T) rethrows -> T {
        guard active else { return try body() }
        let vars = model.netB!.namedVariables(prefix: "B")
        let current = vars.map { $0.1.value }
        for (name, v) in vars { v.value = averagedB[name]! }
        defer { for ((_, v), t) in zip(vars, current) { v.value = t } }
        return try body()
    }

    /// Phase index and epoch within it of global epoch e.
    func phase(of e: Int) -> (Int, Int) {
        var rest = e
        for (i, p) in phases.enumerated() {
            if rest < p.epochs { return (i, rest) }
            rest -= p.epochs
        }
        return (phases.count, 0)
    }

    func parameters(_ p: Phase) -> [Variable] {
        switch p.nets {
        case .oneStep, .liver: return model.netA.parameters
        case .tumor: return model.netB!.parameters
        case .joint: return model.netA.parameters + model.netB!.parameters
        }
    }

    func makeOptimizer(_ p: Phase) -> Optimizer {
        let c = manifest.training
        return c.optimizer == "adam"
            ? Adam(parameters(p), learningRate: p.learningRate)
            : SGD(parameters(p), learningRate: p.learningRate, momentum: c.momentum)
    }

    // MARK: checkpoints

    func saveLast(phaseIndex: Int) throws {
        let extra = (optimizer?.state ?? []).map { ("opt." + $0.0, $0.1) } + averagedB.sorted { $0.key < $1.key }.map { ("avg." + $0.key, $0.value) }
        try Checkpoint.save(ModelVariables(model), extra: extra,
                            metadata: ["epochs_done": "\(manifest.epochsDone)", "phase": "\(phaseIndex)", "format": "liverseg-checkpoint"],
                            to: run.last)
    }

    func restoreLast() throws {
        let contents = try SafeTensors.read(run.last)
        try Checkpoint.assign(contents.tensors, to: ModelVariables(model), path: run.last.path, ignoringPrefixes: RunDirectory.trainingStatePrefixes)
        averagedB = [:]
        for (k, v) in contents.tensors where k.hasPrefix("avg.") { averagedB[String(k.dropFirst(4))] = v }
        guard let done = contents.metadata["epochs_done"].flatMap(Int.init), done == manifest.epochsDone else {
            throw SegmentationError("\(run.last.path): checkpoint epoch does not match model.json (\(manifest.epochsDone) epochs done)")
        }
        let (pi, _) = phase(of: done)
        if pi < phases.count, contents.metadata["phase"] == "\(pi)" {
            let opt = makeOptimizer(phases[pi])
            var state: [String: Tensor] = [:]
            for (k, v) in contents.tensors where k.hasPrefix("opt.") { state[String(k.dropFirst(4))] = v }
            try opt.loadState(state)
            optimizer = opt
            optimizerPhase = pi
        }
        if let text = try? String(contentsOf: run.history, encoding: .utf8) {
            history = text.split(separator: "\n").dropFirst().compactMap { EpochRecord(csv: $0) }.filter { $0.epoch < done }
        }
        say("resuming \(run.url.path) after epoch \(done) of \(manifest.totalEpochs)")
    }

    func writeHistory() throws {
        let text = ([EpochRecord.header] + history.map(\.csv)).joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(text.utf8), to: run.history)
        let epochs = history.map { Double($0.epoch + 1) }
        let h = TrainingHistory(epochs: epochs, series: [
            .init(name: "train loss", values: history.map { $0.trainLoss }),
            .init(name: "val liver Dice", values: history.map { $0.liverDice }),
            .init(name: "val tumor Dice", values: history.map { $0.tumorDice }),
            .init(name: "val tumor Dice at its best threshold", values: history.map { $0.tumorBestDice }),
        ])
        try h.figure(title: "Training: \(manifest.training.kind.rawValue)").write(to: run.curve)
        // The report command reads training curves from this file beside the evaluation.
        try AtomicFile.write(Report.json(h), to: run.historyJSON)
    }

    // MARK: training

    /// Runs the remaining epochs, then picks thresholds by ROC on the validation cases.
    public func train() throws {
        let startTime = ProcessStats.now() - manifest.trainingSeconds
        var epochsThisCall = 0
        while manifest.epochsDone < manifest.totalEpochs {
            if let stop = stopAfterEpochs, epochsThisCall >= stop { throw TrainingInterruption.stoppedAfter(epochs: epochsThisCall) }
            let e = manifest.epochsDone
            let (pi, _) = phase(of: e)
            let p = phases[pi]
            if optimizerPhase != pi { optimizer = makeOptimizer(p); optimizerPhase = pi }
            if p.nets == .tumor { try prepareTumorData() }
            let t0 = ProcessStats.now()
            let loss = try runEpoch(e, phase: p)
            // The last phase's epochs are the ones a run keeps (below), and the ones B's weights are
            // averaged over (`averageTumorWeights`; validated to be the cascade's, so B's own).
            let complete = pi == phases.count - 1
            let averaging = complete && manifest.training.averageTumorWeights == true
            if averaging { updateAverageB(count: phase(of: e).1 + 1) }
            let (ld, li, td, ti, tb) = withAveragedB(averaging) { validate() }
            let record = EpochRecord(epoch: e, phase: p.name, trainLoss: loss, liverDice: ld, liverIoU: li, tumorDice: td, tumorIoU: ti,
                                     tumorBestDice: tb, seconds: ProcessStats.now() - t0)
            history.append(record)
            manifest.epochsDone = e + 1
            manifest.trainingSeconds = ProcessStats.now() - startTime
            try saveLast(phaseIndex: pi)
            // The cascade's B is trained on the A of the liver phase's best epoch, not its last:
            // a short run's last epoch can be a dip (seen: validation liver Dice 0.921 → 0.881).
            if p.nets == .liver, valSet.count == 0 || (ld ?? -1) > (manifest.bestLiverDice ?? -1) {
                manifest.bestLiverDice = ld            // without validation cases: the last epoch
                manifest.bestLiverEpoch = e + 1
                try Checkpoint.save(ModelVariables(model, onlyLiverNet: true), metadata: ["epoch": "\(e + 1)", "format": "liverseg-liver-net"],
                                    to: run.bestLiver)
            }
            // The best model is chosen among the epochs of the last phase, by mean validation
            // Dice: that phase's loss (the seed's stage 2, e.g. α-weighted) is what a run is
            // about. Choosing over all phases let stage-1 epochs win and made runs that differ
            // only in α return the same weights. With B's weights averaged the kept model is the
            // mean over the whole phase, so each epoch's average replaces the last.
            if complete && (averaging || manifest.bestScore == nil || record.score > manifest.bestScore! || valSet.count == 0) {
                manifest.bestScore = record.score
                manifest.bestEpoch = e + 1
                try withAveragedB(averaging) {
                    try Checkpoint.save(ModelVariables(model), metadata: ["epoch": "\(e + 1)", "format": "liverseg-model"], to: run.best)
                }
            }
            try writeHistory()
            try run.write(manifest)
            func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "–" }
            say("epoch \(e + 1)/\(manifest.totalEpochs) [\(p.name)] loss \(String(format: "%.4g", loss))  val liver Dice \(f(ld)) IoU \(f(li))  tumor Dice \(f(td)) IoU \(f(ti)) best \(f(tb))  \(String(format: "%.1f", record.seconds)) s")
            epochsThisCall += 1
        }
        if !manifest.finished {
            try finish()
        }
    }

    func runEpoch(_ e: Int, phase p: Phase) throws -> Double {
        let c = manifest.training
        var rng = SeededRNG(seed: c.seed, stream: 1_000 + UInt64(e))
        // Dropout masks depend only on (seed, epoch): a resumed run draws what the uninterrupted one would.
        model.netA.random = RandomSource(seed: c.seed &+ UInt64(e) &* 7_919)
        model.netB?.random = RandomSource(seed: c.seed &+ UInt64(e) &* 7_919 &+ 1)
        // B trains on the slices where A found liver (elsewhere its input is empty) — unless
        // A found almost none, when B still gets every slice rather than no training at all.
        // Scan-resolution crops exist only for slices with liver.
        let data = p.nets == .tumor ? tumorTrainSet ?? trainSet : trainSet
        let withLiver = p.nets == .tumor ? data.slicesWithPredictedLiver : []
        let batchSize = p.nets == .liver ? c.liverBatchSize ?? c.batchSize : c.batchSize
        let order = Self.epochOrder(withLiver.count >= batchSize ? withLiver : Array(0..<data.count), cap: c.maxSlicesPerEpoch,
                                    tumorShare: p.nets == .liver ? nil : c.tumorSliceShare, hasTumor: data.hasTumor, rng: &rng)
        return try runSteps(order, of: data, phase: p, batchSize: batchSize, optimizer: optimizer!, epoch: e, epochInPhase: phase(of: e).1,
                            label: "epoch \(e + 1)/\(manifest.totalEpochs) \(p.name)", rng: &rng)
    }

    /// One epoch's steps over `order` (slices of `data`) in batches, with `optimizer`; the mean
    /// loss. `epochInPhase` places the steps on the phase's rate schedule; `epoch`, the run's,
    /// is what a non-finite loss reports.
    func runSteps(_ order: [Int], of data: SliceDataset, phase p: Phase, batchSize: Int, optimizer: Optimizer, epoch e: Int,
                  epochInPhase: Int, label: String, rng: inout SeededRNG) throws -> Double {
        let c = manifest.training
        let steps = (order.count + batchSize - 1) / batchSize
        let bar = quiet ? nil : ProgressBar(total: steps, label: label)
        var total = 0.0
        let schedule: LearningRateSchedule = c.learningRateSchedule == "poly" ? .polynomial(total: steps * p.epochs, power: 0.9) : .constant
        let firstStep = epochInPhase * steps
        for s in 0..<steps {
            optimizer.learningRate = schedule.rate(base: p.learningRate, at: firstStep + s)
            let idx = Array(order[(s * batchSize)..<min(order.count, (s + 1) * batchSize)])
            let batch = TrainingBatch(data, indices: idx, augmentation: c.augmentation, lesionCuts: c.tumorMaskCuts ?? 0,
                                      spills: c.tumorMaskSpills ?? 0, rng: &rng)
            let loss = step(batch, phase: p, rng: &rng)
            let v = loss.value[flat: 0]
            guard v.isFinite else {
                bar?.finish(status: "loss \(v)")
                throw TrainingInterruption.nonFiniteLoss(epoch: e, step: s, value: v,
                                                         keptCheckpoint: manifest.epochsDone > 0 ? run.last.path : "(none yet: no epoch completed)")
            }
            loss.backward()
            optimizer.step()
            total += Double(v)
            bar?.advance(status: String(format: "loss %.4f", total / Double(s + 1)))
        }
        bar?.finish(status: String(format: "loss %.4f", total / Double(max(steps, 1))))
        return total / Double(max(steps, 1))
    }

    /// The slices of one epoch: `candidates` shuffled, at most `cap` of them; with a
    /// `tumorShare`, that share comes from slices with tumor (cycled through if too few) and
    /// the rest from the others.
    static func epochOrder(_ candidates: [Int], cap: Int?, tumorShare: Double?, hasTumor: (Int) -> Bool, rng: inout SeededRNG) -> [Int] {
        var order = candidates
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        let n = min(order.count, cap ?? order.count)
        if let share = tumorShare {
            let (withTumor, without) = order.partitioned(by: hasTumor)
            if !withTumor.isEmpty && !without.isEmpty {
                let k = min(n, Int((Double(n) * share).rounded()))
                order = (0..<k).map { withTumor[$0 % withTumor.count] } + without.prefix(n - k)
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
            }
        }
        return Array(order.prefix(n))
    }

    /// Forward pass and loss of one batch (graph recorded for backward).
    func step(_ b: TrainingBatch, phase p: Phase, rng: inout SeededRNG) -> Variable {
        let c = manifest.training
        // B's view, cut to lesion-centred patches when asked (`TumorPatches`).
        func patches(_ hu: Tensor, _ mask: Tensor, _ tumor: Tensor) -> (Tensor, Tensor, Tensor) {
            guard let q = c.tumorPatch, q < hu.shape[2] else { return (hu, mask, tumor) }
            let o = TumorPatches.cut([hu, mask, tumor], tumor: tumor, mask: mask, patch: q, rng: &rng)
            return (o[0], o[1], o[2])
        }
        let tumorWeighting: BinaryWeighting = p.stage2 ? c.tumorWeighting : .none
        func tumorLoss(_ z: Variable, _ y: Tensor) -> Variable {
            binaryLoss(z, y, tumorWeighting, pixelWeights: c.tumorLesionWeights == true ? LesionWeights.inverseSize(y) : nil,
                       focusing: c.tumorFocusing ?? 0)
        }
        func binaryLoss(_ z: Variable, _ y: Tensor, _ w: BinaryWeighting, pixelWeights: Tensor? = nil, focusing: Float = 0) -> Variable {
            let ce = Losses.binaryCrossEntropy(logits: z, targets: y, weighting: w, pixelWeights: pixelWeights, focusing: focusing)
            guard let d = c.diceWeight, d > 0 else { return ce }
            return Ops.add(ce, Ops.scale(Losses.softDice(logits: z, targets: y), d))
        }
        func liverWeights() -> Tensor? { c.liverPixelWeights(tumor: b.tumor) }
        for n in [model.netA, model.netB].compactMap({ $0 }) { n.zeroGradients() }
        var loss: Variable
        switch p.nets {
        case .oneStep:
            let z = model.netA(Variable(model.windowed(b.liverInput, model.liverWindow)), training: true)
            loss = Losses.crossEntropy(logits: z, labels: b.classes, weighting: p.stage2 ? .balanced : .none)
        case .liver:
            let z = model.netA(Variable(model.windowed(b.liverInput, model.liverWindow)), training: true)
            loss = binaryLoss(z, b.liver, .none, pixelWeights: liverWeights())
        case .tumor:
            // B learns tumor inside the liver that A found: input w(M·X), target M·B (eq. 2.2's B̄).
            // Scan-resolution crops arrive already cut; otherwise B's view is cut here.
            let (hu, mask, tumor): (Tensor, Tensor, Tensor)
            if model.tumorCropFromScan {
                (hu, mask, tumor) = patches(b.hu, b.mask!, b.tumor)
            } else {
                let v = model.tumorView(hu: model.tumorSlices(b.liverInput), mask: b.mask!, also: [b.tumor], softOthers: b.soft)
                (hu, mask, tumor) = patches(v.hu, v.mask, v.others[0])
            }
            let z = model.netB!(Variable(model.tumorInput(hu, mask: mask)), training: true)
            loss = tumorLoss(z, tumor * mask)
        case .joint:
            // Eq. 2.1: B's input is built from A's current output; the threshold blocks
            // gradients from L_B into A (M is a step function), so A learns from c·L_A alone
            // and B from (1 − c)·L_B.
            let za = model.netA(Variable(model.windowed(b.liverInput, model.liverWindow)), training: true)
            let v = model.tumorView(hu: model.tumorSlices(b.liverInput), mask: model.mask(fromLiverLogits: za.value), also: [b.tumor], softOthers: b.soft)
            let (hu, mask, tumor) = patches(v.hu, v.mask, v.others[0])
            let zb = model.netB!(Variable(model.tumorInput(hu, mask: mask)), training: true)
            loss = Losses.joint(binaryLoss(za, b.liver, .none, pixelWeights: liverWeights()), tumorLoss(zb, tumor * mask), c: c.jointC)
        }
        if lossScaleForTesting != 1 { loss = Ops.scale(loss, lossScaleForTesting) }
        return loss
    }

    /// What B trains and is validated on, once A is trained (A does not change after that in
    /// the cascade, so this is built once; a resumed run rebuilds the same data).
    func prepareTumorData() throws {
        guard !tumorDataReady else { return }
        defer { tumorDataReady = true }
        let source = manifest.training.liverFrom
        if FileManager.default.fileExists(atPath: run.bestLiver.path) {
            try Checkpoint.load(into: ModelVariables(model, onlyLiverNet: true), from: run.bestLiver)
            say("network A from \(source ?? "epoch \(manifest.bestLiverEpoch.map(String.init) ?? "?") (best validation liver Dice)") is the one B learns on")
        } else if let source {
            // Without it B would learn on an untrained A.
            throw SegmentationError("\(run.bestLiver.path) is missing: the liver network taken from \(source) was not saved; remove \(run.url.path) and start the run again")
        }
        let liverEpochs = phases.first { $0.nets == .liver }?.epochs ?? 0
        if manifest.training.tumorInitFromLiver == true, manifest.epochsDone == liverEpochs, let b = model.netB {
            // B starts from A's features (it looks at the same CT); only its head starts fresh.
            let a = Dictionary(uniqueKeysWithValues: model.netA.namedVariables(prefix: "").map { ($0.0, $0.1) })
            for (name, v) in b.namedVariables(prefix: "") where !name.hasPrefix("head") {
                guard let src = a[name] else { continue }
                if src.value.shape == v.value.shape {
                    v.value = src.value
                } else if src.value.rank == 4 && src.value.shape[0] == v.value.shape[0] {
                    // A's first convolution reads more neighbouring slices than B's: where the
                    // neighbours look alike (most of the liver) A's response is that of the
                    // weights of the slices beyond B's reach added to B's outermost ones (all of
                    // them summed for a B on its slice alone). B's mask channel
                    // (`tumorMaskChannel`), which A never saw, starts at zero weight.
                    let (fromA, slices) = (src.value.shape[1], 2 * model.tumorContext + 1)
                    let parts = src.value.splitChannels(Array(repeating: 1, count: fromA))
                    var toB = [Tensor](repeating: Tensor.zeros(parts[0].shape), count: slices)
                    for (i, w) in parts.enumerated() {
                        let j = min(max(i - fromA / 2, -(slices / 2)), slices / 2) + slices / 2
                        toB[j] = toB[j] + w
                    }
                    let extra = v.value.shape[1] - slices
                    if extra > 0 { toB.append(Tensor.zeros([parts[0].shape[0], extra] + Array(parts[0].shape.suffix(2)))) }
                    v.value = toB.count == 1 ? toB[0] : Tensor.concatChannels(toB)
                }
            }
            say("network B starts from network A's weights (its head excepted)")
        }
        if model.tumorCropFromScan {
            let bs = manifest.training.batchSize * 2
            tumorTrainSet = try SliceDataset.tumorCrops(of: trainSet, cases: trainCases, model: model, batchSize: bs,
                                                        progressLabel: quiet ? nil : "liver crops for B (train)")
            tumorValSet = try SliceDataset.tumorCrops(of: valSet, cases: validationCases, model: model, batchSize: bs,
                                                      progressLabel: quiet || valSet.count == 0 ? nil : "liver crops for B (val)  ")
            if tumorTrainSet!.count == 0 {
                // An untrained or failed A (tiny test runs, too few liver epochs) finds no
                // liver; B then learns on the true liver rather than not at all.
                say("warning: network A finds no liver in the training slices; B trains on crops around the true liver instead")
                tumorTrainSet = try SliceDataset.tumorCrops(of: trainSet, cases: trainCases, model: model, batchSize: bs, trueLiver: true,
                                                            progressLabel: nil)
            }
        } else if let k = manifest.training.tumorMaskFolds, k >= 2 {
            try predictMasksCrossValidated(trainSet, folds: k)
        } else {
            predictMasks(trainSet)
        }
    }

    /// B's training masks M from networks A that never saw the slice's case
    /// (`tumorMaskFolds`), as nnU-Net trains its cascade's second stage on cross-validated
    /// predictions of the first: A's masks on its own training cases cut almost no lesion
    /// (1 of their 14 lesions of 1 mL or more, against 16 of the test sets' 59), so B never
    /// learns what a lesion under the capsule looks like once A has cut it
    /// (docs/experiments.md, session 18). The training cases are dealt into `folds` groups; for
    /// each, a fresh A trains the liver phase on the others (its last epoch is used) and
    /// predicts the group's masks. A itself, for `segment`, is the one trained on all of them
    /// (with `liverFrom`, the source's, which the fold networks do not touch either).
    func predictMasksCrossValidated(_ data: SliceDataset, folds k: Int) throws {
        let c = manifest.training
        let liver = Self.liverPhase(c)
        var rng = SeededRNG(seed: c.seed, stream: 90_000)
        var cases = Array(Set(data.caseOfSlice)).sorted()
        for i in stride(from: cases.count - 1, to: 0, by: -1) { cases.swapAt(i, rng.below(i + 1)) }
        let k = min(k, cases.count)
        let foldOf = Dictionary(uniqueKeysWithValues: cases.enumerated().map { ($1, $0 % k) })
        let kept = model.netA.namedVariables(prefix: "").map { ($0.1, $0.1.value) }
        defer { for (v, value) in kept { v.value = value } }
        var masks = [UInt8](repeating: 0, count: data.count * data.size * data.size)
        let batchSize = c.liverBatchSize ?? c.batchSize
        for f in 0..<k {
            var fresh = c
            fresh.seed = c.seed &+ 10_007 &* UInt64(f + 1)
            for ((_, v), (_, w)) in zip(model.netA.namedVariables(prefix: ""), LiverTumorModel(fresh).netA.namedVariables(prefix: "")) { v.value = w.value }
            let optimizer = makeOptimizer(liver)
            let others = (0..<data.count).filter { foldOf[data.caseOfSlice[$0]] != f }
            for e in 0..<liver.epochs {
                var erng = SeededRNG(seed: c.seed, stream: 100_000 + 1_000 * UInt64(f) + UInt64(e))
                model.netA.random = RandomSource(seed: fresh.seed &+ UInt64(e) &* 7_919)
                let order = Self.epochOrder(others, cap: c.maxSlicesPerEpoch, tumorShare: nil, hasTumor: data.hasTumor, rng: &erng)
                _ = try runSteps(order, of: data, phase: liver, batchSize: batchSize, optimizer: optimizer, epoch: manifest.epochsDone,
                                 epochInPhase: e, label: "liver net for B's masks, fold \(f + 1)/\(k), epoch \(e + 1)/\(liver.epochs)", rng: &erng)
            }
            predictMasks(data, slices: (0..<data.count).filter { foldOf[data.caseOfSlice[$0]] == f }, into: &masks)
        }
        data.predictedLiver = masks
    }

    /// The cascade's liver masks M for B's training slices, from the trained network A.
    func predictMasks(_ data: SliceDataset) {
        var masks = [UInt8](repeating: 0, count: data.count * data.size * data.size)
        let bar = quiet ? nil : ProgressBar(total: data.count, label: "liver masks for B     ")
        predictMasks(data, slices: Array(0..<data.count), into: &masks, bar: bar)
        bar?.finish()
        data.predictedLiver = masks
    }

    /// A's masks of `slices` of `data`, in batches, into their places in `masks`.
    func predictMasks(_ data: SliceDataset, slices: [Int], into masks: inout [UInt8], bar: ProgressBar? = nil) {
        let p = data.size * data.size, bs = manifest.training.batchSize * 2
        for start in stride(from: 0, to: slices.count, by: bs) {
            let idx = Array(slices[start..<min(slices.count, start + bs)])
            let m = model.mask(fromLiverLogits: model.logitsA(data.stack(idx)))
            for (n, i) in idx.enumerated() { for j in 0..<p { masks[i * p + j] = m[flat: n * p + j] > 0 ? 1 : 0 } }
            bar?.advance(idx.count)
        }
    }

    /// Validation predictions in batches. `liver` gets A's liver probability and the truth of
    /// validation slices; `tumor` gets the gate (where a tumor may be called: the liver
    /// probability, or B's mask M), the tumor probability and the truth — on the validation
    /// slices, or on B's scan-resolution crops of them, which is what B is asked about.
    func forEachValidationBatch(liver: (Tensor, ArraySlice<UInt8>) -> Void, tumor: (Tensor, Tensor, ArraySlice<UInt8>) -> Void) {
        let p = valSet.size * valSet.size, bs = manifest.training.batchSize * 2
        let crops = model.tumorCropFromScan
        for start in stride(from: 0, to: valSet.count, by: bs) {
            let idx = Array(start..<min(valSet.count, start + bs))
            let truth = valSet.labels[(start * p)..<((start + idx.count) * p)]
            let hu = valSet.stack(idx)
            if crops {
                liver(model.logitsA(hu).sigmoid(), truth)
            } else {
                let (pl, pt) = model.predict(hu: hu)
                liver(pl, truth)
                tumor(pl, pt, truth)
            }
        }
        guard crops, let tv = tumorValSet else { return }
        for start in stride(from: 0, to: tv.count, by: bs) {
            let idx = Array(start..<min(tv.count, start + bs))
            let mask = tv.maskTensor(idx)
            tumor(mask, model.tumorProbability(crops: tv.stack(idx), mask: mask), tv.labels[(start * p)..<((start + idx.count) * p)])
        }
    }

    /// Dice and IoU of liver and tumor over all validation slices (at the model size,
    /// the model's current thresholds; the tumor on B's crops when it sees the scan's), and
    /// the tumor's Dice at its best threshold inside the liver.
    func validate() -> (Double?, Double?, Double?, Double?, Double?) {
        guard valSet.count > 0 else { return (nil, nil, nil, nil, nil) }
        var lc = (0, 0, 0), tc = (0, 0, 0)   // (tp, fp, fn)
        var gated = ROCAccumulator(window: .all)
        let lt = model.liverThreshold, tt = model.tumorThreshold
        func count(_ c: inout (Int, Int, Int), _ predicted: Bool, _ truth: Bool) {
            if predicted && truth { c.0 += 1 } else if predicted { c.1 += 1 } else if truth { c.2 += 1 }
        }
        forEachValidationBatch(liver: { pl, truth in
            let lp = pl.readPointer
            for (j, t) in truth.enumerated() { count(&lc, lp[j] >= lt, t >= 1) }
        }, tumor: { gate, pt, truth in
            let gp = gate.readPointer, tp = pt.readPointer
            var probs: [Float] = [], isTumor: [Bool] = []
            for (j, t) in truth.enumerated() {
                count(&tc, gp[j] >= lt && tp[j] >= tt, t == 2)
                if gp[j] >= lt { probs.append(tp[j]); isTumor.append(t == 2) }
            }
            try? gated.add(probabilities: probs, truth: isTumor)
        })
        func dice(_ c: (Int, Int, Int)) -> Double? { 2 * c.0 + c.1 + c.2 == 0 ? nil : Double(2 * c.0) / Double(2 * c.0 + c.1 + c.2) }
        func iou(_ c: (Int, Int, Int)) -> Double? { c.0 + c.1 + c.2 == 0 ? nil : Double(c.0) / Double(c.0 + c.1 + c.2) }
        // Before B has data (the cascade's liver phase with scan crops) there is no tumor score.
        let tumorScored = !model.tumorCropFromScan || tumorValSet != nil
        let best = tumorScored ? gated.analyze(maxCurvePoints: 4096).maxDice?.dice : nil
        return (dice(lc), iou(lc), tumorScored ? dice(tc) : nil, tumorScored ? iou(tc) : nil, best)
    }

    /// Best weights back in, then thresholds by ROC analysis on the validation slices, as the
    /// seed picks its tumor threshold (sec. 3.2.1).
    /// Segments the validation cases whole (as `segment` will) and moves the tumor threshold
    /// and the smallest lesion kept to the pair of best mean per-case tumor Dice there
    /// (`TumorOperatingPoint`).
    func chooseTumorOperatingPoint() throws {
        guard !validationCases.isEmpty else { return }
        model.minLesionML = 0
        let predictor = Predictor(model: model)
        predictor.tumorThreshold = 1   // the labels' tumor is redrawn from the probability
        predictor.tumorExtentThreshold = nil
        var cases: [TumorOperatingPoint.Case] = []
        for c in validationCases {
            let (image, truth) = try SliceDataset.loadCase(c)
            let out = try predictor.segment(image, tumorProbability: true)
            cases.append(.init(labels: out.labels.voxels, probability: out.probability!.voxels, truth: truth.voxels,
                               shape: image.shape, voxelML: image.geometry.voxelML))
        }
        let roc = manifest.tumorThreshold
        guard let choice = TumorOperatingPoint.choose(cases, thresholds: TumorOperatingPoint.candidates(below: roc),
                                                      minSlices: model.minLesionSlices) else { return }
        manifest.minLesionML = choice.minLesionML
        model.minLesionML = choice.minLesionML
        manifest.tumorExtentThreshold = choice.extentThreshold < choice.threshold ? choice.extentThreshold : nil
        model.tumorExtentThreshold = manifest.tumorExtentThreshold
        if choice.threshold != roc {
            manifest.rocTumorThreshold = roc
            manifest.tumorThreshold = choice.threshold
            model.tumorThreshold = choice.threshold
            manifest.thresholdSource = "roc-max-dice, tumor by case Dice"
        }
        say(String(format: "on the validation cases whole: tumor threshold %.3f, lesions from %.2f mL reaching to %.3f: tumor Dice per case %.3f (ROC threshold, all lesions: %.3f)",
                   choice.threshold, choice.minLesionML, choice.extentThreshold, choice.dice, choice.diceBefore))
    }

    func finish() throws {
        if FileManager.default.fileExists(atPath: run.best.path) {
            try Checkpoint.load(into: ModelVariables(model), from: run.best, ignoringPrefixes: RunDirectory.trainingStatePrefixes)
        }
        if valSet.count > 0 {
            // Validating B on scan crops needs them (a run resumed after its last epoch has none yet).
            if model.tumorCropFromScan { try prepareTumorData() }
            var liverProbs: [Float] = [], liverTruth: [Bool] = []
            var tumorGate: [Float] = [], tumorProbs: [Float] = [], tumorTruth: [Bool] = []
            forEachValidationBatch(liver: { pl, truth in
                liverProbs += pl.scalars; liverTruth += truth.map { $0 >= 1 }
            }, tumor: { gate, pt, truth in
                tumorGate += gate.scalars; tumorProbs += pt.scalars; tumorTruth += truth.map { $0 == 2 }
            })
            // The operating point is the ROC vertex of best Dice (`ROCAnalysis.maxDice`; Youden's
            // J picked thresholds near 0 and over-segmented: liver 0.05, tumor 0.09).
            // Degenerate curves (no vertex with Dice > 0.05) keep 0.5; choices stay in [0.05, 0.95].
            func choose(_ a: ROCAnalysis) -> Float? {
                guard let (dice, t) = a.maxDice, dice > 0.05 else { return nil }
                return min(max(Float(t), 0.05), 0.95)
            }
            let liverROC = try ROC.analyze(probabilities: liverProbs, truth: liverTruth, maxCurvePoints: 4096)
            if manifest.training.liverFrom == nil, let t = choose(liverROC) { manifest.liverThreshold = t }
            // The tumor threshold is chosen among pixels inside the liver at the new liver
            // threshold: B is only asked about those.
            var tp: [Float] = [], tt: [Bool] = []
            for i in 0..<tumorGate.count where tumorGate[i] >= manifest.liverThreshold { tp.append(tumorProbs[i]); tt.append(tumorTruth[i]) }
            let tumorROC = try ROC.analyze(probabilities: tp, truth: tt, maxCurvePoints: 4096)
            if let t = choose(tumorROC) { manifest.tumorThreshold = t }
            manifest.thresholdSource = "roc-max-dice"
            model.liverThreshold = manifest.liverThreshold
            model.tumorThreshold = manifest.tumorThreshold
            say(String(format: "thresholds by ROC on validation slices: liver %.3f (AUC %.4f%@), tumor %.3f (AUC %@)",
                       manifest.liverThreshold, liverROC.auc ?? .nan, manifest.training.liverFrom == nil ? "" : "; the threshold is the liver network's own",
                       manifest.tumorThreshold, tumorROC.auc.map { String(format: "%.4f", $0) } ?? "n/a"))
            try chooseTumorOperatingPoint()
        }
        manifest.finished = true
        try run.write(manifest)
    }
}
