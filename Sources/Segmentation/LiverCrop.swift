/// Network B's view of a slice: the square around the liver mask M (with a margin), zoomed
/// to the model size. The tumor is then a few percent of B's pixels instead of a few per
/// mille of the slice, and lesions span several times more pixels, which is what lets B
/// learn them in minutes on a CPU.
///
/// The square is found on the model-size slice (where A's mask lives) but can be cut from
/// any image covering the same field of view: from the scan at its own resolution (the
/// cascade: a 256² liver square cut from a 512² CT keeps the detail a 128² or 256² slice
/// has already lost) or from the model-size slice itself (joint training, where the mask
/// changes every step and only the model-size slice is at hand).
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

    /// The crop zoomed to size×size from the model-size slice (bilinear; for labels and masks `nearest`).
    public func crop(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<Float>, nearest: Bool = false) {
        crop(src, width: size, height: size, into: dst, nearest: nearest)
    }

    /// The crop zoomed to size×size from a `width`×`height` image of the slice's field of view
    /// (the model-size slice is a resize of it with pixel centres aligned, see `SliceResize`).
    public func crop<T: BinaryFloatingPoint>(_ src: UnsafeBufferPointer<T>, width w: Int, height h: Int,
                                             into dst: UnsafeMutableBufferPointer<Float>, nearest: Bool = false) {
        precondition(src.count >= w * h && dst.count >= size * size, "LiverCrop.crop: buffers too small")
        // Crop pixel c → model coordinate (c + ½)·side/size + x0 (pixel-edge units) → source pixel.
        let k = Double(side) / Double(size)
        let ax = k * Double(w) / Double(size), bx = Double(x0) * Double(w) / Double(size) - 0.5
        let ay = k * Double(h) / Double(size), by = Double(y0) * Double(h) / Double(size) - 0.5
        for y in 0..<size {
            let sy = (Double(y) + 0.5) * ay + by
            for x in 0..<size {
                let sx = (Double(x) + 0.5) * ax + bx
                if nearest {
                    let ix = Int(sx.rounded()), iy = Int(sy.rounded())
                    dst[y * size + x] = ix >= 0 && iy >= 0 && ix < w && iy < h ? Float(src[iy * w + ix]) : 0
                } else {
                    dst[y * size + x] = Self.sample(src, w, h, sx, sy)
                }
            }
        }
    }

    /// Puts a crop-space image back on the model-size slice (bilinear); pixels outside the square get 0.
    public func uncrop(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<Float>) {
        uncrop(src, into: dst, width: size, height: size)
    }

    /// Puts a crop-space image back on a `width`×`height` image of the slice's field of view.
    public func uncrop(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableBufferPointer<Float>, width w: Int, height h: Int) {
        precondition(src.count >= size * size && dst.count >= w * h, "LiverCrop.uncrop: buffers too small")
        let inv = Double(size) / Double(side)
        let sxw = Double(size) / Double(w), syh = Double(size) / Double(h)
        let last = Double(size - 1)
        for y in 0..<h {
            let my = (Double(y) + 0.5) * syh   // model coordinate, pixel-edge units
            let inY = my >= Double(y0) && my < Double(y0 + side)
            let cy = min(max((my - Double(y0)) * inv - 0.5, 0), last)
            for x in 0..<w {
                let mx = (Double(x) + 0.5) * sxw
                guard inY, mx >= Double(x0), mx < Double(x0 + side) else { dst[y * w + x] = 0; continue }
                let cx = min(max((mx - Double(x0)) * inv - 0.5, 0), last)
                dst[y * w + x] = Self.sample(src, size, size, cx, cy)
            }
        }
    }

    @inline(__always) static func sample<T: BinaryFloatingPoint>(_ src: UnsafeBufferPointer<T>, _ w: Int, _ h: Int, _ sx: Double, _ sy: Double) -> Float {
        let fx = sx.rounded(.down), fy = sy.rounded(.down)
        let ix = Int(fx), iy = Int(fy)
        let tx = Float(sx - fx), ty = Float(sy - fy)
        func at(_ x: Int, _ y: Int) -> Float { x >= 0 && y >= 0 && x < w && y < h ? Float(src[y * w + x]) : 0 }
        return (at(ix, iy) * (1 - tx) + at(ix + 1, iy) * tx) * (1 - ty) + (at(ix, iy + 1) * (1 - tx) + at(ix + 1, iy + 1) * tx) * ty
    }
}
