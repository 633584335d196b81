import Foundation
import Testing
@testable import Evaluation

struct ROCFixture: Decodable {
    struct Ref: Decodable {
        let positives, negatives, distinct: Int
        let auc, youden_threshold, closest_threshold, youden_j: Double?
        let fpr, tpr: [Double]?
        let thresholds: [Double?]?
    }
    struct Case: Decodable {
        let name: String
        let probabilities: [Double]
        let truth: [Int]
        let all: Ref
        let restricted: Ref
        let restricted_count: Int
        let histogram_positives, histogram_negatives: [Int]
    }
    let cases: [Case]
}

@Suite struct ROCTests {
    func load() throws -> [ROCFixture.Case] {
        try JSONDecoder().decode(ROCFixture.self, from: Data(contentsOf: fixtureURL("roc.json"))).cases
    }

    func check(_ a: ROCAnalysis, _ r: ROCFixture.Ref, _ what: String) {
        #expect(a.positives == r.positives, "\(what) positives")
        #expect(a.negatives == r.negatives, "\(what) negatives")
        #expect(a.distinctThresholds == r.distinct, "\(what) distinct")
        expectClose(a.auc, r.auc, 1e-12, "\(what) auc")
        expectClose(a.youdenThreshold, r.youden_threshold, 0, "\(what) youden threshold")
        expectClose(a.youdenJ, r.youden_j, 1e-12, "\(what) youden J")
        expectClose(a.closestThreshold, r.closest_threshold, 0, "\(what) closest threshold")
        if let fpr = r.fpr, let tpr = r.tpr, let th = r.thresholds {
            #expect(a.curve.count == fpr.count, "\(what) curve length")
            for (i, p) in a.curve.enumerated() where i < fpr.count {
                expectClose(p.fpr, fpr[i], 1e-12, "\(what) fpr[\(i)]")
                expectClose(p.tpr, tpr[i], 1e-12, "\(what) tpr[\(i)]")
                expectClose(p.threshold, th[i], 0, "\(what) threshold[\(i)]")
            }
        } else {
            #expect(a.curve.isEmpty || r.auc != nil)
        }
    }

    @Test func matchesScikitLearnOnEveryFixture() throws {
        for c in try load() {
            let p = c.probabilities.map { Float($0) }, t = c.truth.map { $0 != 0 }
            check(try ROC.analyze(probabilities: p, truth: t, window: .all), c.all, "\(c.name)/all")
            let r = try ROC.analyze(probabilities: p, truth: t, window: .restricted)
            #expect(r.positives + r.negatives == c.restricted_count, "\(c.name) restricted count")
            check(r, c.restricted, "\(c.name)/restricted")
            #expect(r.histogramPositives == c.histogram_positives, "\(c.name) histogram")
            #expect(r.histogramNegatives == c.histogram_negatives, "\(c.name) histogram")
        }
    }

    @Test func chunkedParallelPathGivesTheSameAnswers() throws {
        for c in try load() {
            let p = c.probabilities.map { Float($0) }, t = c.truth.map { $0 != 0 }
            for (window, ref) in [(ProbabilityWindow.all, c.all), (.restricted, c.restricted)] {
                var acc = ROCAccumulator(window: window)
                try acc.add(probabilities: p, truth: t, parallelAbove: 0)
                let a = acc.analyze(maxCurvePoints: 2048, parallelAbove: 0)
                check(a, ref, "\(c.name)/\(window) chunked")
                if window == .restricted {
                    #expect(a.histogramPositives == c.histogram_positives && a.histogramNegatives == c.histogram_negatives)
                }
            }
        }
    }

    /// Mann–Whitney AUC with ties ½ by sorting, the textbook way (independent of the engine).
    static func sortedAUC(_ p: [Float], _ t: [Bool]) -> Double {
        let order = p.indices.sorted { p[$0] < p[$1] }
        var i = 0, negBelow = 0.0, num = 0.0
        let P = Double(t.filter { $0 }.count), N = Double(t.count) - P
        while i < order.count {
            var j = i, pos = 0.0, neg = 0.0
            while j < order.count && p[order[j]] == p[order[i]] { if t[order[j]] { pos += 1 } else { neg += 1 }; j += 1 }
            num += pos * (negBelow + neg / 2)
            negBelow += neg
            i = j
        }
        return num / (P * N)
    }

