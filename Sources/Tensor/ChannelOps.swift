/// Channel concatenation and its inverse (the U-Net's skip connections).
extension Tensor {
    /// Concatenates NCHW tensors along C. All must agree on N, H, W.
    public static func concatChannels(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatChannels: no tensors")
        let s0 = parts[0].shape
        for p in parts {
            precondition(p.rank == 4 && p.shape[0] == s0[0] && p.shape[2] == s0[2] && p.shape[3] == s0[3],
                         "concatChannels: shapes \(parts.map(\.shape)) differ outside the channel axis")
        }
        let n = s0[0], hw = s0[2] * s0[3]
        let cs = parts.map { $0.shape[1] }
        let ctot = cs.reduce(0, +)
        let out = Tensor(uninitializedShape: [n, ctot, s0[2], s0[3]])
        let dst = out.writePointer
        parallelFor(n, minChunk: 1) { r in
            for b in r {
                var off = b * ctot * hw
                for (p, c) in zip(parts, cs) {
                    (dst + off).update(from: p.readPointer + b * c * hw, count: c * hw)
                    off += c * hw
                }
            }
        }
        return out
    }

    /// Splits an NCHW tensor along C into parts of the given channel counts.
    public func splitChannels(_ counts: [Int]) -> [Tensor] {
        precondition(rank == 4 && counts.reduce(0, +) == shape[1],
                     "splitChannels: \(counts) channels do not add up to \(shape)")
        let n = shape[0], hw = shape[2] * shape[3], ctot = shape[1]
        let outs = counts.map { Tensor(uninitializedShape: [n, $0, shape[2], shape[3]]) }
        let src = readPointer
        for b in 0..<n {
            var off = b * ctot * hw
            for (o, c) in zip(outs, counts) {
                (o.writePointer + b * c * hw).update(from: src + off, count: c * hw)
                off += c * hw
            }
        }
        return outs
    }

    /// Softmax over the channel axis of an NCHW tensor (logits → class probabilities).
    public func softmaxChannels() -> Tensor {
        precondition(rank == 4, "softmaxChannels: needs NCHW, got \(shape)")
        let (n, c, hw) = (shape[0], shape[1], shape[2] * shape[3])
        let out = Tensor(uninitializedShape: shape)
        let src = readPointer, dst = out.writePointer
        for b in 0..<n {
            let base = b * c * hw
            for i in 0..<hw {
                var m = -Float.infinity
                for ch in 0..<c { m = max(m, src[base + ch * hw + i]) }
                var s: Float = 0
                for ch in 0..<c { let e = expf(src[base + ch * hw + i] - m); dst[base + ch * hw + i] = e; s += e }
                let inv = 1 / s
                for ch in 0..<c { dst[base + ch * hw + i] *= inv }
            }
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif
