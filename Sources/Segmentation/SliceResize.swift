/// 2-D resizing of axial slices between the scan's grid and the network's square input.
/// Pixel centres are aligned (half-pixel convention, as PyTorch's align_corners=False), so a
/// resize and its inverse put structures back where they were. The network may see only a
/// `SliceRegion` of the slice (the body's square); with the full region these are plain resizes.
public enum SliceResize {
    /// Bilinear resize of a row-major `w`×`h` image to `ow`×`oh`.
    public static func bilinear(_ src: UnsafeBufferPointer<Float>, width w: Int, height h: Int,
                                to dst: UnsafeMutableBufferPointer<Float>, width ow: Int, height oh: Int) {
        bilinear(src, width: w, height: h, region: .full(width: w, height: h), to: dst, width: ow, height: oh)
    }

    /// Bilinear resize of `region` of a row-major `w`×`h` image to `ow`×`oh` (the network's
    /// view of a slice). Where the region reaches past the image, the edge pixels repeat.
    public static func bilinear(_ src: UnsafeBufferPointer<Float>, width w: Int, height h: Int, region r: SliceRegion,
                                to dst: UnsafeMutableBufferPointer<Float>, width ow: Int, height oh: Int) {
        precondition(src.count >= w * h && dst.count >= ow * oh, "SliceResize.bilinear: buffers too small")
        let sx = Float(r.width) / Float(ow), sy = Float(r.height) / Float(oh)
        let rx = Float(r.x0), ry = Float(r.y0)
        for y in 0..<oh {
            let fy = max(0, min(Float(h - 1), ry + (Float(y) + 0.5) * sy - 0.5))
            let y0 = Int(fy), y1 = min(y0 + 1, h - 1)
            let ty = fy - Float(y0)
            for x in 0..<ow {
                let fx = max(0, min(Float(w - 1), rx + (Float(x) + 0.5) * sx - 0.5))
                dst[y * ow + x] = lerp(src, w, fx, y0, y1, ty)
            }
        }
    }

    /// The inverse view: an `mw`×`mh` network output that covers `region` put back on the
    /// scan's `w`×`h` grid (bilinear); pixels outside the region get 0.
    public static func bilinear(_ src: UnsafeBufferPointer<Float>, width mw: Int, height mh: Int,
                                to dst: UnsafeMutableBufferPointer<Float>, width w: Int, height h: Int, region r: SliceRegion) {
        precondition(src.count >= mw * mh && dst.count >= w * h, "SliceResize.bilinear: buffers too small")
        let sx = Float(mw) / Float(r.width), sy = Float(mh) / Float(r.height)
        let rx = Float(r.x0), ry = Float(r.y0)
        for y in 0..<h {
            guard y >= r.y0 && y < r.y0 + r.height else {
                for x in 0..<w { dst[y * w + x] = 0 }
                continue
            }
            let fy = max(0, min(Float(mh - 1), (Float(y) - ry + 0.5) * sy - 0.5))
            let y0 = Int(fy), y1 = min(y0 + 1, mh - 1)
            let ty = fy - Float(y0)
            for x in 0..<w {
                guard x >= r.x0 && x < r.x0 + r.width else { dst[y * w + x] = 0; continue }
                let fx = max(0, min(Float(mw - 1), (Float(x) - rx + 0.5) * sx - 0.5))
                dst[y * w + x] = lerp(src, mw, fx, y0, y1, ty)
            }
        }
    }

    @inline(__always) static func lerp(_ src: UnsafeBufferPointer<Float>, _ w: Int, _ fx: Float, _ y0: Int, _ y1: Int, _ ty: Float) -> Float {
        let x0 = Int(fx), x1 = min(x0 + 1, w - 1)
        let tx = fx - Float(x0)
        let a = src[y0 * w + x0] * (1 - tx) + src[y0 * w + x1] * tx
        let b = src[y1 * w + x0] * (1 - tx) + src[y1 * w + x1] * tx
        return a * (1 - ty) + b * ty
    }

