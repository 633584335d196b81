import Tensor

/// Where network B looks and learns: the liver mask M grown by a margin of model pixels.
///
/// Why: B's input is 0 outside M (`TumorInputCentering`: the liver's own level), so a lesion
/// under the liver's capsule, where A's mask often stops short of the darker lesion, is cut
/// off at M's edge, and B learned that a dark patch at M's edge is mostly the partial volume of
/// the liver's rim. With a margin B sees the lesion go on past the edge. The labels stay
/// inside A's liver (tumor is part of the liver); only B's view and its training target grow.
enum TumorRegion {
    /// Each slice of `mask` [n, 1, S, S] (1 inside) grown by a disc of `radius` pixels.
    static func grown(_ mask: Tensor, radius r: Int) -> Tensor {
        guard r > 0 else { return mask }
        precondition(mask.rank == 4, "TumorRegion: mask \(mask.shape) must be [n, 1, S, S]")
        let n = mask.shape[0] * mask.shape[1], h = mask.shape[2], w = mask.shape[3], p = h * w
        var offsets: [(dx: Int, dy: Int)] = []
        for dy in -r...r { for dx in -r...r where dx * dx + dy * dy <= r * r { offsets.append((dx, dy)) } }
        let out = Tensor.zeros(mask.shape)
        let src = mask.readPointer, dst = out.writePointer
        for s in 0..<n {
            let o = s * p
            for y in 0..<h {
                for x in 0..<w where src[o + y * w + x] > 0 {
                    for (dx, dy) in offsets {
                        let xx = x + dx, yy = y + dy
                        if xx >= 0 && xx < w && yy >= 0 && yy < h { dst[o + yy * w + xx] = 1 }
                    }
                }
            }
        }
        return out
    }
}
