/// 2-D resizing of axial slices between the scan's grid and the network's square input.
/// Pixel centres are aligned (half-pixel convention, as PyTorch's align_corners=False), so a
/// resize and its inverse put structures back where they were.
public enum SliceResize {
    /// Bilinear resize of a row-major `w`×`h` image to `ow`×`oh`.
    public static func bilinear(_ src: UnsafeBufferPointer<Float>, width w: Int, height h: Int,
                                to dst: UnsafeMutableBufferPointer<Float>, width ow: Int, height oh: Int) {
        precondition(src.count >= w * h && dst.count >= ow * oh, "SliceResize.bilinear: buffers too small")
        let sx = Float(w) / Float(ow), sy = Float(h) / Float(oh)
        for y in 0..<oh {
            let fy = max(0, min(Float(h - 1), (Float(y) + 0.5) * sy - 0.5))
            let y0 = Int(fy), y1 = min(y0 + 1, h - 1)
            let ty = fy - Float(y0)
            for x in 0..<ow {
                let fx = max(0, min(Float(w - 1), (Float(x) + 0.5) * sx - 0.5))
                let x0 = Int(fx), x1 = min(x0 + 1, w - 1)
                let tx = fx - Float(x0)
                let a = src[y0 * w + x0] * (1 - tx) + src[y0 * w + x1] * tx
                let b = src[y1 * w + x0] * (1 - tx) + src[y1 * w + x1] * tx
                dst[y * ow + x] = a * (1 - ty) + b * ty
            }
        }
    }

    /// Nearest-neighbour resize (labels).
    public static func nearest<T>(_ src: UnsafeBufferPointer<T>, width w: Int, height h: Int,
                                  to dst: UnsafeMutableBufferPointer<T>, width ow: Int, height oh: Int) {
        precondition(src.count >= w * h && dst.count >= ow * oh, "SliceResize.nearest: buffers too small")
        for y in 0..<oh {
            let sy = min(h - 1, Int((Float(y) + 0.5) * Float(h) / Float(oh)))
            for x in 0..<ow {
                let sx = min(w - 1, Int((Float(x) + 0.5) * Float(w) / Float(ow)))
                dst[y * ow + x] = src[sy * w + sx]
            }
        }
    }
}
