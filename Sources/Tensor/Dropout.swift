/// Inverted dropout as one parallel pass. Each element's keep/drop draw is a hash of (key,
/// index), not the next number of a sequential generator: a mask of millions of elements is
/// then made on every core and vectorized, and it is the same for a key on any number of
/// threads. (Drawing it element by element from `SeededRNG` took ~7 % of a 256²/F=32 train
/// step's CPU time, on one core.)
extension Tensor {
    /// `x` with each element zeroed with probability `p` and the rest scaled by 1/(1 − p), and
    /// the mask that did it (0 or 1/(1 − p)), for the backward pass.
    public static func dropout(_ x: Tensor, p: Float, key: UInt64) -> (output: Tensor, mask: Tensor) {
        precondition(p >= 0 && p < 1, "dropout: p must be in [0, 1), got \(p)")
        let out = Tensor(uninitializedShape: x.shape), mask = Tensor(uninitializedShape: x.shape)
        let src = x.readPointer, dst = out.writePointer, m = mask.writePointer
        let keep = 1 / (1 - p)
        // Dropped when the hash's top 24 bits, as a fraction of 2^24, fall below p.
        let cut = UInt64((Double(p) * Double(1 << 24)).rounded())
        parallelFor(x.count) { r in
            for i in r {
                let v: Float = dropoutHash(key, UInt64(i)) >> 40 < cut ? 0 : keep
                m[i] = v
                dst[i] = src[i] * v
            }
        }
        return (out, mask)
    }
}

/// SplitMix64's finalizer of key + (index + 1)·γ: consecutive indices give independent bits.
@inline(__always)
func dropoutHash(_ key: UInt64, _ index: UInt64) -> UInt64 {
    var z = key &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
