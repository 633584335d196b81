import Foundation
import Testing
@testable import Evaluation

/// Reference values written by scripts/fixtures/make_evaluation_fixtures.py with medpy,
/// scikit-learn and scipy.
struct MaskFixture: Decodable {
    struct Case: Decodable {
        let name: String
        let shape: [Int]
        let spacing: [Double]
        let truth: [UInt8]
        let prediction: [UInt8]
        let reference: Reference
    }
    struct Reference: Decodable {
        let pixel_accuracy: Double
        let rand_index: Double
        let adjusted_rand_index: Double
        let structures: [String: StructureRef]
        let lesions: LesionRef?
    }
    struct StructureRef: Decodable {
        let tp, fp, fn, tn: Int
        let dice, jaccard, voe, rvd, precision, recall, specificity, pixel_accuracy, rand_index: Double?
        let assd, mssd, hd95: Double?
    }
    struct LesionRef: Decodable {
        let truth_lesions, predicted_lesions, detected, correct_predictions: Int
        let truth_volumes_ml, predicted_volumes_ml: [Double]
        let truth_burden, predicted_burden, burden_error: Double?
    }
    let cases: [Case]
}

func fixtureURL(_ name: String) throws -> URL {
    let dir = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return dir.appendingPathComponent(name)
}

func loadMasks() throws -> [MaskFixture.Case] {
    try JSONDecoder().decode(MaskFixture.self, from: Data(contentsOf: fixtureURL("masks.json"))).cases
}

/// nil must match nil; numbers within `tol`.
func expectClose(_ a: Double?, _ b: Double?, _ tol: Double, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    switch (a, b) {
    case (nil, nil): break
    case let (x?, y?): #expect(abs(x - y) <= tol, "\(what): \(x) vs reference \(y)", sourceLocation: sourceLocation)
    default: Issue.record("\(what): \(String(describing: a)) vs reference \(String(describing: b))", sourceLocation: sourceLocation)
    }
}

@Suite struct ReferenceMetricsTests {
    static let ratioTol = 1e-9, mmTol = 1e-5