    @Test func largeInputsThroughEveryPathAgreeWithASortedReference() throws {
        // The multi-chunk counting sort (one batch) and the two-level flag sort (two batches),
        // forced below their usual size, on values with many ties and many exponents.
        var rng = Support_RNG(seed: 99)
        var p: [Float] = [], t: [Bool] = []
        for i in 0..<60_000 {
            let pos = rng.next() % 5 == 0
            let u = Double(rng.next() >> 11) / 9_007_199_254_740_992.0
            let v = i % 3 == 0 ? Float((u * 50).rounded() / 50) : Float(pos ? u.squareRoot() : u * u * u)
            p.append(v); t.append(pos)
        }
        let reference = Self.sortedAUC(p, t)
        let inner = p.indices.filter { p[$0] > 0.01 && p[$0] < 0.99 }
        let rReference = Self.sortedAUC(inner.map { p[$0] }, inner.map { t[$0] })
        for window in [ProbabilityWindow.all, .restricted] {
            var one = ROCAccumulator(window: window)
            try one.add(probabilities: p, truth: t, parallelAbove: 0)
            var two = ROCAccumulator(window: window)
            try two.add(probabilities: Array(p[..<23_457]), truth: Array(t[..<23_457]), parallelAbove: 0)
            try two.add(probabilities: Array(p[23_457...]), truth: Array(t[23_457...]), parallelAbove: 0)
            let a = one.analyze(maxCurvePoints: 512, parallelAbove: 0), b = two.analyze(maxCurvePoints: 512, parallelAbove: 0)
            let ref = window == .all ? reference : rReference
            expectClose(a.auc, ref, 1e-12, "\(window) one batch")
            expectClose(b.auc, ref, 1e-12, "\(window) two batches")
            #expect(a.youdenThreshold == b.youdenThreshold && a.closestThreshold == b.closestThreshold)
            #expect(a.curve == b.curve && a.distinctThresholds == b.distinctThresholds)
            #expect(a.histogramPositives == b.histogramPositives)
        }
    }

    /// By hand: predicted positive where p ≥ t; Dice = 2TP / (2TP + FP + FN).
    /// t = 0.9: TP 1, FP 0 → 2/3; 0.8: 1, 1 → 1/2; 0.7: 2, 1 → 4/5; 0.6: 2, 2 → 2/3; 0.2: 2, 3 → 4/7.
    @Test func maxDicePicksTheBestVertexByHand() throws {
        let a = try ROC.analyze(probabilities: [0.9, 0.8, 0.7, 0.6, 0.2], truth: [true, false, true, false, false])
        let best = try #require(a.maxDice)
        #expect(abs(best.dice - 0.8) < 1e-12)
        #expect(abs(best.threshold - 0.7) < 1e-6)
        #expect(try ROC.analyze(probabilities: [0.3, 0.4], truth: [false, false]).maxDice == nil)
    }

    @Test func accumulatorPoolsCasesLikeOneConcatenatedCase() throws {
        let c = try #require(try load().first { $0.name == "tied" })
        let p = c.probabilities.map { Float($0) }, t = c.truth.map { $0 != 0 }
        var acc = ROCAccumulator(window: .restricted)
        try acc.add(probabilities: Array(p[..<150]), truth: Array(t[..<150]))
        try acc.add(probabilities: Array(p[150...]), truth: Array(t[150...]))
        check(acc.analyze(), c.restricted, "pooled")
    }

    @Test func thinnedCurveKeepsEndpointsAndIsMonotone() throws {
        let c = try #require(try load().first { $0.name == "continuous" })
        let p = c.probabilities.map { Float($0) }, t = c.truth.map { $0 != 0 }
        let a = try ROC.analyze(probabilities: p, truth: t, window: .all, maxCurvePoints: 16)
        #expect(a.curve.count < c.all.fpr!.count)
        #expect(a.curve.count >= 9)
        #expect(a.curve.first == ROCPoint(fpr: 0, tpr: 0, threshold: nil))
        #expect(a.curve.last?.fpr == 1 && a.curve.last?.tpr == 1)
        for (x, y) in zip(a.curve, a.curve.dropFirst()) { #expect(x.fpr <= y.fpr && x.tpr <= y.tpr) }
        expectClose(a.auc, c.all.auc, 1e-12, "auc unaffected by thinning")
    }

    @Test func probabilitiesOutsideUnitIntervalAreRejected() {
        #expect(throws: EvaluationError.self) { try ROC.analyze(probabilities: [0.2, 1.5], truth: [true, false]) }
        #expect(throws: EvaluationError.self) { try ROC.analyze(probabilities: [0.2, -0.1], truth: [true, false]) }
        #expect(throws: EvaluationError.self) { try ROC.analyze(probabilities: [0.2], truth: [true, false]) }
    }
}
