import ArgumentParser
import Evaluation
import Foundation
import Support

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one static HTML page from evaluation folders (and training runs).",
        discussion: """
        Each DIR is a folder written by `liverseg evaluate --out` (holding evaluation.json), or a run folder \
        holding one in eval/ or evaluation/; a training_history.json beside it adds training curves. Several \
        DIRs become several models in one Table 1 and one ROC plot.
        """)

    @Argument(help: "Evaluation or run folders.") var dirs: [String]
    @Option(name: .long, help: "Output HTML file.") var out: String = "report.html"
    @Option(name: .long, help: "Page title.") var title: String = "LiverSeg evaluation"

    func run() throws {
        var evaluations: [DatasetEvaluation] = [], figureDirs: [URL?] = []
        var training: [(label: String, history: TrainingHistory)] = []
        let fm = FileManager.default
        for d in dirs {
            let dir = URL(fileURLWithPath: d)
            let candidates = [dir, dir.appendingPathComponent("eval"), dir.appendingPathComponent("evaluation")]
            guard let evalDir = candidates.first(where: { fm.fileExists(atPath: $0.appendingPathComponent("evaluation.json").path) }) else {
                throw ValidationError("\(d): no evaluation.json there or in eval/ or evaluation/ (run `liverseg evaluate --out \(d)` first)")
            }
            let file = evalDir.appendingPathComponent("evaluation.json")
            let e: DatasetEvaluation
            do { e = try JSONDecoder().decode(DatasetEvaluation.self, from: Data(contentsOf: file)) } catch {
                throw ValidationError("\(file.path): not a LiverSeg evaluation (\(error))")
            }
            evaluations.append(e); figureDirs.append(evalDir)
            for h in [dir, evalDir].map({ $0.appendingPathComponent("training_history.json") }) where fm.fileExists(atPath: h.path) {
                do {
                    training.append((e.label, try JSONDecoder().decode(TrainingHistory.self, from: Data(contentsOf: h))))
                } catch { throw ValidationError("\(h.path): not a training history (\(error))") }
                break
            }
        }
        let html = try Report.html(evaluations: evaluations, figureDirectories: figureDirs, training: training, title: title)
        try AtomicFile.write(Data(html.utf8), to: URL(fileURLWithPath: out))
        print("report: wrote \(out) (\(evaluations.count) evaluation(s), \(html.utf8.count / 1024) KiB)")
    }
}
