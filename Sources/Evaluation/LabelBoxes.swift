/// Bounding boxes of every label value of a label map, found in one pass: zero rows are
/// skipped eight bytes at a time and the rest are scanned run by run (label maps are
/// piecewise constant), so the full-volume scans cost about one memory read.
struct LabelBoxes {
    /// boxes[l] is the box of voxels equal to l (nil when absent); boxes[0] is not tracked.
    var boxes: [BoundingBox?]

    init(_ v: UnsafeBufferPointer<UInt8>, shape: [Int]) {
        let nx = shape[0], ny = shape[1], nz = shape[2]
        let base = SharedConstPointer(v.baseAddress ?? UnsafePointer(bitPattern: 1)!)
        let parts = Parallel.map(nz, costPerItem: nx * ny / 4) { ks -> [Int] in
            // Per label: lower i, j, k then upper i, j, k (inclusive); lower = Int.max when absent.
            var b = [Int](repeating: 0, count: 256 * 6)
            for l in 0..<256 { b[6 * l] = .max; b[6 * l + 1] = .max; b[6 * l + 2] = .max; b[6 * l + 3] = -1; b[6 * l + 4] = -1; b[6 * l + 5] = -1 }
            let words = nx / 8
            for k in ks {
                for j in 0..<ny {
                    let row = base.base + (k * ny + j) * nx
                    var acc: UInt64 = 0
                    let raw = UnsafeRawPointer(row)
                    for w in 0..<words { acc |= raw.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self) }
                    for i in (8 * words)..<nx { acc |= UInt64(row[i]) }
                    if acc == 0 { continue }
                    var i = 0
                    while i < nx {
                        let l = row[i]
                        var e = i + 1
                        while e < nx && row[e] == l { e += 1 }
                        if l != 0 {
                            let o = 6 * Int(l)
                            if i < b[o] { b[o] = i }
                            if j < b[o + 1] { b[o + 1] = j }
                            if k < b[o + 2] { b[o + 2] = k }
                            if e - 1 > b[o + 3] { b[o + 3] = e - 1 }
                            if j > b[o + 4] { b[o + 4] = j }
                            if k > b[o + 5] { b[o + 5] = k }
                        }
                        i = e
                    }
                }
            }
            return b
        }
        boxes = (0..<256).map { l in
            var lo = [Int.max, Int.max, Int.max], hi = [-1, -1, -1]
            for p in parts {
                for a in 0..<3 { lo[a] = min(lo[a], p[6 * l + a]); hi[a] = max(hi[a], p[6 * l + 3 + a]) }
            }
            return (l == 0 || hi[0] < 0) ? nil : BoundingBox(lower: lo, upper: hi.map { $0 + 1 })
        }
    }

    /// Box of all labels in `range` (label 0 is never foreground here).
    func box(_ range: ClosedRange<UInt8>) -> BoundingBox? {
        var out: BoundingBox? = nil
        for l in range where l != 0 {
            if let b = boxes[Int(l)] { out = out.map { $0.union(b) } ?? b }
        }
        return out
    }
}
