import Evaluation

/// The smallest lesion a model keeps, chosen like its thresholds: on the validation cases,
/// where it gives the best mean per-case tumor Dice (LiTS's ranking score). The per-case mean
/// is what false lesions ruin: a case without tumor scores 1 with no lesion and 0 with any.
/// Ties go to the smallest size, so lesions are only dropped when the validation cases say so.
public enum LesionSizeSelection {
    /// Candidate sizes (mL): a 0.05 mL lesion is a sphere 4.6 mm across, 1 mL one of 12 mm.
    public static let candidatesML: [Double] = [0, 0.02, 0.05, 0.1, 0.2, 0.5, 1]

    public struct Case {
        public var prediction: [UInt8], truth: [UInt8], shape: [Int], voxelML: Double
        public init(prediction: [UInt8], truth: [UInt8], shape: [Int], voxelML: Double) {
            self.prediction = prediction; self.truth = truth; self.shape = shape; self.voxelML = voxelML
        }
    }

    /// The chosen size and the mean per-case tumor Dice of every candidate (nil for no cases).
    public static func choose(_ cases: [Case], candidates: [Double] = candidatesML) throws -> (minML: Double, meanDice: [Double])? {
        guard !cases.isEmpty, !candidates.isEmpty else { return nil }
        var sums = [Double](repeating: 0, count: candidates.count)
        for c in cases {
            let truth = c.truth.map { $0 == 2 }
            for (n, minML) in candidates.enumerated() {
                var p = c.prediction
                PostProcessing.removeLesions(smallerThan: minML, &p, shape: c.shape, voxelML: c.voxelML)
                sums[n] += try ConfusionCounts(prediction: p.map { $0 == 2 }, truth: truth).dice
            }
        }
        let means = sums.map { $0 / Double(cases.count) }
        let best = means.indices.max { means[$0] < means[$1] || (means[$0] == means[$1] && $0 > $1) }!
        return (candidates[best], means)
    }
}
