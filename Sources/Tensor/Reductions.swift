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

    public func maxAbs() -> Float {
        let p = readPointer
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(p[i])) }
        return m
    }
}
