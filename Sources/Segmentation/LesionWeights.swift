import Evaluation
import Tensor

/// Pixel weights for network B's loss that give every lesion piece of a batch the same total
/// weight: inverse-size weighting (Shirokikh et al., "Universal loss reweighting to balance
/// lesion size inequality in 3D medical image segmentation", MICCAI 2020), on B's 2-D views.
///
/// Why: the cross-entropy counts pixels, so a lesion of 400 pixels teaches B forty times what
/// one of 10 does, and B learned the large, dark lesions and answered nothing on the small, faint
/// ones it could see (docs/experiments.md, session 27: none found under Rose number 10, half at
/// 10–20). Here the batch's tumor pixels keep their total weight (at most: see `minimumArea`)
/// and share it out equally between the pieces, so the background's weight against the tumor's,
/// which the balanced stage and the operating point are set on, stays as it was.
public enum LesionWeights {
    /// A piece is counted as at least this many pixels: a lesion's last slice, resampled to B's
    /// view, can leave a piece of one or two pixels that would otherwise take a whole lesion's weight.
    public static let minimumArea = 4

    /// Weights shaped like `target` ([N, 1, H, W], coverage in [0, 1]): every pixel of a piece
    /// (8-connected pixels of coverage above 0, in one slice) weighs (F / n) / max(area, 4),
    /// where F is the batch's piece pixels and n its pieces; every other pixel 1. nil when the
    /// batch holds no tumor (nothing to share out).
    public static func inverseSize(_ target: Tensor) -> Tensor? {
        precondition(target.rank == 4 && target.shape[1] == 1, "LesionWeights: target \(target.shape) must be [N,1,H,W]")
        let n = target.shape[0], h = target.shape[2], w = target.shape[3], hw = h * w
        let y = target.readPointer
        var pieces: [(slice: Int, parts: Components)] = []
        var mask = [UInt8](repeating: 0, count: hw)
        for k in 0..<n {
            for i in 0..<hw { mask[i] = y[k * hw + i] > 0 ? 1 : 0 }
            let parts = mask.withUnsafeBufferPointer { Components($0, labels: 1...1, shape: [w, h, 1]) }
            if parts.count > 0 { pieces.append((k, parts)) }
        }
        let areas = pieces.flatMap { $0.parts.sizes }
        guard !areas.isEmpty else { return nil }
        let share = Float(areas.reduce(0, +)) / Float(areas.count)
        let weights = Tensor(shape: target.shape, repeating: 1)
        let wp = weights.writePointer
        for (k, parts) in pieces {
            let perPiece = parts.sizes.map { share / Float(max($0, minimumArea)) }
            parts.forEachVoxel(shape: [w, h, 1]) { c, i in wp[k * hw + i] = perPiece[c - 1] }
        }
        return weights
    }
}
