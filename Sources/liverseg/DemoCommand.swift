import ArgumentParser
import Evaluation
import Foundation
import MedicalImage
import Phantom
import Segmentation
import Support
import Tensor

/// The whole job on built-in synthetic data: make CT phantoms, train the sequential cascade,
/// segment unseen volumes, score them and write a report. No download, a few minutes on 2 cores.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Synthesize CT phantoms, train the cascade, segment held-out cases, evaluate, and write report.html.")

    @Option(help: "Output folder (created; an existing demo there is replaced stage by stage).") var out: String = "liverseg-demo"
    @Flag(help: "A one-minute smoke run (tiny data and model; scores are not meaningful).") var quick = false
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Random seed of the training phantoms (test phantoms use seed+1000).") var seed: UInt64 = 1

    struct Plan {
        var trainCases: Int, testCases: Int, phantom: PhantomConfig, training: TrainingConfig
    }

    func plan() throws -> Plan {
        var t = try TrainingConfig.preset("demo")
        t.kind = .cascade
        t.seed = seed
        if quick {
            t.size = 64; t.filters = 8; t.depth = 3
            t.liverEpochs = 1; t.stage1Epochs = 1; t.stage2Epochs = 1; t.maxSlicesPerEpoch = 48
            return Plan(trainCases: 4, testCases: 2, phantom: PhantomConfig(size: 128, slices: 20...28), training: t)
        }
        return Plan(trainCases: 12, testCases: 3, phantom: PhantomConfig(size: 256, slices: 40...56), training: t)
    }

    func run() throws {
        try ThreadsOption.apply(threads)
        let start = ProcessStats.now()
        let p = try plan()
        let root = URL(fileURLWithPath: out)
        let trainDir = root.appendingPathComponent("data/train"), testDir = root.appendingPathComponent("data/test")
        let runDir = root.appendingPathComponent("model"), predDir = root.appendingPathComponent("predictions")
        let evalDir = root.appendingPathComponent("evaluation")
        // Stages write into fresh folders, so a rerun never mixes old and new results.
        for d in [trainDir, testDir, runDir, predDir, evalDir] where FileManager.default.fileExists(atPath: d.path) {
            try FileManager.default.removeItem(at: d)
        }
        func stage(_ s: String) { FileHandle.standardError.write(Data("\n== \(s)\n".utf8)) }

        stage("1/4 synthesizing \(p.trainCases) training and \(p.testCases) test phantoms (\(p.phantom.size)², \(p.phantom.slices) slices)")
        let jobs = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        for (dir, n, s) in [(trainDir, p.trainCases, seed), (testDir, p.testCases, seed + 1000)] {
            let bar = ProgressBar(total: n, label: dir.lastPathComponent == "train" ? "train phantoms" : "test phantoms ")
            try PhantomDataset.write(to: dir, cases: 0..<n, seed: s, config: p.phantom, jobs: jobs) { info, _ in
                bar.advance(status: "case \(info.index)")
            }
            bar.finish()
        }

        stage("2/4 training the sequential cascade (\(p.training.size)², F=\(p.training.filters), \(p.training.optimizer))")
        let trainer = try Trainer.start(data: trainDir, config: p.training, runDir: runDir)
        try trainer.train()

        stage("3/4 segmenting the held-out phantoms and scoring them against their ground truth")
        let evaluation = try HeldOutEvaluation.run(model: runDir, testData: testDir, predictions: predDir, evaluation: evalDir,
                                                   label: "cascade (demo)")

        stage("4/4 writing the report")
        let history = try JSONDecoder().decode(TrainingHistory.self, from: Data(contentsOf: RunDirectory(runDir).historyJSON))
        let html = try Report.html(evaluations: [evaluation], figureDirectories: [evalDir], training: [("cascade (demo)", history)],
                                   title: "LiverSeg demo: sequential cascade on synthetic CT")
        let report = root.appendingPathComponent("report.html")
        try AtomicFile.write(Data(html.utf8), to: report)

        print("\nLiverSeg demo — held-out phantoms (\(p.testCases) cases), \(quick ? "quick smoke run" : "demo preset")")
        print("structure  Dice/case  Dice glob  IoU mean  ASSD mm")
        for s in evaluation.structures {
            func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "n/a" }
            print("\(s.name.padding(toLength: 9, withPad: " ", startingAt: 0)) \(f(s.dicePerCase).leftPad(10)) \(f(s.diceGlobal).leftPad(10)) \(f(s.metrics["jaccard"]?.mean).leftPad(9)) \(f(s.metrics["assd"]?.mean).leftPad(8))")
        }
        if !evaluation.failures.isEmpty { print("failed cases: \(evaluation.failures.map { "\($0.name): \($0.error)" }.joined(separator: "; "))") }
        print("total time \(ProgressBar.clock(ProcessStats.now() - start)); report: \(report.path)")
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
