/// Reductions accumulate in Double: a 512×512×16 batch sums 4 M terms, beyond Float's 24 bits.
extension Tensor {
    public func sum() -> Double {
        let p = readPointer
        var s = 0.0
        var i = 0
        // Partial Float sums over short runs keep the loop vectorized, Double keeps the total exact enough.
        while i < count {
            let end = min(count, i + 1024)
            var part: Float = 0
            for j in i..<end { part += p[j] }
            s += Double(part)
            i = end
        }
        return s
    }

    public func mean() -> Double { count == 0 ? .nan : sum() / Double(count) }

    public func sumOfSquares() -> Double {
        let p = readPointer
        var s = 0.0
        for i in 0..<count { s += Double(p[i]) * Double(p[i]) }
        return s
    }

    public func maxAbs() -> Float {
        let p = readPointer
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(p[i])) }
        return m
    }

    /// False if any element is NaN or ±Inf.
    public var allFinite: Bool {
        let p = readPointer
        for i in 0..<count where !p[i].isFinite { return false }
        return true
    }

    /// Sum over N, H, W for each channel of an NCHW tensor (bias gradients).
    public func sumPerChannel() -> Tensor {
        precondition(rank == 4, "sumPerChannel: needs NCHW, got \(shape)")
        let (n, c, hw) = (shape[0], shape[1], shape[2] * shape[3])
        let out = Tensor(shape: [c])
        let src = readPointer, dst = out.writePointer
        for ch in 0..<c {
            var s = 0.0
            for b in 0..<n {
                let base = src + (b * c + ch) * hw
                var part: Float = 0
                for i in 0..<hw { part += base[i] }
                s += Double(part)
            }
            dst[ch] = Float(s)
        }
        return out
    }
}
