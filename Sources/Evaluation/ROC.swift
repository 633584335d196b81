/// One vertex of an ROC curve: classifying `probability ≥ threshold` as positive gives these
/// rates. The first vertex (0, 0) has no threshold (scikit-learn writes +∞ there).
public struct ROCPoint: Sendable, Equatable, Codable {
    public var fpr: Double
    public var tpr: Double
    public var threshold: Double?
}

/// Which probabilities enter an ROC analysis.
public enum ProbabilityWindow: String, Sendable, Codable {
    /// Every probability in [0, 1].
    case all
    /// The seed's restriction: only probabilities strictly inside (0.01, 0.99), because
    /// nearly all voxels sit at 0 or 1 and would swamp the curve.
    case restricted

    @inline(__always) func admits(_ p: Float) -> Bool {
        switch self {
        case .all: return true
        // For Float32 p, p > Float(0.01) ⇔ Double(p) > 0.01 (0.01 is not representable), so
        // 0.01 and 0.99 written as Float32 are excluded under either reading.
        case .restricted: return p > 0.01 && p < 0.99
        }
    }
}

/// Result of an ROC analysis of probabilities against binary truth.
public struct ROCAnalysis: Sendable, Codable {
    public var window: ProbabilityWindow
    /// Positive and negative voxels that entered the analysis.
    public var positives: Int
    public var negatives: Int
    /// Distinct probability values (ROC vertices less the origin).
    public var distinctThresholds: Int
    /// Area under the curve as the Mann–Whitney statistic, ties counting ½; nil with one class.
    public var auc: Double?
    /// Threshold maximizing Youden's J = TPR − FPR (the highest such threshold); nil with one class.
    public var youdenThreshold: Double?
    public var youdenJ: Double?
    /// Threshold whose vertex is closest to (FPR 0, TPR 1) (the highest such threshold).
    public var closestThreshold: Double?
    /// The curve from (0, 0) to (1, 1). Exact (every vertex) when there are at most
    /// `maxCurvePoints` distinct thresholds; otherwise thinned to vertices that cross a
    /// 1/(maxCurvePoints/2) grid line, which keeps the plotted shape.
    public var curve: [ROCPoint]
    /// Counts of negatives and positives in 98 bins of width 0.01 over (0.01, 0.99)
    /// (the seed's figure 3.3); bin b holds 0.01 + 0.01·b ≤ p < 0.01 + 0.01·(b+1) (Double arithmetic).
    public var histogramNegatives: [Int]
    public var histogramPositives: [Int]

    enum CodingKeys: String, CodingKey {
        case window, positives, negatives, auc, curve
        case distinctThresholds = "distinct_thresholds"
        case youdenThreshold = "youden_threshold", youdenJ = "youden_j", closestThreshold = "closest_threshold"
        case histogramNegatives = "histogram_negatives", histogramPositives = "histogram_positives"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(window, forKey: .window)
        try c.encode(positives, forKey: .positives)
        try c.encode(negatives, forKey: .negatives)
        try c.encode(distinctThresholds, forKey: .distinctThresholds)
        try c.encode(auc, forKey: .auc)
        try c.encode(youdenThreshold, forKey: .youdenThreshold)
        try c.encode(youdenJ, forKey: .youdenJ)
        try c.encode(closestThreshold, forKey: .closestThreshold)
        try c.encode(curve, forKey: .curve)
        try c.encode(histogramNegatives, forKey: .histogramNegatives)
        try c.encode(histogramPositives, forKey: .histogramPositives)
    }
}

extension ROCAnalysis {
    /// The curve vertex with the highest Dice (F1), with TP = TPR·P and FP = FPR·N, and its
    /// threshold; nil with one class. For a rare class this is the operating point that
    /// matters: Youden's J weighs a false-positive rate like a true-positive rate and, with
    /// one positive per 100 voxels, picks thresholds near 0. On a thinned curve the best of
    /// the kept vertices.
    public var maxDice: (dice: Double, threshold: Double)? {
        guard positives > 0, negatives > 0 else { return nil }
        let (pos, neg) = (Double(positives), Double(negatives))
        var best: (dice: Double, threshold: Double)? = nil
        for v in curve {
            guard let t = v.threshold, t.isFinite else { continue }
            let tp = v.tpr * pos, fp = v.fpr * neg
            let dice = 2 * tp / max(tp + fp + pos, 1e-12)
            if best == nil || dice > best!.dice { best = (dice, t) }
        }
        return best
    }
}

/// Collects (probability, truth) pairs, possibly from many cases, and computes the exact ROC.
///
/// Exactness without a comparison sort: a non-negative Float32's bit pattern orders like its
/// value, and every value in [0, 1] has a pattern below 2³⁰. Each admitted voxel becomes one
/// UInt32 key (pattern | label << 31); an in-place bucket pass on the top 16 bits of the
/// pattern then a 65 536-bin count (or a small sort) per bucket gives every distinct value
/// with its positive and negative counts, in O(n). Memory: 4 bytes per admitted voxel.
public struct ROCAccumulator: Sendable {
    public let window: ProbabilityWindow
    private var keys: [UInt32] = []
    /// Keys per coarse bucket (all, and positive), kept up to date by `add` so `analyze`
    /// need not read the keys an extra time.
    private var bucketCounts = [Int](repeating: 0, count: ROCEngine.bucketCount)
    private var bucketPositives = [Int](repeating: 0, count: ROCEngine.bucketCount)
    /// Whether the keys are already in bucket order (one batch so far, or analyzed).
    private var bucketSorted = true

    public init(window: ProbabilityWindow) { self.window = window }

    /// Number of voxels collected so far.
    public var count: Int { keys.count }

    /// Adds voxels: `probabilities[i]` against truth `truth[i] ∈ positiveLabels`.
    /// Probabilities must lie in [0, 1]; anything else (NaN included) is an error.
    public mutating func add(probabilities: UnsafeBufferPointer<Float>, truth: UnsafeBufferPointer<UInt8>,
                             positiveLabels: ClosedRange<UInt8> = 1...255, source: String = "probabilities") throws {
        try add(probabilities: probabilities, truth: truth, positiveLabels: positiveLabels, source: source, parallelAbove: 200_000)
    }

    /// `parallelAbove`: voxel count from which the input is read in chunks (tests lower it).
    mutating func add(probabilities: UnsafeBufferPointer<Float>, truth: UnsafeBufferPointer<UInt8>,
                      positiveLabels: ClosedRange<UInt8>, source: String, parallelAbove: Int) throws {
        guard probabilities.count == truth.count else {
            throw EvaluationError("\(source): \(probabilities.count) probabilities for \(truth.count) truth voxels")
        }
        let n = probabilities.count
        guard n > 0 else { return }
        let p = SharedConstPointer(probabilities.baseAddress!), t = SharedConstPointer(truth.baseAddress!)
        let window = self.window
        let lo = positiveLabels.lowerBound, hi = positiveLabels.upperBound
        let B = ROCEngine.bucketCount
        let chunks = n < parallelAbove ? 1 : max(2, Parallel.cores) * 4
        // Pass 1: per chunk, keys per coarse bucket (all and positive), and the first bad value.
        let hist = UnsafeMutablePointer<Int>.allocate(capacity: chunks * 2 * B)
        hist.initialize(repeating: 0, count: chunks * 2 * B)
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: chunks * B)
        let badAt = UnsafeMutablePointer<Int>.allocate(capacity: chunks)
        badAt.initialize(repeating: -1, count: chunks)
        defer { hist.deallocate(); offsets.deallocate(); badAt.deallocate() }
        let hs = SharedPointer(hist), os = SharedPointer(offsets), bs = SharedPointer(badAt)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let h = hs.base + c * 2 * B, hp = h + B
            for i in (n * c / chunks)..<(n * (c + 1) / chunks) {
                let x = p[i]
                if !(x >= 0 && x <= 1) { if bs[c] < 0 { bs[c] = i }; continue }
                guard window.admits(x) else { continue }
                let b = Int((x == 0 ? 0 : x.bitPattern) >> 16)
                h[b] += 1
                let label = t[i]
                if label >= lo && label <= hi { hp[b] += 1 }
            }
        }
        if let bad = (0..<chunks).map({ badAt[$0] }).first(where: { $0 >= 0 }) {
            throw EvaluationError("\(source): probability \(p[bad]) at voxel \(bad) is outside [0, 1]")
        }
        // Where each chunk writes each bucket's keys. A first batch goes straight into bucket
        // order (a counting sort), so `analyze` need not permute; later batches are appended.
        let fresh = keys.isEmpty
        var o = keys.count
        if fresh {
            for b in 0..<B { for c in 0..<chunks { offsets[c * B + b] = o; o += hist[c * 2 * B + b] } }
        } else {
            for c in 0..<chunks { for b in 0..<B { offsets[c * B + b] = o; o += hist[c * 2 * B + b] } }
        }
        keys.append(contentsOf: repeatElement(0, count: o - keys.count))
        // Pass 2: write the keys.
        keys.withUnsafeMutableBufferPointer { kb in
            let k = SharedPointer(kb.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let off = os.base + c * B
                for i in (n * c / chunks)..<(n * (c + 1) / chunks) {
                    let x = p[i]
                    guard window.admits(x) else { continue }
                    let bits = x == 0 ? 0 : x.bitPattern  // −0 → +0
                    let label = t[i]
                    let b = Int(bits >> 16)
                    k[off[b]] = bits | (label >= lo && label <= hi ? 0x8000_0000 : 0)
                    off[b] += 1
                }
            }
        }
        for c in 0..<chunks {
            let h = hist + c * 2 * B, hp = h + B
            for b in 0..<B { bucketCounts[b] += h[b]; bucketPositives[b] += hp[b] }
        }
        bucketSorted = fresh
    }

    public mutating func add(probabilities: [Float], truth: [Bool]) throws {
        try add(probabilities: probabilities, truth: truth, parallelAbove: 200_000)
    }

    mutating func add(probabilities: [Float], truth: [Bool], parallelAbove: Int) throws {
        try probabilities.withUnsafeBufferPointer { pb in
            try truth.withUnsafeBytes { tb in
                try add(probabilities: pb, truth: tb.bindMemory(to: UInt8.self), positiveLabels: 1...255,
                        source: "probabilities", parallelAbove: parallelAbove)
            }
        }
    }

    /// The exact ROC analysis of everything added (reorders the stored keys).
    public mutating func analyze(maxCurvePoints: Int = 2048) -> ROCAnalysis {
        analyze(maxCurvePoints: maxCurvePoints, parallelAbove: 200_000)
    }

    /// `parallelAbove`: key count from which the work is split into chunks (tests lower it).
    mutating func analyze(maxCurvePoints: Int, parallelAbove: Int) -> ROCAnalysis {
        let sorted = bucketSorted
        bucketSorted = true  // analyze leaves them in bucket order
        return keys.withUnsafeMutableBufferPointer {
            ROCEngine.analyze($0, counts: bucketCounts, positives: bucketPositives, sorted: sorted, window: window,
                              maxCurvePoints: max(4, maxCurvePoints), parallelAbove: parallelAbove)
        }
    }
}

