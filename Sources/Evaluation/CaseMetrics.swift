/// A structure to score: the voxels whose label lies in `labels`.
public struct Structure: Sendable, Equatable, Codable {
    public var name: String
    public var labels: ClosedRange<UInt8>
    public init(name: String, labels: ClosedRange<UInt8>) { self.name = name; self.labels = labels }

    /// Binary masks (0/1): everything non-zero.
    public static let foreground = Structure(name: "foreground", labels: 1...255)
    /// LiTS liver: label ≥ 1 (tumors are part of the liver).
    public static let liver = Structure(name: "liver", labels: 1...255)
    /// LiTS tumor: label 2.
    public static let tumor = Structure(name: "tumor", labels: 2...2)
}

/// Every metric of one structure in one case. Undefined values are nil and encode as JSON null.
public struct StructureMetrics: Sendable, Codable, Equatable {
    public var name: String
    public var counts: ConfusionCounts
    public var dice: Double?
    public var jaccard: Double?
    public var voe: Double?
    public var rvd: Double?
    public var precision: Double?
    public var recall: Double?
    public var specificity: Double?
    /// Binary pixel accuracy and Rand index of this structure against the rest (seed Table 1).
    public var pixelAccuracy: Double?
    public var randIndex: Double?
    public var assd: Double?
    public var mssd: Double?
    public var hd95: Double?
    /// With probabilities: AUC over all voxels, the seed's restricted AUC over (0.01, 0.99),
    /// and the threshold chosen on the restricted ROC by Youden's J (and by closeness to (0, 1)).
    public var auc: Double?
    public var rauc: Double?
    public var rocThreshold: Double?
    public var rocThresholdClosest: Double?
    public var volumeTruthML: Double
    public var volumePredictionML: Double

    enum CodingKeys: String, CodingKey {
        case name, counts, dice, jaccard, voe, rvd, precision, recall, specificity
        case pixelAccuracy = "pixel_accuracy", randIndex = "rand_index", assd, mssd, hd95, auc, rauc
        case rocThreshold = "roc_threshold", rocThresholdClosest = "roc_threshold_closest"
        case volumeTruthML = "volume_truth_ml", volumePredictionML = "volume_prediction_ml"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(counts, forKey: .counts)
        for (k, v) in [(CodingKeys.dice, dice), (.jaccard, jaccard), (.voe, voe), (.rvd, rvd), (.precision, precision),
                       (.recall, recall), (.specificity, specificity), (.pixelAccuracy, pixelAccuracy),
                       (.randIndex, randIndex), (.assd, assd), (.mssd, mssd), (.hd95, hd95), (.auc, auc),
                       (.rauc, rauc), (.rocThreshold, rocThreshold), (.rocThresholdClosest, rocThresholdClosest)] {
            try c.encode(v, forKey: k)
        }
        try c.encode(volumeTruthML, forKey: .volumeTruthML)
        try c.encode(volumePredictionML, forKey: .volumePredictionML)
    }

    /// The named per-structure metrics that aggregate over a dataset, by JSON key.
    public static let aggregatable: [(String, KeyPath<StructureMetrics, Double?>)] = [
        ("dice", \.dice), ("jaccard", \.jaccard), ("voe", \.voe), ("rvd", \.rvd), ("precision", \.precision),
        ("recall", \.recall), ("specificity", \.specificity), ("pixel_accuracy", \.pixelAccuracy),
        ("rand_index", \.randIndex), ("assd", \.assd), ("mssd", \.mssd), ("hd95", \.hd95), ("auc", \.auc),
        ("rauc", \.rauc), ("roc_threshold", \.rocThreshold),
    ]
}

/// All scores of one case.
public struct CaseMetrics: Sendable, Codable, Equatable {
    public var name: String
    public var shape: [Int]
    public var spacing: [Double]
    /// Multi-class scores over the labels themselves (0/1 or 0/1/2).
    public var pixelAccuracy: Double?
    public var randIndex: Double?
    public var adjustedRandIndex: Double?
    /// One entry per structure, in scoring order (foreground, or liver then tumor).
    public var structures: [StructureMetrics]
    /// Lesion detection and tumor burden (label maps only).
    public var lesions: LesionMetrics?

    enum CodingKeys: String, CodingKey {
        case name = "case", shape, spacing, pixelAccuracy = "pixel_accuracy", randIndex = "rand_index"
        case adjustedRandIndex = "adjusted_rand_index", structures, lesions
    }

