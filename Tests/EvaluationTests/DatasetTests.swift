import Foundation
import MedicalImage
import Testing
@testable import Evaluation

/// NIfTI files written by nibabel (scripts/fixtures/make_evaluation_fixtures.py), scored end
/// to end: pairing by LiTS names, reading, grid checks, per-case and aggregate metrics.
struct DatasetReference: Decodable {
    struct Case: Decodable {
        let name: String
        let spacing: [Double]
        let reference: Ref
    }
    struct Ref: Decodable {
        let pixel_accuracy, rand_index, adjusted_rand_index: Double
        let structures: [String: S]
    }
    struct S: Decodable {
        let dice, jaccard, voe, rvd, precision, recall, specificity, assd, mssd, hd95: Double?
        let auc, rauc, roc_threshold: Double?
    }
    struct Agg: Decodable {
        let dice_per_case, dice_global, dice_sd, dice_median: Double
        let assd_mean, hd95_mean, rvd_mean: Double?
    }
    let cases: [Case]
    let aggregate: [String: AggValue]
    let missing: [String]
    let mismatched: [String]

    enum AggValue: Decodable {
        case structure(Agg), number(Double)
        init(from d: Decoder) throws {
            if let n = try? d.singleValueContainer().decode(Double.self) { self = .number(n) } else { self = .structure(try Agg(from: d)) }
        }
    }
}

@Suite struct DatasetTests {
    func root() throws -> URL { try fixtureURL("dataset") }

    @Test func pairsLiTSNamesAndReportsMissingPrediction() throws {
        let r = try root()
        let files = try DatasetEvaluator.pair(truth: r.appendingPathComponent("truth"), prediction: r.appendingPathComponent("pred"),
                                              probabilities: r.appendingPathComponent("prob"))
        #expect(files.map(\.name) == ["segmentation-0", "segmentation-1", "segmentation-2", "segmentation-3"])
        #expect(files[1].prediction?.lastPathComponent == "test-segmentation-1.nii")
        #expect(files[1].probabilities?.lastPathComponent == "prob-1.nii.gz")
        #expect(files[2].prediction == nil)
        #expect(files[3].probabilities == nil)
    }

    @Test func scoresTheDatasetLikeTheReference() throws {
        let r = try root()
        let ref = try JSONDecoder().decode(DatasetReference.self, from: Data(contentsOf: r.appendingPathComponent("reference.json")))
        let files = try DatasetEvaluator.pair(truth: r.appendingPathComponent("truth"), prediction: r.appendingPathComponent("pred"),
                                              probabilities: r.appendingPathComponent("prob"))
        let e = DatasetEvaluator.evaluate(files, label: "fixture")
        #expect(e.cases.map(\.name) == ref.cases.map(\.name))
        #expect(Set(e.failures.map(\.name)) == Set(ref.missing + ref.mismatched))
        let missing = try #require(e.failures.first { $0.name == "segmentation-2" })
        #expect(missing.error.contains("no prediction"))
        let mismatched = try #require(e.failures.first { $0.name == "segmentation-3" })
        #expect(mismatched.error.contains("affine"))
        for c in ref.cases {
            let m = try #require(e.cases.first { $0.name == c.name })
            for (a, b) in zip(m.spacing, c.spacing) { expectClose(a, b, 1e-6, "\(c.name) spacing") }
            expectClose(m.pixelAccuracy, c.reference.pixel_accuracy, 1e-9, "\(c.name) pixel accuracy")
            expectClose(m.randIndex, c.reference.rand_index, 1e-9, "\(c.name) RI")
            expectClose(m.adjustedRandIndex, c.reference.adjusted_rand_index, 1e-9, "\(c.name) ARI")
            for (name, s) in c.reference.structures {
                let x = try #require(m.structure(name))
                expectClose(x.dice, s.dice, 1e-9, "\(c.name) \(name) dice")
                expectClose(x.rvd, s.rvd, 1e-9, "\(c.name) \(name) rvd")
                expectClose(x.specificity, s.specificity, 1e-9, "\(c.name) \(name) specificity")
                // Spacing comes from a float32 header: allow its rounding in millimetres.
                expectClose(x.assd, s.assd, 1e-5, "\(c.name) \(name) assd")
                expectClose(x.hd95, s.hd95, 1e-5, "\(c.name) \(name) hd95")
                expectClose(x.mssd, s.mssd, 1e-5, "\(c.name) \(name) mssd")
                if name == "tumor" {
                    expectClose(x.auc, s.auc, 1e-9, "\(c.name) auc")
                    expectClose(x.rauc, s.rauc, 1e-9, "\(c.name) rauc")
                    expectClose(x.rocThreshold, s.roc_threshold, 0, "\(c.name) roc threshold")
                }
            }
        }
        for name in ["liver", "tumor"] {
            guard case .structure(let a)? = ref.aggregate[name] else { Issue.record("no aggregate \(name)"); continue }
            let s = try #require(e.structure(name))
            expectClose(s.dicePerCase, a.dice_per_case, 1e-12, "\(name) dice per case")
            expectClose(s.diceGlobal, a.dice_global, 1e-12, "\(name) dice global")
            expectClose(s.metrics["dice"]?.sd, a.dice_sd, 1e-12, "\(name) dice sd")
            expectClose(s.metrics["dice"]?.median, a.dice_median, 1e-12, "\(name) dice median")
            expectClose(s.metrics["assd"]?.mean, a.assd_mean, 1e-5, "\(name) assd mean")
            expectClose(s.metrics["rvd"]?.mean, a.rvd_mean, 1e-9, "\(name) rvd mean")
            #expect(s.metrics["dice"]?.n == 2)
        }
        guard case .number(let pooled)? = ref.aggregate["pooled_rauc"] else { Issue.record("no pooled rauc"); return }
        expectClose(e.restrictedROC?.auc, pooled, 1e-9, "pooled rAUC")
    }

