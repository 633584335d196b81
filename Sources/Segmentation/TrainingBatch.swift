import Support
import Tensor

/// One minibatch cut from a `SliceDataset`, augmented, with every target the systems need.
struct TrainingBatch {
    /// HU [B, 1, S, S].
    var hu: Tensor
    /// Network A's input: HU with the slices' neighbours [B, 2·context + 1, S, S] (`hu` itself without context).
    var liverInput: Tensor
    /// Class indices 0/1/2 [B, S, S] (one-step).
    var classes: Tensor
    /// Liver incl. tumor (label ≥ 1) [B, 1, S, S] (network A): 0/1, or the liver's coverage
    /// of each pixel when the dataset keeps it (the same for `tumor`).
    var liver: Tensor
    /// Tumor (label 2) [B, 1, S, S].
    var tumor: Tensor
    /// The predicted liver mask M (cascade B), if the dataset has one.
    var mask: Tensor?
    /// `liver` and `tumor` are coverage shares rather than 0/1 labels.
    let soft: Bool

    /// `lesionCuts`: share of rim lesions whose mask M is cut open (`MaskLesionCut`), and
    /// `spills`: share of slices whose M grows into the liver's neighbours (`MaskSpill`), after
    /// the augmentation has moved them.
    init(_ data: SliceDataset, indices: [Int], augmentation: Augmentation, lesionCuts: Double = 0, spills: Double = 0, rng: inout SeededRNG) {
        let s = data.size, p = s * s, b = indices.count, c = 2 * data.context + 1
        liverInput = Tensor(uninitializedShape: [b, c, s, s])
        classes = Tensor(uninitializedShape: [b, s, s])
        liver = Tensor(uninitializedShape: [b, 1, s, s])
        tumor = Tensor(uninitializedShape: [b, 1, s, s])
        mask = data.predictedLiver == nil ? nil : Tensor(uninitializedShape: [b, 1, s, s])
        soft = data.keepsCoverage
        let ap = liverInput.writePointer, cp = classes.writePointer, lp = liver.writePointer, tp = tumor.writePointer
        let mp = mask?.writePointer
        for (n, i) in indices.enumerated() {
            let r = data.range(i)
            var h = data.contextHU(i).flatMap { $0.map { Float($0) } }
            var l = Array(data.labels[r])
            var m: [UInt8]? = data.predictedLiver.map { Array($0[r]) }
            var f: [Float]? = data.keepsCoverage ? (data.liverCoverage[r] + data.tumorCoverage[r]).map { Float($0) / 255 } : nil
            augmentation.apply(hu: &h, labels: &l, mask: &m, soft: &f, size: s, rng: &rng)
            if lesionCuts > 0, m != nil { MaskLesionCut.apply(mask: &m!, labels: l, size: s, share: lesionCuts, rng: &rng) }
            if spills > 0, m != nil { MaskSpill.apply(mask: &m!, hu: h[(data.context * p)..<((data.context + 1) * p)], labels: l, size: s, share: spills, rng: &rng) }
            for j in 0..<(c * p) { ap[n * c * p + j] = h[j] }
            for j in 0..<p {
                cp[n * p + j] = Float(l[j])
                lp[n * p + j] = f?[j] ?? (l[j] >= 1 ? 1 : 0)
                tp[n * p + j] = f?[p + j] ?? (l[j] == 2 ? 1 : 0)
                if let mp, let m { mp[n * p + j] = Float(m[j]) }
            }
        }
        hu = SliceContext.middle(liverInput)
    }
}
