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

    /// With `keepOutside` the whole view is centred on the liver's median, not only M.
    static func apply(_ hu: Tensor, mask: Tensor, window w: IntensityWindow, keepOutside: Bool = false) -> Tensor {
        precondition(hu.shape == mask.shape && hu.rank == 4, "TumorInputCentering: hu \(hu.shape) and mask \(mask.shape) must match")
        let n = hu.shape[0], p = hu.count / max(n, 1)
        let out = Tensor(uninitializedShape: hu.shape)
        let hp = hu.readPointer, mp = mask.readPointer, op = out.writePointer
        var inside: [Float] = []            // one buffer for every slice of the batch
        inside.reserveCapacity(p)
        for i in 0..<n {
            let o = i * p
            inside.removeAll(keepingCapacity: true)
            for j in 0..<p where mp[o + j] > 0 { inside.append(w(hp[o + j])) }
            let median = Self.median(&inside)
            for j in 0..<p { op[o + j] = keepOutside || mp[o + j] > 0 ? gain * (w(hp[o + j]) - median) : 0 }
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