    @Test func corruptPredictionFailsThatCaseOnlyAndNamesTheFile() throws {
        let r = try root()
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("liverseg-eval-\(getpid())-corrupt")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let pred = tmp.appendingPathComponent("pred")
        try FileManager.default.createDirectory(at: pred, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: r.appendingPathComponent("pred/segmentation-0.nii.gz"),
                                         to: pred.appendingPathComponent("segmentation-0.nii.gz"))
        try Data("not a nifti file at all".utf8).write(to: pred.appendingPathComponent("segmentation-1.nii"))
        let files = try DatasetEvaluator.pair(truth: r.appendingPathComponent("truth"), prediction: pred)
        let e = DatasetEvaluator.evaluate(files, label: "x")
        #expect(e.cases.map(\.name) == ["segmentation-0"])
        let bad = try #require(e.failures.first { $0.name == "segmentation-1" })
        #expect(bad.error.contains("segmentation-1.nii"), "\(bad.error)")
        #expect(Set(e.failures.map(\.name)) == ["segmentation-1", "segmentation-2", "segmentation-3"])
    }

    @Test func mismatchedShapeIsAClearError() throws {
        let a = Geometry(shape: [4, 4, 2], spacing: [1, 1, 1]), b = Geometry(shape: [4, 5, 2], spacing: [1, 1, 1])
        let e = #expect(throws: EvaluationError.self) { try DatasetEvaluator.checkSameGrid(a, "t.nii", b, "p.nii") }
        #expect(e?.description.contains("shape") == true && e?.description.contains("p.nii") == true)
        #expect(throws: EvaluationError.self) {
            try DatasetEvaluator.pair(truth: URL(fileURLWithPath: "/nonexistent/t"), prediction: URL(fileURLWithPath: "/nonexistent/p"))
        }
    }
}

@Suite struct AggregationTests {
    @Test func undefinedValuesAreSkippedAndCounted() {
        let s = MetricSummary([0.5, nil, 0.7, 0.9, nil])
        #expect(s.n == 3 && s.skipped == 2)
        expectClose(s.mean, 0.7, 1e-15, "mean")
        expectClose(s.median, 0.7, 1e-15, "median")
        expectClose(s.sd, 0.2, 1e-15, "sd")
        let none = MetricSummary([nil, nil])
        #expect(none.mean == nil && none.sd == nil && none.median == nil && none.skipped == 2)
    }

    @Test func jsonHasTheIssueKeysAndNulls() throws {
        let e = try CaseEvaluator.evaluate(name: "c", truth: [0, 1, 1, 0], prediction: [0, 0, 0, 0], shape: [4, 1, 1], spacing: [1, 1, 1])
        let obj = try #require(try JSONSerialization.jsonObject(with: Report.json(e.metrics)) as? [String: Any])
        for k in ["pixel_accuracy", "rand_index", "adjusted_rand_index", "structures", "case"] { #expect(obj[k] != nil, "missing \(k)") }
        let fg = try #require((obj["structures"] as? [String: Any])?["foreground"] as? [String: Any])
        for k in ["dice", "jaccard", "voe", "rvd", "precision", "recall", "specificity", "assd", "mssd", "hd95", "auc", "rauc", "roc_threshold"] {
            #expect(fg.keys.contains(k), "missing \(k)")
        }
        #expect(fg["assd"] is NSNull && fg["precision"] is NSNull && fg["auc"] is NSNull)
        #expect(fg["dice"] as? Double == 0)
        // Round trip through the report's decoder.
        let ds = DatasetEvaluation(label: "m", cases: [e.metrics])
        let back = try JSONDecoder().decode(DatasetEvaluation.self, from: Report.json(ds))
        #expect(back.cases == ds.cases && back.structures == ds.structures)
    }
}
