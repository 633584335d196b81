/// The 4-connected neighbours of a pixel of a `size`×`size` slice, for the breadth-first
/// searches over B's training masks (`MaskLesionCut`, `MaskSpill`): without an array per
/// pixel, since they visit every pixel of every slice of a batch.
enum SliceNeighbours {
    /// Calls `body` with each neighbour of pixel `i` inside the slice: left, right, above, below.
    @inline(__always)
    static func forEach(_ i: Int, size s: Int, _ body: (Int) -> Void) {
        let x = i % s
        if x > 0 { body(i - 1) }
        if x < s - 1 { body(i + 1) }
        if i >= s { body(i - s) }
        if i < s * (s - 1) { body(i + s) }
    }
}
