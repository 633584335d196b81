/// Voxel counts of a binary prediction against a binary truth.
public struct ConfusionCounts: Sendable, Equatable, Codable {
    public var truePositives: Int
    public var falsePositives: Int
    public var falseNegatives: Int
    public var trueNegatives: Int

    public init(truePositives: Int, falsePositives: Int, falseNegatives: Int, trueNegatives: Int) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.trueNegatives = trueNegatives
    }

    enum CodingKeys: String, CodingKey {
        case truePositives = "tp", falsePositives = "fp", falseNegatives = "fn", trueNegatives = "tn"
    }

    /// Counts from two equally long boolean masks.
    public init(prediction: [Bool], truth: [Bool]) throws {
        guard prediction.count == truth.count else {
            throw EvaluationError("prediction has \(prediction.count) voxels but truth has \(truth.count)")
        }
        var tp = 0, fp = 0, fn = 0
        for i in 0..<truth.count {
            let p = prediction[i], t = truth[i]
            if p && t { tp += 1 } else if p { fp += 1 } else if t { fn += 1 }
        }
        self.init(truePositives: tp, falsePositives: fp, falseNegatives: fn,
                  trueNegatives: truth.count - tp - fp - fn)
    }

    public var total: Int { truePositives + falsePositives + falseNegatives + trueNegatives }
    /// |P|, voxels predicted as the structure.
    public var predicted: Int { truePositives + falsePositives }
    /// |T|, voxels of the structure in the truth.
    public var actual: Int { truePositives + falseNegatives }

    /// 2|P∩T| / (|P|+|T|); 1 when both masks are empty (the LiTS convention).
    public var dice: Double {
        let s = predicted + actual
        return s == 0 ? 1 : 2 * Double(truePositives) / Double(s)
    }
    /// |P∩T| / |P∪T| (IoU); 1 when both masks are empty.
    public var jaccard: Double {
        let u = truePositives + falsePositives + falseNegatives
        return u == 0 ? 1 : Double(truePositives) / Double(u)
    }
    /// Volumetric overlap error 1 − Jaccard.
    public var voe: Double { 1 - jaccard }
    /// Signed relative volume difference (|P| − |T|) / |T|; 0 when both are empty, nil when only T is.
    public var rvd: Double? {
        if actual == 0 { return predicted == 0 ? 0 : nil }
        return Double(predicted - actual) / Double(actual)
    }
    /// TP / (TP + FP); nil when nothing was predicted.
    public var precision: Double? { ratio(truePositives, predicted) }
    /// TP / (TP + FN) (sensitivity); nil when the truth is empty.
    public var recall: Double? { ratio(truePositives, actual) }
    /// TN / (TN + FP); nil when every voxel belongs to the truth.
    public var specificity: Double? { ratio(trueNegatives, trueNegatives + falsePositives) }
    /// (TP + TN) / all voxels; nil for an empty image.
    public var pixelAccuracy: Double? { ratio(truePositives + trueNegatives, total) }

    /// Rand index of the two-class partition, as scikit-learn's `rand_score` on the masks.
    public var randIndex: Double? { binaryContingency.randIndex }
    /// Adjusted Rand index of the two-class partition (`adjusted_rand_score`).
    public var adjustedRandIndex: Double? { binaryContingency.adjustedRandIndex }

    /// The 2×2 contingency table (truth rows, prediction columns).
    public var binaryContingency: ContingencyTable {
        ContingencyTable(rows: 2, columns: 2, counts: [trueNegatives, falsePositives, falseNegatives, truePositives])
    }

    @inline(__always) private func ratio(_ a: Int, _ b: Int) -> Double? { b == 0 ? nil : Double(a) / Double(b) }

    public static func + (a: ConfusionCounts, b: ConfusionCounts) -> ConfusionCounts {
        ConfusionCounts(truePositives: a.truePositives + b.truePositives, falsePositives: a.falsePositives + b.falsePositives,
                        falseNegatives: a.falseNegatives + b.falseNegatives, trueNegatives: a.trueNegatives + b.trueNegatives)
    }
}
