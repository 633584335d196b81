import Tensor

/// Several trained models of one configuration (runs with other seeds or other training cases)
/// segmenting together, as nnU-Net ensembles its folds: their liver and tumor probabilities are
/// averaged before anything is thresholded.
/// The members must see the same input: the slices, their neighbours, the region of each slice
/// and B's crop are made once for all of them. What each network does with its input (widths,
/// B's centring and standardization) may differ.
public struct ModelEnsemble {
    public let models: [LiverTumorModel]

    /// `names` label the members in errors (their run directories).
    public init(_ models: [LiverTumorModel], names: [String]? = nil) throws {
        guard let first = models.first else { throw SegmentationError("an ensemble needs at least one model") }
        let names = names ?? models.indices.map { "model \($0 + 1)" }
        for (m, name) in zip(models, names).dropFirst() {
            let differences = Self.inputDifferences(first, m)
            if !differences.isEmpty {
                throw SegmentationError("\(name) cannot join an ensemble with \(names[0]): they differ in \(differences.joined(separator: ", "))")
            }
        }
        self.models = models
    }

    /// The settings that decide what the networks are shown, where two models differ.
    static func inputDifferences(_ a: LiverTumorModel, _ b: LiverTumorModel) -> [String] {
        var out: [String] = []
        if a.kind != b.kind { out.append("kind (\(a.kind.rawValue), \(b.kind.rawValue))") }
        if a.size != b.size { out.append("size (\(a.size), \(b.size))") }
        if a.liverWindow != b.liverWindow { out.append("liver window") }
        if a.tumorWindow != b.tumorWindow { out.append("tumor window") }
        if a.liverContext != b.liverContext { out.append("liver context (\(a.liverContext), \(b.liverContext))") }
        if a.tumorContext != b.tumorContext { out.append("tumor context (\(a.tumorContext), \(b.tumorContext))") }
        if a.bodyCrop != b.bodyCrop { out.append("body crop") }
        if (a.tumorCrop, a.tumorCropFromScan) != (b.tumorCrop, b.tumorCropFromScan) { out.append("tumor crop") }
        return out
    }

    /// The configuration every member shares.
    public var shared: LiverTumorModel { models[0] }

    /// The members' mean of `f` (the one member's result itself when alone, so a single model
    /// segments exactly as it does outside an ensemble).
    func mean(_ f: (LiverTumorModel) -> Tensor) -> Tensor { Self.mean(models.map(f)) }

    /// The element-wise mean, summed in order (the first tensor itself when alone).
    static func mean(_ ts: [Tensor]) -> Tensor {
        guard ts.count > 1 else { return ts[0] }
        return ts.dropFirst().reduce(ts[0], +) * (1 / Float(ts.count))
    }

    /// The operating point of the averaged probabilities: each member's stored point was chosen
    /// on its own validation cases, which the other members may have trained on, so none can be
    /// chosen for the ensemble; the mean of the members' thresholds, lesion reach and smallest
    /// lesion core stands in, and the strictest slice count.
    public var liverThreshold: Float { meanOf { $0.liverThreshold } }
    public var tumorThreshold: Float { meanOf { $0.tumorThreshold } }
    /// nil when no member lets lesions reach (a member without reach counts at its threshold).
    public var tumorExtentThreshold: Float? {
        models.contains { $0.tumorExtentThreshold != nil } ? meanOf { $0.tumorExtentThreshold ?? $0.tumorThreshold } : nil
    }
    public var minLesionML: Double { meanOf(\.minLesionML) }
    public var minLesionSlices: Int { models.map(\.minLesionSlices).max()! }

    private func meanOf<T: BinaryFloatingPoint>(_ f: (LiverTumorModel) -> T) -> T {
        models.map(f).reduce(0, +) / T(models.count)
    }
}