/// Convenience entry points.
public enum ROC {
    /// ROC analysis of boolean truth against probabilities.
    public static func analyze(probabilities: [Float], truth: [Bool], window: ProbabilityWindow = .all,
                               maxCurvePoints: Int = 2048) throws -> ROCAnalysis {
        var acc = ROCAccumulator(window: window)
        try acc.add(probabilities: probabilities, truth: truth)
        return acc.analyze(maxCurvePoints: maxCurvePoints)
    }
}

import Dispatch

enum ROCEngine {
    static let bucketCount = 0x3F81  // patterns ≤ 0x3F80_0000 (1.0) have top-16 ≤ 0x3F80

    @inline(__always) static func bucket(_ k: UInt32) -> Int { Int((k & 0x7FFF_FFFF) >> 16) }

    struct ChunkResult {
        var aucNumerator = 0          // Σ pos · (2·negBelow + negEqual)
        var distinct = 0
        var bestJ: Int? = nil, bestJThreshold: UInt32 = 0, bestJTP = 0, bestJFP = 0
        var bestDist: (UInt64, UInt64)? = nil, bestDistThreshold: UInt32 = 0  // 128-bit (hi, lo)
        var full: [(Int, Int, UInt32)] = []   // (fp, tp, pattern) while ≤ limit
        var grid: [(Int, Int, UInt32)] = []
        var histN = [Int](repeating: 0, count: 98), histP = [Int](repeating: 0, count: 98)
    }

