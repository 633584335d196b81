import Tensor

/// Network B's input centred on the liver of its own slice: inside the mask M,
/// gain · (w(X) − median of w(X) over M), and 0 outside M.
///
/// Why: the seed's w(M·X) puts a lesion 30–50 HU below the liver at 0.1–0.17 of a 300 HU
/// window, on a level that moves from case to case (livers of 115–130 HU in the phantoms,
/// ±15 HU of augmentation) and beside the much larger step to 0 at the mask's edge. B had to
/// learn "darker than the liver around it" from that and, within a demo's few hundred steps,
/// stayed at the all-background prior (docs/experiments.md). Centred, a lesion is negative and
/// the liver around it 0 whatever the case's level; outside M the input is the liver's level,
/// so the mask's edge is no edge. The gain (5: one unit is a fifth of the window, 60 HU for
/// −50…250) brings lesion contrast to about 0.5–1, the scale the initial weights expect.
/// Unlike `Standardization` (one mean and spread from the training livers) nothing is stored:
/// each slice brings its own reference.
enum TumorInputCentering {
    static let gain: Float = 5

    /// With `keepOutside` the whole view is centred on the liver's median, not only M. `hu` may
    /// hold the slice's neighbours as channels [n, C, S, S] (C odd, the slice in the middle);
    /// they are centred on the median of the slice's own liver and cut by its M.
    static func apply(_ hu: Tensor, mask: Tensor, window w: IntensityWindow, keepOutside: Bool = false) -> Tensor {
        precondition(hu.rank == 4 && mask.shape == [hu.shape[0], 1] + hu.shape.suffix(2) && hu.shape[1] % 2 == 1,
                     "TumorInputCentering: hu \(hu.shape) must be [n, odd C, S, S] and mask \(mask.shape) [n, 1, S, S]")
        let n = hu.shape[0], c = hu.shape[1], p = hu.shape[2] * hu.shape[3]
        let out = Tensor(uninitializedShape: hu.shape)
        let hp = hu.readPointer, mp = mask.readPointer, op = out.writePointer
        var inside: [Float] = []            // one buffer for every slice of the batch
        inside.reserveCapacity(p)
        for i in 0..<n {
            let m = i * p, middle = (i * c + c / 2) * p
            inside.removeAll(keepingCapacity: true)
            for j in 0..<p where mp[m + j] > 0 { inside.append(w(hp[middle + j])) }
            let median = Self.median(&inside)
            for ch in 0..<c {
                let o = (i * c + ch) * p
                for j in 0..<p { op[o + j] = keepOutside || mp[m + j] > 0 ? gain * (w(hp[o + j]) - median) : 0 }
            }
        }
        return out
    }

    /// The upper median (element ⌊n/2⌋ in ascending order; 0 for none). Reorders `values`.
    static func median(_ values: inout [Float]) -> Float {
        guard !values.isEmpty else { return 0 }
        values.sort()
        return values[values.count / 2]
    }
}
