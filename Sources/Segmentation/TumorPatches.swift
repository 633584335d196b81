import Support
import Tensor

/// Training patches for network B, half of them centred on a lesion (nnU-Net's foreground
/// oversampling). On a whole liver square lesions are 1–3 % of the pixels, so B spends its
/// first few hundred steps learning "no tumor" and a CPU-sized run ends before it learns more;
/// a patch a quarter of the square's area costs a quarter of the step and, when centred on a
/// lesion, holds ten times its share of tumor pixels. The U-Net is fully convolutional, so B
/// still segments whole squares at inference. On the demo's phantoms it did not help (B's
/// plain-loss plateau got higher, not shorter; docs/experiments.md); kept for longer runs.
enum TumorPatches {
    /// Share of patches centred on a tumor pixel (when the slice has one inside the mask).
    static let lesionShare = 0.5

    /// Cuts one `patch`×`patch` window per sample out of each of `tensors` ([n, C, S, S], every
    /// channel of a sample at the same place; `tumor` and `mask` [n, 1, S, S]):
    /// centred, with a jitter of a quarter patch, on a random pixel of `tumor`·`mask` for a
    /// `lesionShare` of the samples that have one, on a random pixel of `mask` otherwise
    /// (anywhere if the mask is empty); windows are clamped to the square.
    static func cut(_ tensors: [Tensor], tumor: Tensor, mask: Tensor, patch: Int, rng: inout SeededRNG) -> [Tensor] {
        let n = mask.shape[0], s = mask.shape[2], p = s * s
        precondition(patch <= s && tensors.allSatisfy { $0.rank == 4 && $0.shape[0] == n && $0.shape.suffix(2) == mask.shape.suffix(2) },
                     "TumorPatches.cut: patch \(patch) larger than \(s) or shapes differ")
        let outs = tensors.map { Tensor(uninitializedShape: [n, $0.shape[1], patch, patch]) }
        for i in 0..<n {
            let m = UnsafeBufferPointer(start: mask.readPointer + i * p, count: p)
            let t = UnsafeBufferPointer(start: tumor.readPointer + i * p, count: p)
            let lesion = (0..<p).filter { t[$0] > 0 && m[$0] > 0 }
            let liver = (0..<p).filter { m[$0] > 0 }
            let wantLesion = rng.nextDouble() < lesionShare
            let pool = wantLesion && !lesion.isEmpty ? lesion : liver
            let centre = pool.isEmpty ? rng.below(p) : pool[rng.below(pool.count)]
            let jitter = patch / 4
            func origin(_ c: Int) -> Int { min(max(c - patch / 2 + rng.below(2 * jitter + 1) - jitter, 0), s - patch) }
            let (x0, y0) = (origin(centre % s), origin(centre / s))
            for (src, dst) in zip(tensors, outs) {
                for ch in 0..<src.shape[1] {
                    let k = i * src.shape[1] + ch
                    for y in 0..<patch {
                        (dst.writePointer + (k * patch + y) * patch).update(from: src.readPointer + k * p + (y0 + y) * s + x0, count: patch)
                    }
                }
            }
        }
        return outs
    }
}
