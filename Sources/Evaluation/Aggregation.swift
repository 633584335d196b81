/// Mean, sample standard deviation and median of one metric over the cases where it is defined.
public struct MetricSummary: Sendable, Codable, Equatable {
    public var mean: Double?
    /// Sample standard deviation (n − 1); nil for fewer than two values.
    public var sd: Double?
    public var median: Double?
    /// Cases that had a value, and cases skipped because the value was undefined (null).
    public var n: Int
    public var skipped: Int

    public init(_ values: [Double?]) {
        let v = values.compactMap { $0 }
        n = v.count
        skipped = values.count - v.count
        guard !v.isEmpty else { mean = nil; sd = nil; median = nil; return }
        let m = v.reduce(0, +) / Double(v.count)
        mean = m
        sd = v.count < 2 ? nil : (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot()
        let s = v.sorted()
        median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mean, forKey: .mean); try c.encode(sd, forKey: .sd); try c.encode(median, forKey: .median)
        try c.encode(n, forKey: .n); try c.encode(skipped, forKey: .skipped)
    }
}

/// Dataset scores of one structure.
public struct StructureSummary: Sendable, Codable, Equatable {
    public var name: String
    /// Mean of the per-case Dice (LiTS "Dice per case").
    public var dicePerCase: Double?
    /// 2 Σ|P∩T| / Σ(|P| + |T|) over all cases (LiTS "Dice global"); nil when every mask is empty.
    public var diceGlobal: Double?
    /// Summary of every aggregatable metric (see `StructureMetrics.aggregatable`), by JSON key.
    public var metrics: [String: MetricSummary]

    enum CodingKeys: String, CodingKey { case name, dicePerCase = "dice_per_case", diceGlobal = "dice_global", metrics }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name); try c.encode(dicePerCase, forKey: .dicePerCase)
        try c.encode(diceGlobal, forKey: .diceGlobal); try c.encode(metrics, forKey: .metrics)
    }
}

/// Lesion detection pooled over cases.
public struct LesionSummary: Sendable, Codable, Equatable {
    public var truthLesions: Int
    public var detected: Int
    public var predictedLesions: Int
    public var correctPredictions: Int
    public var detectionRecall: Double?
    public var detectionPrecision: Double?
    public var burdenError: MetricSummary

    enum CodingKeys: String, CodingKey {
        case truthLesions = "truth_lesions", detected, predictedLesions = "predicted_lesions"
        case correctPredictions = "correct_predictions", detectionRecall = "detection_recall"
        case detectionPrecision = "detection_precision", burdenError = "burden_error"
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(truthLesions, forKey: .truthLesions); try c.encode(detected, forKey: .detected)
        try c.encode(predictedLesions, forKey: .predictedLesions); try c.encode(correctPredictions, forKey: .correctPredictions)
        try c.encode(detectionRecall, forKey: .detectionRecall); try c.encode(detectionPrecision, forKey: .detectionPrecision)
        try c.encode(burdenError, forKey: .burdenError)
    }
}

/// A case that could not be scored (missing prediction, unreadable file, mismatched grid).
public struct CaseFailure: Sendable, Codable, Equatable {
    public var name: String
    public var error: String
    public init(name: String, error: String) { self.name = name; self.error = error }
    enum CodingKeys: String, CodingKey { case name = "case", error }
}

/// A figure file written next to the evaluation, for the report.
public struct FigureReference: Sendable, Codable, Equatable {
    public var file: String
    public var caption: String
    public var kind: String
    /// The case it shows.
    public var caseName: String
    public init(file: String, caption: String, kind: String, caseName: String) {
        self.file = file; self.caption = caption; self.kind = kind; self.caseName = caseName
    }
    enum CodingKeys: String, CodingKey { case file, caption, kind, caseName = "case" }
}

/// Everything `liverseg evaluate` knows about a dataset; written as evaluation.json.
public struct DatasetEvaluation: Sendable, Codable {
    /// Model or run label (the report's row name).
    public var label: String
    public var cases: [CaseMetrics]
    public var failures: [CaseFailure]
    /// Case-level (multi-class) metrics: pixel_accuracy, rand_index, adjusted_rand_index.
    public var summary: [String: MetricSummary]
    /// Per structure, in scoring order.
    public var structures: [StructureSummary]
    public var lesions: LesionSummary?
    /// Restricted (0.01, 0.99) ROC of all cases' probabilities pooled; nil without probabilities.
    public var restrictedROC: ROCAnalysis?
    public var figures: [FigureReference]

