import Support

/// Network B's training masks M grown at random into the tissue next to the liver, the way
/// network A's masks spill on cases it never saw. On A's own training cases its masks take in
/// a neighbour (a 2-D piece of 40 pixels or more, reaching 4 or more pixels past the liver) in
/// 97 of 433 slices; on 12 phantoms it never saw, in 180 of 426 (docs/experiments.md, session
/// 25). B learns on A's own cases, so it has seen few such pieces, and on the held-out
/// phantoms it called some of them tumor: with B on 48 phantoms, 11 of seed 2's 17 false
/// lesions of 20 voxels or more lay mostly on tissue the truth calls background, inside A's
/// mask (docs/experiments.md, session 24). This shows B such pieces on purpose, with their target: not tumor.
///
/// With probability `share` a slice whose M is not empty gets 1–3 spills. Each starts at a
/// random pixel just outside M that is background in the truth and whose HU lies within
/// `softTissue` of the slice's liver mean (A spills into tissue that looks like liver, not into
/// fat or air), and grows breadth-first over such pixels up to `depthRange` pixels from its
/// start and `areaRange` pixels in all. B's target stays M·B, and the truth has no tumor
/// there: every spilled pixel is background for B to learn.
enum MaskSpill {
    /// HU relative to the slice's liver mean that a spill may take in: A's large spills on
    /// unseen phantoms lay at −64…+68 around the liver's median (10th–90th percentile).
    static let softTissue: ClosedRange<Float> = -100...80
    /// City-block reach of one spill from its first pixel (A's large spills: median 5, up to 20).
    static let depthRange = 3...10
    /// Pixels of one spill (A's large spills at 256²: median 69).
    static let areaRange = 30...300
    static let perSlice = 1...3

    /// Grows one `size`×`size` slice's mask in place, reading `hu` (the slice's HU) and the
    /// truth `labels`; the number of pixels added.
    @discardableResult
    static func apply(mask m: inout [UInt8], hu: ArraySlice<Float>, labels l: [UInt8], size s: Int, share: Double, rng: inout SeededRNG) -> Int {
        guard share > 0, m.contains(where: { $0 != 0 }) else { return 0 }
        guard rng.nextDouble() < share else { return 0 }
        let h = Array(hu), p = s * s
        // The liver's mean HU: of the mask's true liver, or of the mask when it holds none.
        let liver = (0..<p).filter { m[$0] != 0 && l[$0] >= 1 }
        let reference = liver.isEmpty ? (0..<p).filter { m[$0] != 0 } : liver
        let mean = reference.reduce(Float(0)) { $0 + h[$1] } / Float(reference.count)
        func open(_ i: Int) -> Bool { m[i] == 0 && l[i] == 0 && softTissue.contains(h[i] - mean) }
        func touchesMask(_ i: Int) -> Bool {
            var touches = false
            SliceNeighbours.forEach(i, size: s) { if m[$0] != 0 { touches = true } }
            return touches
        }
        // Every spill starts beside the mask A made, not beside an earlier spill: one spill
        // reaches at most `depthRange.upperBound` + 1 pixels past M, as A's do.
        let starts = (0..<p).filter { open($0) && touchesMask($0) }
        guard !starts.isEmpty else { return 0 }
        var added = 0
        for _ in 0..<(perSlice.lowerBound + rng.below(perSlice.count)) {
            let start = starts[rng.below(starts.count)]
            let depth = depthRange.lowerBound + rng.below(depthRange.count)
            let area = areaRange.lowerBound + rng.below(areaRange.count)
            guard open(start) else { continue }
            // Breadth-first from the start: the spill fills outwards, nearest pixels first.
            var queue = [start], reach = [start: 0], head = 0
            while head < queue.count && head < area {
                let i = queue[head]; head += 1
                guard reach[i]! < depth else { continue }
                SliceNeighbours.forEach(i, size: s) { j in
                    if reach[j] == nil && open(j) { reach[j] = reach[i]! + 1; queue.append(j) }
                }
            }
            for i in queue.prefix(area) { m[i] = 1 }
            added += min(queue.count, area)
        }
        return added
    }
}