    private struct Key: CodingKey {
        var stringValue: String; var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(name: String, shape: [Int], spacing: [Double], pixelAccuracy: Double?, randIndex: Double?,
                adjustedRandIndex: Double?, structures: [StructureMetrics], lesions: LesionMetrics?) {
        self.name = name; self.shape = shape; self.spacing = spacing; self.pixelAccuracy = pixelAccuracy
        self.randIndex = randIndex; self.adjustedRandIndex = adjustedRandIndex; self.structures = structures
        self.lesions = lesions
    }

    /// Structures encode as an object keyed by name ({"liver": {...}, "tumor": {...}}).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(shape, forKey: .shape)
        try c.encode(spacing, forKey: .spacing)
        try c.encode(pixelAccuracy, forKey: .pixelAccuracy)
        try c.encode(randIndex, forKey: .randIndex)
        try c.encode(adjustedRandIndex, forKey: .adjustedRandIndex)
        var s = c.nestedContainer(keyedBy: Key.self, forKey: .structures)
        for m in structures { try s.encode(m, forKey: Key(stringValue: m.name)) }
        try c.encode(lesions, forKey: .lesions)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        shape = try c.decode([Int].self, forKey: .shape)
        spacing = try c.decode([Double].self, forKey: .spacing)
        pixelAccuracy = try c.decodeIfPresent(Double.self, forKey: .pixelAccuracy)
        randIndex = try c.decodeIfPresent(Double.self, forKey: .randIndex)
        adjustedRandIndex = try c.decodeIfPresent(Double.self, forKey: .adjustedRandIndex)
        let s = try c.nestedContainer(keyedBy: Key.self, forKey: .structures)
        // Scoring order, whatever order the JSON object had.
        let order = ["foreground", "liver", "tumor"]
        structures = try s.allKeys.map { try s.decode(StructureMetrics.self, forKey: $0) }
            .sorted { (order.firstIndex(of: $0.name) ?? 99, $0.name) < (order.firstIndex(of: $1.name) ?? 99, $1.name) }
        lesions = try c.decodeIfPresent(LesionMetrics.self, forKey: .lesions)
    }

    public func structure(_ name: String) -> StructureMetrics? { structures.first { $0.name == name } }
}

/// What `CaseEvaluator` reports beside the metrics: the ROC analyses behind auc/rauc, for
/// pooling and plotting.
public struct CaseEvaluation: Sendable {
    public var metrics: CaseMetrics
    /// Restricted (0.01, 0.99) ROC of the probability map, when one was given.
    public var restrictedROC: ROCAnalysis?
    public var fullROC: ROCAnalysis?
}

/// Which structures a case is scored as.
public enum StructureSet: String, Sendable, Codable, CaseIterable {
    /// `lits` when either map holds label 2, else `binary`.
    case automatic
    /// One structure, `foreground` = every non-zero label.
    case binary
    /// LiTS: `liver` = label ≥ 1 and `tumor` = label 2, with lesion scores — also for cases
    /// that happen to have no tumor (their tumor masks are empty, scored by the conventions).
    case lits
}

/// Scores one prediction against its truth.
public enum CaseEvaluator {
    /// Scores label maps of one grid (i fastest, `shape` = [nx, ny, nz], `spacing` in mm).
    ///
    /// Maps holding only 0/1 are scored as `foreground`; maps with label 2 as LiTS `liver`
    /// (≥ 1) and `tumor` (2), with lesion scores. Labels above 2 are an error.
    /// `probabilities` (same grid, in [0, 1]) are for the last structure (tumor or foreground).
    public static func evaluate(name: String, truth: [UInt8], prediction: [UInt8], shape: [Int], spacing: [Double],
                                probabilities: [Float]? = nil, structures: StructureSet = .automatic) throws -> CaseEvaluation {
        try SurfaceDistances.checkGrid(count: prediction.count, other: truth.count, shape: shape, spacing: spacing)
        return try truth.withUnsafeBufferPointer { t in
            try prediction.withUnsafeBufferPointer { p in
                if let probabilities {
                    guard probabilities.count == truth.count else {
                        throw EvaluationError("\(name): probability map has \(probabilities.count) voxels, labels have \(truth.count)")
                    }
                    return try probabilities.withUnsafeBufferPointer {
                        try evaluate(name: name, truth: t, prediction: p, shape: shape, spacing: spacing, probabilities: $0,
                                     structures: structures)
                    }
                }
                return try evaluate(name: name, truth: t, prediction: p, shape: shape, spacing: spacing, probabilities: nil,
                                    structures: structures)
            }
        }
    }

