import CDropout

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
            // The draws of a block at a time through the vectorized C loop (`liverseg_dropout_keep`).
            let block = 4096
            let kept = UnsafeMutablePointer<UInt8>.allocate(capacity: block)
            defer { kept.deallocate() }
            var lo = r.lowerBound
            while lo < r.upperBound {
                let n = min(block, r.upperBound - lo)
                liverseg_dropout_keep(key, UInt64(lo), Int64(n), cut, kept)
                for j in 0..<n {
                    let v = Float(kept[j]) * keep
                    m[lo + j] = v
                    dst[lo + j] = src[lo + j] * v
                }
                lo += n
            }
        }
        return (out, mask)
    }
}

/// SplitMix64's finalizer of key + (index + 1)·γ: consecutive indices give independent bits.
/// The kernels draw through the C copy in `CDropout` (vectorized); this one is the reference
/// the tests hold it to.
@inline(__always)
func dropoutHash(_ key: UInt64, _ index: UInt64) -> UInt64 {
    var z = key &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
