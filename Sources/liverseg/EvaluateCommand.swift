import ArgumentParser
import Evaluation
import Foundation
import Support

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score predicted label maps against the truth (LiTS metrics, the seed's rAUC/IoU/RI, lesions).",
        discussion: """
        TRUTH and PRED are NIfTI files, or folders paired by LiTS names (segmentation-N ↔ segmentation-N or \
        test-segmentation-N). 0/1 masks are scored as `foreground`, 0/1/2 label maps as `liver` (≥1) and `tumor` (2). \
        --prob gives the tumor (or foreground) probability map(s) for AUC, restricted AUC and the ROC threshold. \
        Missing or unreadable cases are reported by name and the rest are scored; the exit status is 1 if any case failed.
        """)

    @Option(name: .long, help: "Ground-truth label map, or folder of them.") var truth: String
    @Option(name: .long, help: "Predicted label map, or folder of them.") var pred: String
    @Option(name: .long, help: "Probability map (tumor or foreground), or folder (files ending in -N).") var prob: String?
    @Option(name: .long, help: "CT volume or folder (volume-N) for the overlay figures.") var ct: String?
    @Flag(name: .long, help: "Print the full evaluation as JSON on stdout.") var json = false
    @Option(name: .long, help: "Write per-case metrics as CSV to this file.") var csv: String?
    @Option(name: .long, help: "Write evaluation.json, cases.csv and overlay figures into this folder (input of `report`).") var out: String?
    @Option(name: .long, help: "Model name shown in reports (default: the prediction folder's name).") var label: String?
    @Option(name: .long, help: "Structures: automatic (LiTS names or label 2 → liver+tumor, else foreground), binary, lits.")
    var structures: String = "automatic"

    func run() throws {
        let predURL = URL(fileURLWithPath: pred)
        let files: [CaseFiles]
        do {
            files = try DatasetEvaluator.pair(truth: URL(fileURLWithPath: truth), prediction: predURL,
                                              probabilities: prob.map { URL(fileURLWithPath: $0) }, ct: ct.map { URL(fileURLWithPath: $0) })
        } catch {
            throw ValidationError("\(error)")
        }
        guard let set = StructureSet(rawValue: structures) else {
            throw ValidationError("--structures must be automatic, binary or lits, got \(structures)")
        }
        let outDir = out.map { URL(fileURLWithPath: $0) }
        let name = label ?? predURL.lastPathComponent.replacingOccurrences(of: ".nii.gz", with: "").replacingOccurrences(of: ".nii", with: "")
        let progress: (String) -> Void = { line in
            FileHandle.standardError.write(Data("evaluate: \(line)\n".utf8))
        }
        let result = DatasetEvaluator.evaluate(files, label: name, figures: outDir?.appendingPathComponent("figures"),
                                               structures: set, progress: progress)
        var withFigures = result
        withFigures.figures = result.figures.map { FigureReference(file: "figures/" + $0.file, caption: $0.caption, kind: $0.kind, caseName: $0.caseName) }
        if let outDir {
            try AtomicFile.write(Report.json(withFigures), to: outDir.appendingPathComponent("evaluation.json"))
            try AtomicFile.write(Data(Report.csv(result).utf8), to: outDir.appendingPathComponent("cases.csv"))
        }
        if let csv { try AtomicFile.write(Data(Report.csv(result).utf8), to: URL(fileURLWithPath: csv)) }
        if json {
            FileHandle.standardOutput.write(try Report.json(withFigures))
            print()
        } else {
            printSummary(result)
        }
        if !result.failures.isEmpty { throw ExitCode(1) }
    }

    func printSummary(_ e: DatasetEvaluation) {
        func f(_ v: Double?, _ d: Int = 4) -> String { v.map { String(format: "%.\(d)f", $0) } ?? "null" }
        print("\(e.label): \(e.cases.count) case(s) scored, \(e.failures.count) failed")
        for s in e.structures {
            let m = s.metrics
            print("  \(s.name): Dice per case \(f(s.dicePerCase)), Dice global \(f(s.diceGlobal)), VOE \(f(m["voe"]?.mean)), RVD \(f(m["rvd"]?.mean)), ASSD \(f(m["assd"]?.mean, 2)) mm, MSSD \(f(m["mssd"]?.mean, 2)) mm, HD95 \(f(m["hd95"]?.mean, 2)) mm, IoU \(f(m["jaccard"]?.mean)), RI \(f(m["rand_index"]?.mean))")
        }
        if let r = e.restrictedROC {
            print("  restricted ROC (pooled, \(r.positives + r.negatives) voxels in (0.01, 0.99)): rAUC \(f(r.auc)), Youden threshold \(f(r.youdenThreshold))")
        }
        if let l = e.lesions {
            print("  lesions: \(l.detected)/\(l.truthLesions) detected (recall \(f(l.detectionRecall, 3))), \(l.correctPredictions)/\(l.predictedLesions) predicted correct (precision \(f(l.detectionPrecision, 3)))")
        }
        for c in e.cases {
            let parts = c.structures.map { "\($0.name) Dice \(f($0.dice))" }.joined(separator: ", ")
            print("  \(c.name): pixel acc \(f(c.pixelAccuracy)), RI \(f(c.randIndex)), \(parts)")
        }
        for x in e.failures { print("  FAILED \(x.name): \(x.error)") }
    }
}

/// `liverseg bench eval`: timings of the metric engine at full CT size (release build).
struct EvaluateBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Time all metrics on a 512×512×500 label pair and the restricted AUC over 100 M probabilities.")

    @Option(name: .long, help: "Label grid nx,ny,nz.") var shape: String = "512,512,500"
    @Option(name: .long, help: "Number of probabilities for the AUC timing.") var probabilities: Int = 100_000_000
    @Option(name: .long, help: "Also write the timings as JSON here.") var json: String?

    func run() throws {
        let s = shape.split(separator: ",").compactMap { Int($0) }
        guard s.count == 3, s.allSatisfy({ $0 > 0 }) else { throw ValidationError("--shape wants three positive integers, got \(shape)") }
        guard probabilities > 0 else { throw ValidationError("--probabilities must be positive") }
        print("bench eval: \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let t = try EvaluationBenchmark.run(shape: s, probabilityCount: probabilities)
        if let json { try AtomicFile.write(Report.json(t), to: URL(fileURLWithPath: json)) }
    }
}
