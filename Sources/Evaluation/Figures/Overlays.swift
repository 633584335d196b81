import MedicalImage

extension Figures {
    /// One axial slice k of a volume (i fastest) in display order: rows top to bottom run
    /// from high j to low j, so a RAS-oriented volume shows anterior at the top.
    public static func axialSlice<T>(_ voxels: [T], shape: [Int], k: Int) -> [T] {
        let nx = shape[0], ny = shape[1]
        var out: [T] = []
        out.reserveCapacity(nx * ny)
        for row in 0..<ny {
            let j = ny - 1 - row
            out.append(contentsOf: voxels[(k * ny + j) * nx..<(k * ny + j) * nx + nx])
        }
        return out
    }

    /// The axial slice where the truth (else the prediction) has the most voxels of `labels`.
    public static func mostInformativeSlice(truth: [UInt8], prediction: [UInt8], shape: [Int], labels: ClosedRange<UInt8>) -> Int {
        let plane = shape[0] * shape[1]
        var best = shape[2] / 2, bestCount = 0
        for source in [truth, prediction] {
            for k in 0..<shape[2] {
                var n = 0
                for i in k * plane..<(k + 1) * plane where labels.contains(source[i]) { n += 1 }
                if n > bestCount { bestCount = n; best = k }
            }
            if bestCount > 0 { break }
        }
        return best
    }

    /// Seed figure 3.2: the CT slice (values in [0, 1], row-major, top row first) in grey with
    /// the prediction's contour in red and the truth's in blue, magnified by `scale`.
    public static func contourOverlay(slice: [Float], width: Int, height: Int, prediction: [Bool], truth: [Bool],
                                      scale: Int = 2) throws -> RGBImage {
        try checkSlice(slice.count, prediction.count, truth.count, width, height)
        var img = greyImage(slice, width, height, scale)
        drawContour(&img, truth, width, height, scale, .truth)
        drawContour(&img, prediction, width, height, scale, .prediction)
        return img
    }

    /// Seed figure 3.5: overlap map on the slice: true positives, false positives and false
    /// negatives in three colours (blended over the CT).
    public static func overlapMap(slice: [Float], width: Int, height: Int, prediction: [Bool], truth: [Bool],
                                  scale: Int = 2) throws -> RGBImage {
        try checkSlice(slice.count, prediction.count, truth.count, width, height)
        var img = greyImage(slice, width, height, scale)
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                let c: Color
                switch (prediction[i], truth[i]) {
                case (true, true): c = .truePositive
                case (true, false): c = .falsePositive
                case (false, true): c = .falseNegative
                default: continue
                }
                for sy in 0..<scale { for sx in 0..<scale {
                    let (r, g, b) = img.get(x * scale + sx, y * scale + sy)
                    img.set(x * scale + sx, y * scale + sy,
                            (UInt8((Int(r) + 3 * Int(c.r)) / 4), UInt8((Int(g) + 3 * Int(c.g)) / 4), UInt8((Int(b) + 3 * Int(c.b)) / 4)))
                } }
            }
        }
        // Legend strip along the bottom.
        var canvas = Canvas(width: img.width, height: img.height + 18)
        canvas.image.pixels.replaceSubrange(0..<img.pixels.count, with: img.pixels)
        var x = 4
        for (name, col) in [("TP", Color.truePositive), ("FP", Color.falsePositive), ("FN", Color.falseNegative)] {
            canvas.fill(x, img.height + 4, x + 10, img.height + 14, col)
            canvas.text(name, x: x + 14, y: img.height + 6)
            x += 50
        }
        return canvas.image
    }

    static func checkSlice(_ n: Int, _ p: Int, _ t: Int, _ w: Int, _ h: Int) throws {
        guard w > 0, h > 0, n == w * h, p == n, t == n else {
            throw EvaluationError("overlay: slice \(n), prediction \(p) and truth \(t) pixels do not all fill \(w)×\(h)")
        }
    }

    static func greyImage(_ s: [Float], _ w: Int, _ h: Int, _ scale: Int) -> RGBImage {
        var img = RGBImage(width: w * scale, height: h * scale)
        for y in 0..<h * scale {
            for x in 0..<w * scale {
                let v = s[(y / scale) * w + x / scale]
                let g = UInt8(max(0, min(255, (v.isFinite ? v : 0) * 255 + 0.5)))
                img.set(x, y, (g, g, g))
            }
        }
        return img
    }

    /// Marks mask pixels that have a 4-neighbour outside the mask (or the image edge).
    static func drawContour(_ img: inout RGBImage, _ m: [Bool], _ w: Int, _ h: Int, _ scale: Int, _ c: Color) {
        for y in 0..<h {
            for x in 0..<w where m[y * w + x] {
                let edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || !m[y * w + x - 1] || !m[y * w + x + 1]
                    || !m[(y - 1) * w + x] || !m[(y + 1) * w + x]
                guard edge else { continue }
                for sy in 0..<scale { for sx in 0..<scale { img.set(x * scale + sx, y * scale + sy, c.tuple) } }
            }
        }
    }
}
