/// Component selection for post-processing (the segmentation pipeline keeps the largest
/// liver component), built on the same 26-connected labelling the lesion metrics use.
extension Components {
    /// A mask (1 inside) of the largest component; all zeros when there is none. Ties go to
    /// the lowest-numbered component.
    public func largestComponentMask(shape: [Int]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: shape.reduce(1, *))
        guard let best = sizes.indices.max(by: { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) }) else { return out }
        forEachVoxel(shape: shape) { c, idx in if c == best + 1 { out[idx] = 1 } }
        return out
    }
}
