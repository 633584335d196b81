import Foundation
import NeuralNet
import Support
import Tensor

extension SliceDataset {
    /// Network B's training slices for the cascade: for every slice of `source` where the
    /// trained network A finds liver, the liver square cut from the scan at its own resolution
    /// (the case is read again: the model-size cache has already lost the detail), with the
    /// labels (nearest) and A's mask M in the same square — exactly what `Predictor` gives B.
    /// `cases` are the cases `source` was built from, in the same order. With `trueLiver` the
    /// ground-truth liver stands in for A's mask.
    static func tumorCrops(of source: SliceDataset, cases: [CaseFiles], model: LiverTumorModel, batchSize: Int,
                           trueLiver: Bool = false, progressLabel: String?) throws -> SliceDataset {
        let s = source.size, p = s * s
        let out = SliceDataset(size: s)
        var masks: [UInt8] = []
        let bar = progressLabel.map { ProgressBar(total: source.count, label: $0) }
        for (ci, c) in cases.enumerated() {
            let mine = (0..<source.count).filter { source.caseOfSlice[$0] == ci }
            guard !mine.isEmpty else { continue }
            let (image, labels) = try loadCase(c)
            let (nx, ny) = (image.shape[0], image.shape[1])
            let plane = nx * ny
            for start in stride(from: 0, to: mine.count, by: batchSize) {
                let idx = Array(mine[start..<min(mine.count, start + batchSize)])
                let liver: Tensor
                if trueLiver {
                    liver = Tensor(uninitializedShape: [idx.count, 1, s, s])
                    for (n, i) in idx.enumerated() { for j in 0..<p { liver.writePointer[n * p + j] = source.labels[i * p + j] >= 1 ? 1 : 0 } }
                } else {
                    liver = model.logitsA(source.stack(idx)).sigmoid()
                }
                let ks = idx.map { source.sliceInCase[$0] }
                let inputs = image.voxels.withUnsafeBufferPointer { v in
                    model.tumorInputsFromScan(scan: ks.map { UnsafeBufferPointer(rebasing: v[($0 * plane)..<(($0 + 1) * plane)]) },
                                              width: nx, height: ny, liver: liver)
                }
                var labelSlice = [Float](repeating: 0, count: plane), labelCrop = [Float](repeating: 0, count: p)
                for (j, n) in inputs.slices.enumerated() {
                    let k = ks[n]
                    for i in 0..<plane { labelSlice[i] = Float(labels.voxels[k * plane + i]) }
                    labelSlice.withUnsafeBufferPointer { l in
                        labelCrop.withUnsafeMutableBufferPointer { inputs.crops[j].crop(l, width: nx, height: ny, into: $0, nearest: true) }
                    }
                    labelCrop.withUnsafeBufferPointer { l in
                        out.append(hu: UnsafeBufferPointer(start: inputs.hu.readPointer + j * p, count: p), labels: l, caseName: c.name, slice: k)
                    }
                    masks.append(contentsOf: UnsafeBufferPointer(start: inputs.mask.readPointer + j * p, count: p).map { $0 > 0 ? 1 : 0 })
                }
                bar?.advance(idx.count)
            }
        }
        bar?.finish()
        out.predictedLiver = masks
        return out
    }

    /// The predicted liver masks of slices `idx` as a float batch [n, 1, S, S].
    func maskTensor(_ idx: [Int]) -> Tensor {
        let p = pixels
        let t = Tensor(uninitializedShape: [idx.count, 1, size, size])
        let w = t.writePointer
        let m = predictedLiver!
        for (n, i) in idx.enumerated() { for j in 0..<p { w[n * p + j] = Float(m[i * p + j]) } }
        return t
    }
}