    static func analyze(_ a: UnsafeMutableBufferPointer<UInt32>, counts: [Int], positives posIn: [Int], sorted: Bool,
                        window: ProbabilityWindow, maxCurvePoints: Int, parallelAbove: Int) -> ROCAnalysis {
        let n = a.count
        let base = SharedPointer(a.baseAddress ?? UnsafeMutablePointer(bitPattern: 4)!)
        // 1. The coarse histogram of buckets (all and positive) came with the keys.
        let P = posIn.reduce(0, +)
        let N = n - P
        var result = ROCAnalysis(window: window, positives: P, negatives: N, distinctThresholds: 0, auc: nil,
                                 youdenThreshold: nil, youdenJ: nil, closestThreshold: nil, curve: [],
                                 histogramNegatives: [Int](repeating: 0, count: 98),
                                 histogramPositives: [Int](repeating: 0, count: 98))
        guard n > 0 else { return result }
        var start = [Int](repeating: 0, count: bucketCount + 1)
        for b in 0..<bucketCount { start[b + 1] = start[b] + counts[b] }
        // 2. Chunks of buckets, descending, of roughly equal size: each is sorted and scanned
        //    by one worker, knowing the positives and negatives above it.
        let chunkCount = n < parallelAbove ? 1 : max(2, Parallel.cores) * 4
        var chunkTops: [Int] = [bucketCount]  // chunk c covers buckets [chunkTops[c+1], chunkTops[c])
        var acc = 0
        for b in stride(from: bucketCount - 1, through: 0, by: -1) {
            acc += counts[b]
            if acc >= n * chunkTops.count / chunkCount && chunkTops.count < chunkCount { chunkTops.append(b) }
        }
        chunkTops.append(0)
        var tpAbove = [Int](repeating: 0, count: chunkTops.count), fpAbove = tpAbove
        do {
            var tp = 0, fp = 0, c = 0
            for b in stride(from: bucketCount - 1, through: 0, by: -1) {
                while c + 1 < chunkTops.count && b < chunkTops[c + 1] { c += 1; tpAbove[c] = tp; fpAbove[c] = fp }
                tp += posIn[b]; fp += counts[b] - posIn[b]
            }
            while c + 1 < chunkTops.count { c += 1; tpAbove[c] = tp; fpAbove[c] = fp }
        }
        // 3. In-place permutation (American flag sort) in two levels: first into the chunks'
        //    regions (few write heads, nearly sequential, one thread), then each chunk into its
        //    buckets in parallel.
        let chunks = chunkTops.count - 1
        if chunks > 1 && !sorted {
            var chunkOf = [Int](repeating: 0, count: bucketCount)
            for c in 0..<chunks { for b in chunkTops[c + 1]..<chunkTops[c] { chunkOf[b] = c } }
            var next = (0..<chunks).map { start[chunkTops[$0 + 1]] }
            let end = (0..<chunks).map { start[chunkTops[$0]] }
            for c in 0..<chunks {
                while next[c] < end[c] {
                    var x = a[next[c]]
                    var kc = chunkOf[bucket(x)]
                    while kc != c {
                        swap(&x, &a[next[kc]])
                        next[kc] += 1
                        kc = chunkOf[bucket(x)]
                    }
                    a[next[c]] = x
                    next[c] += 1
                }
            }
        }
        let startCopy = start
        let tops = chunkTops
        if !sorted { DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = tops[c + 1], hi = tops[c]
            guard lo < hi else { return }
            var next = Array(startCopy[lo..<hi])
            for b in lo..<hi {
                let end = startCopy[b + 1]
                while next[b - lo] < end {
                    var x = base[next[b - lo]]
                    var kb = bucket(x)
                    while kb != b {
                        let slot = next[kb - lo]
                        let y = base[slot]; base[slot] = x; x = y
                        next[kb - lo] += 1
                        kb = bucket(x)
                    }
                    base[next[b - lo]] = x
                    next[b - lo] += 1
                }
            }
        } }
        let half = max(2, maxCurvePoints / 2)
        let limit = maxCurvePoints
        let (tpAboveC, fpAboveC) = (tpAbove, fpAbove)
        let out = UnsafeMutablePointer<ChunkResult>.allocate(capacity: chunks)
        out.initialize(repeating: ChunkResult(), count: chunks)
        defer { out.deinitialize(count: chunks); out.deallocate() }
        let outP = SharedPointer(out)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            var r = ChunkResult()
            var tp = tpAboveC[c], fp = fpAboveC[c]
            var cell = (P > 0 && N > 0) ? (fp * half / N, tp * half / P) : (0, 0)
            var posCount = [UInt32](repeating: 0, count: 65536), negCount = posCount
            var small: [UInt32] = []
            var bucketBin = -1  // the bin of every value in the current bucket, or −1: compute per value
            @inline(__always) func bin(_ pattern: UInt32) -> Int {
                min(97, max(0, Int(((Double(Float(bitPattern: pattern)) - 0.01) / 0.01).rounded(.down))))
            }
            @inline(__always) func vertex(_ pattern: UInt32, _ cp: Int, _ cn: Int) {
                r.distinct += 1
                let negBelow = N - fp - cn
                r.aucNumerator += cp * (2 * negBelow + cn)
                tp += cp; fp += cn
                if window == .restricted {
                    let b = bucketBin >= 0 ? bucketBin : bin(pattern)
                    r.histP[b] += cp; r.histN[b] += cn
                }
                guard P > 0 && N > 0 else { return }
                let j = tp * N - fp * P
                if r.bestJ == nil || j > r.bestJ! { r.bestJ = j; r.bestJThreshold = pattern; r.bestJTP = tp; r.bestJFP = fp }
                let d = add128(square128(UInt64(fp * P)), square128(UInt64((P - tp) * N)))
                if r.bestDist == nil || less128(d, r.bestDist!) { r.bestDist = d; r.bestDistThreshold = pattern }
                if r.full.count <= limit { r.full.append((fp, tp, pattern)) }
                let nc = (fp * half / N, tp * half / P)
                if nc != cell || fp == N && tp == P { r.grid.append((fp, tp, pattern)); cell = nc }
            }
            for b in stride(from: tops[c] - 1, through: tops[c + 1], by: -1) {
                let s = startCopy[b], e = startCopy[b + 1]
                if s == e { continue }
                let high = UInt32(b) << 16
                let first = bin(high), last = bin(high | 0xFFFF)
                bucketBin = first == last ? first : -1
                if e - s <= 4096 {
                    small.removeAll(keepingCapacity: true)
                    for i in s..<e { let k = base[i]; small.append((k & 0xFFFF) << 1 | k >> 31) }
                    small.sort(by: >)
                    var i = 0
                    while i < small.count {
                        let v = small[i] >> 1
                        var cp = 0, cn = 0
                        while i < small.count && small[i] >> 1 == v { if small[i] & 1 == 1 { cp += 1 } else { cn += 1 }; i += 1 }
                        vertex(high | v, cp, cn)
                    }
                } else {
                    for i in s..<e {
                        let k = base[i]
                        if k >> 31 == 1 { posCount[Int(k & 0xFFFF)] += 1 } else { negCount[Int(k & 0xFFFF)] += 1 }
                    }
                    for v in stride(from: 65535, through: 0, by: -1) {
                        let cp = Int(posCount[v]), cn = Int(negCount[v])
                        if cp | cn == 0 { continue }
                        posCount[v] = 0; negCount[v] = 0
                        vertex(high | UInt32(v), cp, cn)
                    }
                }
            }
            outP[c] = r
        }
        // 4. Merge in descending order of thresholds: earlier chunks win ties.
        var aucNum = 0, distinct = 0
        var bestJ: Int? = nil, bestJT: UInt32 = 0
        var bestD: (UInt64, UInt64)? = nil, bestDT: UInt32 = 0
        var full: [(Int, Int, UInt32)] = [], grid: [(Int, Int, UInt32)] = []
        for c in 0..<chunks {
            let r = out[c]
            aucNum += r.aucNumerator; distinct += r.distinct
            if let j = r.bestJ, bestJ == nil || j > bestJ! { bestJ = j; bestJT = r.bestJThreshold }
            if let d = r.bestDist, bestD == nil || less128(d, bestD!) { bestD = d; bestDT = r.bestDistThreshold }
            if full.count <= limit { full += r.full }
            grid += r.grid
            for b in 0..<98 { result.histogramNegatives[b] += r.histN[b]; result.histogramPositives[b] += r.histP[b] }
        }
        result.distinctThresholds = distinct
        guard P > 0 && N > 0 else { return result }
        result.auc = Double(aucNum) / (2 * Double(P) * Double(N))
        result.youdenThreshold = Double(Float(bitPattern: bestJT))
        result.youdenJ = Double(bestJ!) / (Double(P) * Double(N))
        result.closestThreshold = Double(Float(bitPattern: bestDT))
        let chosen = distinct <= limit ? full : grid
        result.curve = [ROCPoint(fpr: 0, tpr: 0, threshold: nil)] + chosen.map {
            ROCPoint(fpr: Double($0.0) / Double(N), tpr: Double($0.1) / Double(P), threshold: Double(Float(bitPattern: $0.2)))
        }
        return result
    }

    @inline(__always) static func square128(_ x: UInt64) -> (UInt64, UInt64) {
        let r = x.multipliedFullWidth(by: x)
        return (r.high, r.low)
    }
    @inline(__always) static func add128(_ a: (UInt64, UInt64), _ b: (UInt64, UInt64)) -> (UInt64, UInt64) {
        let (lo, carry) = a.1.addingReportingOverflow(b.1)
        return (a.0 &+ b.0 &+ (carry ? 1 : 0), lo)
    }
    @inline(__always) static func less128(_ a: (UInt64, UInt64), _ b: (UInt64, UInt64)) -> Bool {
        a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
    }
}
