import Tensor

/// Network A's view along z: its slice and `radius` neighbours on each side, as input channels
/// (a "2.5-D" input). The seed's networks see one slice; at the liver's top and bottom a
/// cross-section of a few pixels looks like any other soft tissue, and the slices next to it
/// are what tells it is liver. The demo's misses were such tips and the band along the edge.
/// Neighbours are taken by index, whatever the slice spacing; past the volume's ends the end
/// slice repeats.
public enum SliceContext {
    /// Offsets of the neighbours, in z order without the slice itself.
    static func offsets(_ radius: Int) -> [Int] { (-radius...radius).filter { $0 != 0 } }

    /// The index of slice k's neighbour at offset o in a volume of `depth` slices.
    static func neighbour(_ k: Int, _ o: Int, depth: Int) -> Int { min(depth - 1, max(0, k + o)) }

    /// A's input [n, 2·radius + 1, S, S] for slices `ks` of a volume of `depth` slices, where
    /// `fill(k, out)` writes slice k at the model size (S²). The middle channel is the slice.
    public static func stack(_ ks: [Int], radius: Int, depth: Int, size s: Int,
                      fill: (Int, UnsafeMutableBufferPointer<Float>) -> Void) -> Tensor {
        let c = 2 * radius + 1, p = s * s
        let t = Tensor(uninitializedShape: [ks.count, c, s, s])
        for (n, k) in ks.enumerated() {
            for o in -radius...radius {
                fill(neighbour(k, o, depth: depth), UnsafeMutableBufferPointer(start: t.writePointer + (n * c + o + radius) * p, count: p))
            }
        }
        return t
    }

    /// The slices themselves [n, 1, S, S] of a stack [n, C, S, S] (C odd).
    public static func middle(_ t: Tensor) -> Tensor {
        let c = t.shape[1]
        guard c > 1 else { return t }
        let n = t.shape[0], p = t.shape[2] * t.shape[3]
        let out = Tensor(uninitializedShape: [n, 1, t.shape[2], t.shape[3]])
        for i in 0..<n { (out.writePointer + i * p).update(from: t.readPointer + (i * c + c / 2) * p, count: p) }
        return out
    }
}
