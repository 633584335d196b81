import Evaluation
import Foundation
import MedicalImage
import Support

/// Segments every case of a LiTS-layout test folder with a trained run and scores the
/// predictions against the folder's labels (used by `demo` and `experiment`).
public enum HeldOutEvaluation {
    public static func run(model runDir: URL, testData: URL, predictions: URL, evaluation: URL, label: String,
                           quiet: Bool = false) throws -> DatasetEvaluation {
        let (model, _) = try RunDirectory(runDir).loadModel()
        let predictor = Predictor(model: model)
        let cases = try CaseDiscovery.cases(in: testData, requireLabels: false)
        try FileManager.default.createDirectory(at: predictions, withIntermediateDirectories: true)
        let bar = quiet ? nil : ProgressBar(total: cases.count, label: "segmenting \(label)")
        for c in cases {
            let id = c.name.hasPrefix("case-") ? String(c.name.dropFirst(5)) : c.name
            let volume = try MedicalImageReader.readScan(c.image)
            let (labels, prob, summary) = try predictor.segment(volume, tumorProbability: true)
            try NIfTI.write(labels, to: predictions.appendingPathComponent("segmentation-\(id).nii.gz"))
            if let prob { try NIfTI.write(prob, to: predictions.appendingPathComponent("probability-\(id).nii.gz")) }
            bar?.advance(status: "\(c.name): \(summary.line)")
        }
        bar?.finish()
        let files = try DatasetEvaluator.pair(truth: testData, prediction: predictions, probabilities: predictions, ct: testData)
        let result = DatasetEvaluator.evaluate(files, label: label, figures: evaluation)
        try AtomicFile.write(Report.json(result), to: evaluation.appendingPathComponent("evaluation.json"))
        try AtomicFile.write(Data(Report.csv(result).utf8), to: evaluation.appendingPathComponent("evaluation.csv"))
        // The report draws training curves found beside the evaluation.
        let history = RunDirectory(runDir).historyJSON
        if FileManager.default.fileExists(atPath: history.path) {
            let dst = evaluation.appendingPathComponent("training_history.json")
            try AtomicFile.write(Data(contentsOf: history), to: dst)
        }
        return result
    }
}