    @Test func everyFixtureCaseMatchesMedpyAndSklearn() throws {
        let cases = try loadMasks()
        #expect(cases.count >= 18)
        for c in cases {
            let e = try CaseEvaluator.evaluate(name: c.name, truth: c.truth, prediction: c.prediction,
                                               shape: c.shape, spacing: c.spacing).metrics
            let r = c.reference
            expectClose(e.pixelAccuracy, r.pixel_accuracy, Self.ratioTol, "\(c.name) pixel accuracy")
            expectClose(e.randIndex, r.rand_index, Self.ratioTol, "\(c.name) rand index")
            expectClose(e.adjustedRandIndex, r.adjusted_rand_index, Self.ratioTol, "\(c.name) adjusted rand")
            #expect(Set(e.structures.map(\.name)) == Set(r.structures.keys), "\(c.name) structures")
            for (name, ref) in r.structures {
                let m = try #require(e.structure(name), "\(c.name): no \(name)")
                let what = "\(c.name)/\(name)"
                #expect(m.counts == ConfusionCounts(truePositives: ref.tp, falsePositives: ref.fp,
                                                    falseNegatives: ref.fn, trueNegatives: ref.tn), "\(what) counts")
                for (label, mine, theirs) in [("dice", m.dice, ref.dice), ("jaccard", m.jaccard, ref.jaccard),
                                              ("voe", m.voe, ref.voe), ("rvd", m.rvd, ref.rvd),
                                              ("precision", m.precision, ref.precision), ("recall", m.recall, ref.recall),
                                              ("specificity", m.specificity, ref.specificity),
                                              ("pixel accuracy", m.pixelAccuracy, ref.pixel_accuracy),
                                              ("rand index", m.randIndex, ref.rand_index)] {
                    expectClose(mine, theirs, Self.ratioTol, "\(what) \(label)")
                }
                expectClose(m.assd, ref.assd, Self.mmTol, "\(what) assd")
                expectClose(m.mssd, ref.mssd, Self.mmTol, "\(what) mssd")
                expectClose(m.hd95, ref.hd95, Self.mmTol, "\(what) hd95")
            }
            if let lr = r.lesions {
                let l = try #require(e.lesions, "\(c.name) lesions")
                #expect(l.truthLesions == lr.truth_lesions, "\(c.name) truth lesions")
                #expect(l.predictedLesions == lr.predicted_lesions, "\(c.name) predicted lesions")
                #expect(l.detected == lr.detected, "\(c.name) detected")
                #expect(l.correctPredictions == lr.correct_predictions, "\(c.name) correct predictions")
                #expect(l.truthVolumesML.count == lr.truth_volumes_ml.count)
                for (a, b) in zip(l.truthVolumesML, lr.truth_volumes_ml) { expectClose(a, b, 1e-12, "\(c.name) volume") }
                for (a, b) in zip(l.predictedVolumesML, lr.predicted_volumes_ml) { expectClose(a, b, 1e-12, "\(c.name) volume") }
                expectClose(l.truthBurden, lr.truth_burden, Self.ratioTol, "\(c.name) burden")
                expectClose(l.predictedBurden, lr.predicted_burden, Self.ratioTol, "\(c.name) burden")
                expectClose(l.burdenError, lr.burden_error, Self.ratioTol, "\(c.name) burden error")
            } else {
                #expect(e.lesions == nil)
            }
        }
    }

    @Test func booleanMaskAPIAgreesWithLabelMapPath() throws {
        let c = try #require(try loadMasks().first { $0.name == "anisotropic" })
        let p = c.prediction.map { $0 != 0 }, t = c.truth.map { $0 != 0 }
        let sd = try #require(try SurfaceDistances.compute(prediction: p, truth: t, shape: c.shape, spacing: c.spacing))
        let ref = try #require(c.reference.structures["foreground"])
        expectClose(sd.assd, ref.assd, Self.mmTol, "assd")
        expectClose(sd.hd95, ref.hd95, Self.mmTol, "hd95")
        let counts = try ConfusionCounts(prediction: p, truth: t)
        expectClose(counts.dice, ref.dice, Self.ratioTol, "dice")
        expectClose(counts.randIndex, ref.rand_index, Self.ratioTol, "rand")
    }

    @Test func distanceTransformMatchesBruteForce() {
        // Brute force over all feature voxels, anisotropic spacing, several random patterns.
        var rng = Support_RNG(seed: 7)
        for trial in 0..<5 {
            let nx = 7 + trial, ny = 5 + 2 * trial, nz = 4 + trial
            var f = [Bool](repeating: false, count: nx * ny * nz)
            for i in 0..<f.count where rng.next() % 23 == 0 { f[i] = true }
            let s = (0.6 + 0.1 * Double(trial), 1.3, 2.2)
            let d = DistanceTransform.squared(feature: f, shape: (nx, ny, nz), spacing: s)
            let features = f.indices.filter { f[$0] }
            for idx in 0..<f.count {
                let i = idx % nx, j = (idx / nx) % ny, k = idx / (nx * ny)
                var best = Double.infinity
                for g in features {
                    let gi = g % nx, gj = (g / nx) % ny, gk = g / (nx * ny)
                    let dx = Double(i - gi) * s.0, dy = Double(j - gj) * s.1, dz = Double(k - gk) * s.2
                    best = min(best, dx * dx + dy * dy + dz * dz)
                }
                #expect(abs(d[idx] - best) <= 1e-9 * max(1, best) || (best == .infinity && d[idx] == .infinity))
            }
        }
    }

    @Test func litsCaseWithoutTumorKeepsBothStructures() throws {
        // Liver only, no tumor anywhere: LiTS scoring still reports a tumor structure, with the
        // both-empty conventions, and lesion counts of zero.
        let t: [UInt8] = [0, 1, 1, 1, 0, 0], p: [UInt8] = [0, 0, 1, 1, 1, 0]
        let m = try CaseEvaluator.evaluate(name: "c", truth: t, prediction: p, shape: [6, 1, 1], spacing: [1, 1, 1],
                                           structures: .lits).metrics
        #expect(m.structures.map(\.name) == ["liver", "tumor"])
        let tumor = try #require(m.structure("tumor"))
        #expect(tumor.dice == 1 && tumor.jaccard == 1 && tumor.voe == 0 && tumor.rvd == 0)
        #expect(tumor.assd == 0 && tumor.mssd == 0 && tumor.hd95 == 0)
        #expect(tumor.precision == nil && tumor.recall == nil)
        #expect(m.lesions?.truthLesions == 0 && m.lesions?.detectionRecall == nil)
        expectClose(m.structure("liver")?.dice, 2.0 * 2 / 6, 1e-15, "liver dice")
        // The same maps scored automatically are a binary foreground.
        let auto = try CaseEvaluator.evaluate(name: "c", truth: t, prediction: p, shape: [6, 1, 1], spacing: [1, 1, 1]).metrics
        #expect(auto.structures.map(\.name) == ["foreground"])
        // And a label map forced to binary scores every non-zero label as one structure.
        let b = try CaseEvaluator.evaluate(name: "c", truth: [0, 2, 1], prediction: [1, 1, 0], shape: [3, 1, 1], spacing: [1, 1, 1],
                                           structures: .binary).metrics
        #expect(b.structures.map(\.name) == ["foreground"] && b.structure("foreground")?.counts.truePositives == 1)
    }

    @Test func malformedInputsAreErrorsNotCrashes() {
        #expect(throws: EvaluationError.self) {
            try CaseEvaluator.evaluate(name: "x", truth: [0, 1], prediction: [0, 1, 1], shape: [3, 1, 1], spacing: [1, 1, 1])
        }
        #expect(throws: EvaluationError.self) {
            try CaseEvaluator.evaluate(name: "x", truth: [0, 1, 0], prediction: [0, 1, 1], shape: [3, 1, 1], spacing: [1, 0, 1])
        }
        let e = #expect(throws: EvaluationError.self) {
            try CaseEvaluator.evaluate(name: "case7", truth: [0, 1, 7], prediction: [0, 1, 1], shape: [3, 1, 1], spacing: [1, 1, 1])
        }
        #expect(e?.description.contains("label 7") == true)
        #expect(e?.description.contains("case7") == true)
        #expect(throws: EvaluationError.self) {
            try CaseEvaluator.evaluate(name: "x", truth: [0, 1, 0], prediction: [0, 1, 1], shape: [3, 1, 1], spacing: [1, 1, 1],
                                       probabilities: [0.1, Float.nan, 0.3])
        }
    }
}

