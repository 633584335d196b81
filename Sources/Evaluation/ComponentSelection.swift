/// Component selection for post-processing (the segmentation pipeline keeps the largest
/// liver component), built on the same 26-connected labelling the lesion metrics use.
extension Components {
    /// For each component, how many of its voxels (by index into the full grid) satisfy `test`.
    public func voxelCounts(in shape: [Int], where test: (Int) -> Bool) -> [Int] {
        var counts = [Int](repeating: 0, count: sizes.count)
        forEachVoxel(shape: shape) { c, idx in if test(idx) { counts[c - 1] += 1 } }
        return counts
    }

    /// Sets every voxel of component n (0-based, as in `sizes`) to `value(n)`, or leaves the
    /// component as it is where that is nil.
    public func relabelComponents(_ labels: inout [UInt8], shape: [Int], value: (Int) -> UInt8?) {
        let values = sizes.indices.map(value)
        forEachVoxel(shape: shape) { c, idx in if let v = values[c - 1] { labels[idx] = v } }
    }

    /// For each component, the size of the largest component of `inner` with a voxel in it
    /// (0 for none): with `inner` labelled on a subset of the same voxels, the largest lesion
    /// core a hysteresis region holds.
    public func largestInside(_ inner: Components, shape: [Int]) -> [Int] {
        var largest = [Int](repeating: 0, count: sizes.count)
        inner.forEachVoxel { c, i, j, k in
            let mine = label(i, j, k)
            if mine > 0 { largest[mine - 1] = max(largest[mine - 1], inner.sizes[c - 1]) }
        }
        return largest
    }

    /// For each component, how many planes of the third axis it spans (last − first + 1).
    public func sliceSpans() -> [Int] {
        var first = [Int](repeating: Int.max, count: sizes.count), last = [Int](repeating: Int.min, count: sizes.count)
        forEachVoxel { c, _, _, k in first[c - 1] = min(first[c - 1], k); last[c - 1] = max(last[c - 1], k) }
        return sizes.indices.map { last[$0] - first[$0] + 1 }
    }

    /// The largest component (0-based, as in `sizes`); ties go to the lowest-numbered one.
    var largest: Int? { sizes.indices.max { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) } }

    /// Sets every labelled voxel outside the largest component to 0, in place (a separate
    /// whole-volume mask would cost another byte per voxel at the end of a segmentation, when
    /// memory peaks). Ties go to the lowest-numbered component.
    public func clearAllButLargest(_ labels: inout [UInt8], shape: [Int]) {
        guard let best = largest else { return }
        forEachVoxel(shape: shape) { c, idx in if c != best + 1 { labels[idx] = 0 } }
    }
}