    public static func evaluate(name: String, truth t: UnsafeBufferPointer<UInt8>, prediction p: UnsafeBufferPointer<UInt8>,
                                shape: [Int], spacing: [Double], probabilities: UnsafeBufferPointer<Float>?,
                                structures requested: StructureSet = .automatic) throws -> CaseEvaluation {
        try SurfaceDistances.checkGrid(count: p.count, other: t.count, shape: shape, spacing: spacing)
        let table = ContingencyTable(truth: t, prediction: p)
        var maxLabel = 0
        var rowSums = [Int](repeating: 0, count: 256), colSums = rowSums
        for r in 0..<256 { for c in 0..<256 {
            let v = table.counts[r * 256 + c]
            if v > 0 { maxLabel = max(maxLabel, r, c); rowSums[r] += v; colSums[c] += v }
        } }
        if maxLabel > 2 {
            let inTruth = (3..<256).contains { rowSums[$0] > 0 }
            let bad = (3..<256).first { rowSums[$0] > 0 || colSums[$0] > 0 }!
            throw EvaluationError("\(name): label \(bad) in the \(inTruth ? "truth" : "prediction"); expected 0/1 masks or 0/1/2 LiTS label maps")
        }
        let labelMap = requested == .lits || (requested == .automatic && maxLabel == 2)
        let structures: [Structure] = labelMap ? [.liver, .tumor] : [.foreground]
        // Multi-class scores over the labels actually used (0/1 masks: 2 classes).
        let k = max(2, maxLabel + 1)
        var small = [Int](repeating: 0, count: k * k)
        for r in 0..<k { for c in 0..<k { small[r * k + c] = table.counts[r * 256 + c] } }
        let labels = ContingencyTable(rows: k, columns: k, counts: small)
        let voxelML = spacing.reduce(1, *) / 1000
        let boxes = (LabelBoxes(p, shape: shape), LabelBoxes(t, shape: shape))

        var results: [StructureMetrics] = []
        var restricted: ROCAnalysis? = nil, full: ROCAnalysis? = nil
        for (si, s) in structures.enumerated() {
            var tp = 0, fp = 0, fn = 0
            for r in 0..<k { for c in 0..<k {
                let v = small[r * k + c]
                let inT = s.labels.contains(UInt8(r)), inP = s.labels.contains(UInt8(c))
                if inT && inP { tp += v } else if inP { fp += v } else if inT { fn += v }
            } }
            let counts = ConfusionCounts(truePositives: tp, falsePositives: fp, falseNegatives: fn,
                                         trueNegatives: t.count - tp - fp - fn)
            let sd = SurfaceDistances.compute(prediction: p, predictionLabels: s.labels, truth: t, truthLabels: s.labels,
                                              shape: shape, spacing: spacing, boxes: boxes)
            var m = StructureMetrics(
                name: s.name, counts: counts, dice: counts.dice, jaccard: counts.jaccard, voe: counts.voe, rvd: counts.rvd,
                precision: counts.precision, recall: counts.recall, specificity: counts.specificity,
                pixelAccuracy: counts.pixelAccuracy, randIndex: counts.randIndex,
                assd: sd?.assd, mssd: sd?.mssd, hd95: sd?.hd95, auc: nil, rauc: nil, rocThreshold: nil,
                rocThresholdClosest: nil, volumeTruthML: Double(counts.actual) * voxelML,
                volumePredictionML: Double(counts.predicted) * voxelML)
            if let probabilities, si == structures.count - 1 {
                var all = ROCAccumulator(window: .all), inner = ROCAccumulator(window: .restricted)
                try all.add(probabilities: probabilities, truth: t, positiveLabels: s.labels, source: "\(name) probabilities")
                try inner.add(probabilities: probabilities, truth: t, positiveLabels: s.labels, source: "\(name) probabilities")
                let a = all.analyze(), r = inner.analyze()
                m.auc = a.auc; m.rauc = r.auc; m.rocThreshold = r.youdenThreshold; m.rocThresholdClosest = r.closestThreshold
                full = a; restricted = r
            }
            results.append(m)
        }
        var lesions: LesionMetrics? = nil
        if labelMap {
            let liver = results[0].counts, tumor = results[1].counts
            lesions = LesionMetrics.compute(prediction: p, truth: t, shape: shape, voxelVolumeML: voxelML,
                                            tumorLabels: Structure.tumor.labels, liverLabels: Structure.liver.labels,
                                            liverCounts: (liver.actual, liver.predicted),
                                            tumorCounts: (tumor.actual, tumor.predicted), boxes: boxes)
        }
        let metrics = CaseMetrics(name: name, shape: shape, spacing: spacing, pixelAccuracy: labels.accuracy,
                                  randIndex: labels.randIndex, adjustedRandIndex: labels.adjustedRandIndex,
                                  structures: results, lesions: lesions)
        return CaseEvaluation(metrics: metrics, restrictedROC: restricted, fullROC: full)
    }
}