/// Tests draw their own pseudo-random patterns without touching the system RNG.
struct Support_RNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct InternalPathTests {
    @Test func labelBoxesMatchBruteForceOnAMultiThreadedScan() {
        // 128×128×64 voxels: enough for the slice scan to be split across threads.
        let shape = [128, 128, 64]
        var v = [UInt8](repeating: 0, count: shape.reduce(1, *))
        var rng = Support_RNG(seed: 5)
        for _ in 0..<40 {
            let l = UInt8(1 + rng.next() % 3)
            let i = Int(rng.next() % 120), j = Int(rng.next() % 120), k = Int(rng.next() % 60)
            for dk in 0..<Int(1 + rng.next() % 4) { for dj in 0..<Int(1 + rng.next() % 8) { for di in 0..<Int(1 + rng.next() % 8) {
                v[((k + dk) * 128 + j + dj) * 128 + i + di] = l
            } } }
        }
        let boxes = v.withUnsafeBufferPointer { LabelBoxes($0, shape: shape) }
        for range: ClosedRange<UInt8> in [1...1, 2...2, 3...3, 1...255, 2...3] {
            var lo = [Int.max, Int.max, Int.max], hi = [-1, -1, -1]
            for idx in v.indices where range.contains(v[idx]) {
                let c = [idx % 128, (idx / 128) % 128, idx / (128 * 128)]
                for a in 0..<3 { lo[a] = min(lo[a], c[a]); hi[a] = max(hi[a], c[a] + 1) }
            }
            let expected = hi[0] < 0 ? nil : BoundingBox(lower: lo, upper: hi)
            #expect(boxes.box(range) == expected, "\(range)")
        }
    }
}