    /// The share of each output pixel's footprint that `inside` covers, for `region` of a
    /// row-major `w`×`h` label slice resized to `ow`×`oh`: exact area overlap, computed
    /// separably (the footprint of output pixel x is [x0 + x·sx, x0 + (x + 1)·sx) in the
    /// source's continuous coordinates; the edge repeats past the image).
    ///
    /// Why: a nearest-neighbour label at the model's resolution says only on which side of the
    /// boundary one point of the pixel lies. At a downsampling of 2 that point is a corner
    /// shared by four source pixels, so the label is shifted by half a source pixel, and a
    /// network trained on it cannot place the boundary between its own pixels. Trained on
    /// coverage, its probability is a ramp across the boundary whose 0.5 crossing, upsampled
    /// bilinearly to the scan, falls where the boundary is.
    public static func coverage<T>(_ src: UnsafeBufferPointer<T>, width w: Int, height h: Int, region r: SliceRegion,
                                   to dst: UnsafeMutableBufferPointer<Float>, width ow: Int, height oh: Int,
                                   inside: (T) -> Bool) {
        precondition(src.count >= w * h && dst.count >= ow * oh, "SliceResize.coverage: buffers too small")
        let wx = footprints(offset: r.x0, length: r.width, count: ow, limit: w)
        let wy = footprints(offset: r.y0, length: r.height, count: oh, limit: h)
        var row = [Float](repeating: 0, count: ow)
        for y in 0..<oh {
            for x in 0..<ow { dst[y * ow + x] = 0 }
            for (j, fy) in wy[y] {
                for x in 0..<ow {
                    var a: Float = 0
                    for (i, fx) in wx[x] where inside(src[j * w + i]) { a += fx }
                    row[x] = a
                }
                for x in 0..<ow { dst[y * ow + x] += fy * row[x] }
            }
        }
    }

    /// For each of `count` output pixels spanning source [offset, offset + length), the source
    /// indices (clamped to 0..<limit) its footprint overlaps, with the overlapped share.
    static func footprints(offset: Int, length: Int, count: Int, limit: Int) -> [[(Int, Float)]] {
        let step = Double(length) / Double(count)
        return (0..<count).map { x in
            let lo = Double(offset) + Double(x) * step, hi = lo + step
            var parts: [(Int, Float)] = []
            var i = Int(lo.rounded(.down))
            while Double(i) < hi {
                let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                if overlap > 0 {
                    let c = max(0, min(limit - 1, i))
                    if let last = parts.last, last.0 == c { parts[parts.count - 1].1 += Float(overlap / step) } else { parts.append((c, Float(overlap / step))) }
                }
                i += 1
            }
            return parts
        }
    }

    /// Nearest-neighbour resize (labels).
    public static func nearest<T>(_ src: UnsafeBufferPointer<T>, width w: Int, height h: Int,
                                  to dst: UnsafeMutableBufferPointer<T>, width ow: Int, height oh: Int) {
        nearest(src, width: w, height: h, region: .full(width: w, height: h), to: dst, width: ow, height: oh)
    }

    /// Nearest-neighbour resize of `region` (labels; the edge repeats past the image).
    public static func nearest<T>(_ src: UnsafeBufferPointer<T>, width w: Int, height h: Int, region r: SliceRegion,
                                  to dst: UnsafeMutableBufferPointer<T>, width ow: Int, height oh: Int) {
        precondition(src.count >= w * h && dst.count >= ow * oh, "SliceResize.nearest: buffers too small")
        for y in 0..<oh {
            let sy = max(0, min(h - 1, r.y0 + Int((Float(y) + 0.5) * Float(r.height) / Float(oh))))
            for x in 0..<ow {
                let sx = max(0, min(w - 1, r.x0 + Int((Float(x) + 0.5) * Float(r.width) / Float(ow))))
                dst[y * ow + x] = src[sy * w + sx]
            }
        }
    }
}
