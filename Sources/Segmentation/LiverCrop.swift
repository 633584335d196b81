/// Network B's view of a slice: the square around the liver mask M (with a margin), zoomed
/// to the model size. The tumor is then a few percent of B's pixels instead of a few per
/// mille of the slice, and lesions span several times more pixels, which is what lets B
/// learn them in minutes on a CPU. The crop is taken from the same model-size slice in
/// training and in segmentation, so both see identical data.
public struct LiverCrop: Equatable, Sendable {
    /// Square in model-size pixels: [x0, x0 + side) × [y0, y0 + side) (may extend past the slice; outside reads as 0).
    public let x0: Int, y0: Int, side: Int
    public let size: Int

    /// The crop around the pixels of `mask` (row-major size×size) that are > 0, or nil if none.
    public init?(mask: UnsafeBufferPointer<Float>, size: Int, margin: Double = 0.15, minSide: Int = 16) {
        var (xmin, xmax, ymin, ymax) = (Int.max, -1, Int.max, -1)
        for y in 0..<size {
            for x in 0..<size where mask[y * size + x] > 0 {
                xmin = min(xmin, x); xmax = max(xmax, x); ymin = min(ymin, y); ymax = max(ymax, y)
            }
        }
        guard xmax >= 0 else { return nil }
        let w = xmax - xmin + 1, h = ymax - ymin + 1
        let side = min(size, max(minSide, Int((Double(max(w, h)) * (1 + 2 * margin)).rounded(.up))))
        // Centre the square on the box, then shift it inside the slice where possible.
        var x0 = (xmin + xmax + 1 - side) / 2, y0 = (ymin + ymax + 1 - side) / 2
        x0 = max(0, min(size - side, x0)); y0 = max(0, min(size - side, y0))
        self.x0 = x0; self.y0 = y0; self.side = side; self.size = size
    }

    /// The crop zoomed to size×size (bilinear; for labels and masks use `nearest`).
    public func crop(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<Float>, nearest: Bool = false) {
        let scale = Double(side) / Double(size)
        for y in 0..<size {
            let sy = (Double(y) + 0.5) * scale - 0.5 + Double(y0)
            for x in 0..<size {
                let sx = (Double(x) + 0.5) * scale - 0.5 + Double(x0)
                if nearest {
                    let ix = Int((sx).rounded()), iy = Int((sy).rounded())
                    dst[y * size + x] = ix >= 0 && iy >= 0 && ix < size && iy < size ? src[iy * size + ix] : 0
                } else {
                    dst[y * size + x] = sample(src, sx, sy)
                }
            }
        }
    }

    /// Puts a crop-space image back on the slice (bilinear); pixels outside the square get 0.
    public func uncrop(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<Float>) {
        let inv = Double(size) / Double(side)
        for y in 0..<size {
            for x in 0..<size {
                guard x >= x0, x < x0 + side, y >= y0, y < y0 + side else { dst[y * size + x] = 0; continue }
                let cx = (Double(x - x0) + 0.5) * inv - 0.5, cy = (Double(y - y0) + 0.5) * inv - 0.5
                dst[y * size + x] = sample(src, min(max(cx, 0), Double(size - 1)), min(max(cy, 0), Double(size - 1)))
            }
        }
    }

    @inline(__always) func sample(_ src: UnsafeBufferPointer<Float>, _ sx: Double, _ sy: Double) -> Float {
        let fx = sx.rounded(.down), fy = sy.rounded(.down)
        let ix = Int(fx), iy = Int(fy)
        let tx = Float(sx - fx), ty = Float(sy - fy)
        func at(_ x: Int, _ y: Int) -> Float { x >= 0 && y >= 0 && x < size && y < size ? src[y * size + x] : 0 }
        return (at(ix, iy) * (1 - tx) + at(ix + 1, iy) * tx) * (1 - ty) + (at(ix, iy + 1) * (1 - tx) + at(ix + 1, iy + 1) * tx) * ty
    }
}
