/// Joint counts of truth labels (rows) and predicted labels (columns). Pair-counting
/// indices (Rand, adjusted Rand) are computed from it in O(rows × columns), never by
/// enumerating voxel pairs.
public struct ContingencyTable: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// Row-major counts: counts[r * columns + c] voxels have truth r and prediction c.
    public var counts: [Int]

    public init(rows: Int, columns: Int, counts: [Int]) {
        precondition(counts.count == rows * columns)
        self.rows = rows
        self.columns = columns
        self.counts = counts
    }

    /// 256 × 256 table of two label maps, counted in parallel.
    public init(truth: UnsafeBufferPointer<UInt8>, prediction: UnsafeBufferPointer<UInt8>) {
        precondition(truth.count == prediction.count)
        let t = SharedConstPointer(truth.baseAddress ?? UnsafePointer(bitPattern: 1)!)
        let p = SharedConstPointer(prediction.baseAddress ?? UnsafePointer(bitPattern: 1)!)
        let partial = Parallel.map(truth.count) { r -> [Int] in
            var h = [Int](repeating: 0, count: 65536)
            h.withUnsafeMutableBufferPointer { hb in
                for i in r { hb[Int(t[i]) << 8 | Int(p[i])] &+= 1 }
            }
            return h
        }
        var total = [Int](repeating: 0, count: 65536)
        for h in partial { for i in 0..<65536 { total[i] += h[i] } }
        self.init(rows: 256, columns: 256, counts: total)
    }

    public var total: Int { counts.reduce(0, +) }

    /// Fraction of voxels whose predicted label equals the true label; nil for no voxels.
    public var accuracy: Double? {
        let n = total
        guard n > 0 else { return nil }
        var diag = 0
        for i in 0..<min(rows, columns) { diag += counts[i * columns + i] }
        return Double(diag) / Double(n)
    }

    /// scikit-learn's pair confusion matrix (ordered pairs): (C00, C01, C10, C11).
    /// Exact in Int64 up to ~3·10⁹ voxels; beyond that it falls back to Double.
    private var pairConfusion: (Double, Double, Double, Double) {
        var rowSums = [Int](repeating: 0, count: rows), colSums = [Int](repeating: 0, count: columns)
        var n = 0, sumSquares = 0
        for r in 0..<rows {
            for c in 0..<columns {
                let v = counts[r * columns + c]
                guard v != 0 else { continue }
                rowSums[r] += v; colSums[c] += v; n += v
                sumSquares += v * v
            }
        }
        // contingency · colSums summed over rows = Σ_c colSums[c]², and likewise for rows.
        var dotK = 0, dotC = 0
        for c in colSums { dotK += c * c }
        for r in rowSums { dotC += r * r }
        let (nn, overflow) = n.multipliedReportingOverflow(by: n)
        if !overflow {
            let c11 = sumSquares - n
            let c01 = dotK - sumSquares
            let c10 = dotC - sumSquares
            let c00 = nn - c01 - c10 - sumSquares
            return (Double(c00), Double(c01), Double(c10), Double(c11))
        }
        let dn = Double(n), ss = Double(sumSquares)
        let c01 = Double(dotK) - ss, c10 = Double(dotC) - ss
        return (dn * dn - c01 - c10 - ss, c01, c10, ss - dn)
    }

    /// Rand index (fraction of voxel pairs on which truth and prediction agree about
    /// "same class or not"), as `sklearn.metrics.rand_score`; nil for no voxels.
    public var randIndex: Double? {
        guard total > 0 else { return nil }
        let (c00, c01, c10, c11) = pairConfusion
        let num = c00 + c11, den = c00 + c01 + c10 + c11
        if num == den || den == 0 { return 1 }
        return num / den
    }

    /// Adjusted Rand index, as `sklearn.metrics.adjusted_rand_score`; nil for no voxels.
    public var adjustedRandIndex: Double? {
        guard total > 0 else { return nil }
        let (tn, fp, fn, tp) = pairConfusion
        if fn == 0 && fp == 0 { return 1 }
        return 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
    }
}