    enum CodingKeys: String, CodingKey {
        case label, cases, failures, summary, structures, lesions, restrictedROC = "restricted_roc", figures
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(label, forKey: .label); try c.encode(cases, forKey: .cases); try c.encode(failures, forKey: .failures)
        try c.encode(summary, forKey: .summary); try c.encode(structures, forKey: .structures)
        try c.encode(lesions, forKey: .lesions); try c.encode(restrictedROC, forKey: .restrictedROC)
        try c.encode(figures, forKey: .figures)
    }

    /// Aggregates scored cases. `restrictedROC` is the pooled analysis (see `DatasetAccumulator`).
    public init(label: String, cases: [CaseMetrics], failures: [CaseFailure] = [], restrictedROC: ROCAnalysis? = nil,
                figures: [FigureReference] = []) {
        self.label = label
        self.cases = cases
        self.failures = failures
        self.restrictedROC = restrictedROC
        self.figures = figures
        summary = [
            "pixel_accuracy": MetricSummary(cases.map(\.pixelAccuracy)),
            "rand_index": MetricSummary(cases.map(\.randIndex)),
            "adjusted_rand_index": MetricSummary(cases.map(\.adjustedRandIndex)),
        ]
        var names: [String] = []
        for c in cases { for s in c.structures where !names.contains(s.name) { names.append(s.name) } }
        structures = names.map { name in
            let per = cases.compactMap { $0.structure(name) }
            var metrics: [String: MetricSummary] = [:]
            for (key, path) in StructureMetrics.aggregatable { metrics[key] = MetricSummary(per.map { $0[keyPath: path] }) }
            let inter = per.reduce(0) { $0 + $1.counts.truePositives }
            let sizes = per.reduce(0) { $0 + $1.counts.predicted + $1.counts.actual }
            return StructureSummary(name: name, dicePerCase: metrics["dice"]?.mean,
                                    diceGlobal: sizes == 0 ? nil : 2 * Double(inter) / Double(sizes), metrics: metrics)
        }
        let les = cases.compactMap(\.lesions)
        if les.isEmpty { lesions = nil } else {
            let t = les.reduce(0) { $0 + $1.truthLesions }, d = les.reduce(0) { $0 + $1.detected }
            let p = les.reduce(0) { $0 + $1.predictedLesions }, cp = les.reduce(0) { $0 + $1.correctPredictions }
            lesions = LesionSummary(truthLesions: t, detected: d, predictedLesions: p, correctPredictions: cp,
                                    detectionRecall: t == 0 ? nil : Double(d) / Double(t),
                                    detectionPrecision: p == 0 ? nil : Double(cp) / Double(p),
                                    burdenError: MetricSummary(les.map(\.burdenError)))
        }
    }

    public func structure(_ name: String) -> StructureSummary? { structures.first { $0.name == name } }

    /// Cases ordered worst first: by the Dice of the last structure (tumor or foreground),
    /// undefined last.
    public var worstFirst: [CaseMetrics] {
        cases.sorted { a, b in
            let da = a.structures.last?.dice ?? .infinity, db = b.structures.last?.dice ?? .infinity
            return da != db ? da < db : a.name < b.name
        }
    }
}

/// Collects cases one at a time (keeping only metrics and the restricted-ROC keys), so a
/// dataset never has to sit in memory at once.
public struct DatasetAccumulator: Sendable {
    public private(set) var cases: [CaseMetrics] = []
    public private(set) var failures: [CaseFailure] = []
    private var pooled = ROCAccumulator(window: .restricted)
    private var hasProbabilities = false

    public init() {}

    public mutating func add(_ metrics: CaseMetrics) { cases.append(metrics) }

    /// Adds a case, pooling its restricted-window probabilities.
    public mutating func add(_ metrics: CaseMetrics, probabilities: UnsafeBufferPointer<Float>,
                             truth: UnsafeBufferPointer<UInt8>, positiveLabels: ClosedRange<UInt8>) throws {
        try pooled.add(probabilities: probabilities, truth: truth, positiveLabels: positiveLabels, source: metrics.name)
        hasProbabilities = true
        cases.append(metrics)
    }

    public mutating func fail(_ name: String, _ error: String) { failures.append(CaseFailure(name: name, error: error)) }

    public mutating func finish(label: String, figures: [FigureReference] = []) -> DatasetEvaluation {
        let roc = hasProbabilities ? pooled.analyze() : nil
        return DatasetEvaluation(label: label, cases: cases, failures: failures, restrictedROC: roc, figures: figures)
    }
}
