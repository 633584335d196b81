import ArgumentParser
import Evaluation
import Foundation
import NeuralNet
import Segmentation
import Support
import Tensor

/// The seed's Table 1 on the user's data: every configuration trained on the same cases,
/// scored on the same held-out cases, in one table and one ROC plot. Finished
/// configurations are not retrained; an interrupted one resumes.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Train and compare one-step, cascade (per α) and joint (per c) on one case split; write Table 1 and a report.")

    @Option(help: "Dataset folder (LiTS or nnU-Net layout).") var data: String
    @Option(help: "Output folder (reused: finished configurations are kept).") var out: String
    @Option(help: "Held-out test folder; without it a share of --data's cases is held out.") var test: String?
    @Option(help: "Share of cases held out for testing when --test is not given.") var testFraction = 0.25
    @Option(help: "Comma-separated: one-step, cascade, joint.") var models = "one-step,cascade,joint"
    @Option(help: "Stage-2 tumor weightings of the cascade: α values and/or balanced.") var alphas = "0.02,0.05,0.30,balanced"
    @Option(help: "c values of the joint loss.") var jointC = "0.5"
    @Option(help: "Training preset: demo, long, full or paper.") var preset = "demo"
    @Option(help: "Override the preset's stage-1 epochs.") var epochs: Int?
    @Option(help: "Override the preset's slices per epoch.") var slicesPerEpoch: Int?
    @Option(help: "Random seed (same split and initialization for every configuration).") var seed: UInt64 = 1
    @Option(help: "Threads (default: all cores).") var threads: Int?

    struct Configuration { let name: String, label: String, config: TrainingConfig }

    func configurations() throws -> [Configuration] {
        var base = try TrainingConfig.preset(preset)
        base.seed = seed
        if let epochs { base.stage1Epochs = epochs }
        if let slicesPerEpoch { base.maxSlicesPerEpoch = slicesPerEpoch }
        var out: [Configuration] = []
        for m in models.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch m {
            case "one-step":
                var c = base; c.kind = .oneStep
                out.append(Configuration(name: "one-step", label: "One-Step (balanced)", config: c))
            case "cascade":
                for a in alphas.split(separator: ",").map(String.init) {
                    var c = base; c.kind = .cascade; c.tumorWeighting = try TrainCommand.weighting(a)
                    out.append(Configuration(name: "cascade-\(a)", label: "Sequential α=\(a)", config: c))
                }
            case "joint":
                for cs in jointC.split(separator: ",").map(String.init) {
                    guard let cv = Float(cs) else { throw ValidationError("--joint-c: \(cs) is not a number") }
                    var c = base; c.kind = .joint; c.jointC = cv
                    let w = Self.alphaText(c.tumorWeighting).map { "α=\($0)" } ?? "balanced"
                    out.append(Configuration(name: "joint-c\(cs)", label: "Joint c=\(cs) (\(w))", config: c))
                }
            default: throw ValidationError("--models: unknown model \(m) (one-step, cascade, joint)")
            }
        }
        return out
    }

    /// α of a fixed stage-2 weighting as the table prints it ("0.30"); nil for balanced.
    static func alphaText(_ w: BinaryWeighting) -> String? {
        if case .alpha(let a) = w { return String(format: "%.2f", a) }
        return nil
    }

    /// Train/test folders: --test as given, else a seeded by-case split of --data as links.
    func split(_ root: URL) throws -> (URL, URL) {
        let dataURL = URL(fileURLWithPath: data)
        if let test { return (dataURL, URL(fileURLWithPath: test)) }
        let cases = try CaseDiscovery.cases(in: dataURL)
        guard cases.count >= 3 else { throw ValidationError("\(data): need at least 3 cases to hold some out (or give --test)") }
        var names = cases.map(\.name)
        var rng = SeededRNG(seed: seed, stream: 11)
        for i in stride(from: names.count - 1, to: 0, by: -1) { names.swapAt(i, rng.below(i + 1)) }
        let nTest = max(1, Int((Double(cases.count) * testFraction).rounded()))
        let testNames = Set(names.prefix(nTest))
        let trainDir = root.appendingPathComponent("split/train"), testDir = root.appendingPathComponent("split/test")
        let fm = FileManager.default
        try? fm.removeItem(at: root.appendingPathComponent("split"))
        for d in [trainDir, testDir] { try fm.createDirectory(at: d, withIntermediateDirectories: true) }
        for c in cases {
            let dir = testNames.contains(c.name) ? testDir : trainDir
            for f in [c.image, c.labels!] {
                try fm.createSymbolicLink(at: dir.appendingPathComponent(f.lastPathComponent), withDestinationURL: f.standardizedFileURL)
            }
        }
        FileHandle.standardError.write(Data("held out \(nTest) of \(cases.count) cases for testing: \(testNames.sorted().joined(separator: ", "))\n".utf8))
        return (trainDir, testDir)
    }

    func run() throws {
        try ThreadsOption.apply(threads)
        let root = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let configs = try configurations()
        let (trainDir, testDir) = try split(root)
        var evaluations: [DatasetEvaluation] = [], figureDirs: [URL?] = [], seconds: [Double] = []
        var training: [(label: String, history: TrainingHistory)] = []
        // The cascades differ only in B's weighting, so their A would train identically (same
        // seed, data and settings): the first cascade trains it, the others take it from there
        // (`--liver-from`) and train B alone. With the demo preset's 20 liver epochs that saves
        // three of four A runs.
        var liverSource: URL?
        var sharedA = Set<String>()
        for (i, c) in configs.enumerated() {
            let runDir = root.appendingPathComponent("runs/\(c.name)")
            let run = RunDirectory(runDir)
            FileHandle.standardError.write(Data("\n== [\(i + 1)/\(configs.count)] \(c.label)\n".utf8))
            if let m = try? run.readManifest(), m.finished {
                FileHandle.standardError.write(Data("already trained (\(Int(m.trainingSeconds)) s); kept\n".utf8))
            } else if FileManager.default.fileExists(atPath: run.manifest.path) {
                try Trainer.resume(runDir: runDir).train()
            } else {
                var config = c.config
                if config.kind == .cascade, let liverSource {
                    config.liverFrom = liverSource.path
                    FileHandle.standardError.write(Data("network A taken from \(liverSource.lastPathComponent)\n".utf8))
                }
                try Trainer.start(data: trainDir, config: config, runDir: runDir).train()
            }
            let manifest = try run.readManifest()
            if c.config.kind == .cascade {
                if manifest.training.liverFrom != nil { sharedA.insert(c.name) } else if liverSource == nil { liverSource = runDir }
            }
            let evalDir = runDir.appendingPathComponent("evaluation")
            let e = try HeldOutEvaluation.run(model: runDir, testData: testDir, predictions: runDir.appendingPathComponent("predictions"),
                                              evaluation: evalDir, label: c.label)
            evaluations.append(e); figureDirs.append(evalDir)
            seconds.append(manifest.trainingSeconds)
            if let h = try? JSONDecoder().decode(TrainingHistory.self, from: Data(contentsOf: run.historyJSON)) { training.append((c.label, h)) }
        }
        let table = Self.table(configs: configs, evaluations: evaluations, seconds: seconds, sharedA: sharedA)
        try AtomicFile.write(Data(table.utf8), to: root.appendingPathComponent("table1.md"))
        let html = try Report.html(evaluations: evaluations, figureDirectories: figureDirs, training: training,
                                   title: "LiverSeg experiment: the seed's Table 1 on \(URL(fileURLWithPath: data).lastPathComponent)")
        try AtomicFile.write(Data(html.utf8), to: root.appendingPathComponent("report.html"))
        print(table)
        print("report: \(root.appendingPathComponent("report.html").path)")
    }

    /// The seed's Table 1 (rAUC, pixel accuracy, IoU, Rand index per structure), extended with
    /// Dice per case / global, ASSD, lesion recall and training time (B's alone, marked *, for
    /// the configurations named in `sharedA`, which took A from another run).
    static func table(configs: [Configuration], evaluations: [DatasetEvaluation], seconds: [Double], sharedA: Set<String> = []) -> String {
        func f(_ v: Double?, _ d: Int = 4) -> String { v.map { String(format: "%.\(d)f", $0) } ?? "–" }
        var t = "| Model | Data | α / c | rAUC | Pixel acc | IoU | RI | Dice/case | Dice global | ASSD mm | Lesion recall | Train s |\n"
        t += "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for (i, (c, e)) in zip(configs, evaluations).enumerated() {
            let param: String
            switch c.config.kind {
            case .oneStep: param = "bal"
            case .cascade: param = Self.alphaText(c.config.tumorWeighting) ?? "bal"
            case .joint: param = String(format: "c=%.2f", c.config.jointC)
            }
            for s in e.structures {
                let tumor = s.name == "tumor"
                t += "| \(c.label) | \(s.name.capitalized) | \(tumor ? param : "") | \(tumor ? f(e.restrictedROC?.auc, 3) : "") | "
                t += "\(f(s.metrics["pixel_accuracy"]?.mean)) | \(f(s.metrics["jaccard"]?.mean)) | \(f(s.metrics["rand_index"]?.mean)) | "
                t += "\(f(s.dicePerCase)) | \(f(s.diceGlobal)) | \(f(s.metrics["assd"]?.mean, 2)) | "
                t += "\(tumor ? f(e.lesions?.detectionRecall, 3) : "") | \(tumor ? String(format: "%.0f", seconds[i]) + (sharedA.contains(c.name) ? "*" : "") : "") |\n"
            }
        }
        if !sharedA.isEmpty { t += "\n\\* network A taken from the first cascade (`--liver-from`); training time of B alone.\n" }
        return t
    }
}
