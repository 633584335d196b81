import MedicalImage

/// An RGB colour.
public struct Color: Sendable, Equatable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    var tuple: (UInt8, UInt8, UInt8) { (r, g, b) }

    public static let white = Color(255, 255, 255), black = Color(0, 0, 0), grey = Color(200, 200, 200)
    public static let darkGrey = Color(90, 90, 90)
    /// Seed figure 3.2: prediction red, truth blue.
    public static let prediction = Color(235, 40, 40), truth = Color(40, 110, 255)
    /// Overlap maps: true positive, false positive, false negative.
    public static let truePositive = Color(250, 200, 40), falsePositive = Color(230, 50, 50), falseNegative = Color(60, 140, 255)
    /// Distinguishable line colours for several series (Okabe–Ito).
    public static let palette: [Color] = [
        Color(213, 94, 0), Color(0, 114, 178), Color(0, 158, 115), Color(204, 121, 167),
        Color(230, 159, 0), Color(86, 180, 233), Color(0, 0, 0), Color(240, 228, 66),
    ]
}

/// Drawing primitives on an `RGBImage`: lines, rectangles, text.
struct Canvas {
    var image: RGBImage
    init(width: Int, height: Int, background: Color = .white) {
        image = RGBImage(width: width, height: height, fill: background.tuple)
    }

    mutating func pixel(_ x: Int, _ y: Int, _ c: Color) { image.set(x, y, c.tuple) }

    mutating func fill(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: Color) {
        let xa = max(0, x0), xb = min(image.width, x1), ya = max(0, y0), yb = min(image.height, y1)
        guard xa < xb, ya < yb else { return }
        for y in ya..<yb { for x in xa..<xb { image.set(x, y, c.tuple) } }
    }

    /// Bresenham line, `thickness` pixels wide.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: Color, thickness: Int = 1) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        let h = thickness / 2
        while true {
            for oy in -h..<(thickness - h) { for ox in -h..<(thickness - h) { pixel(x + ox, y + oy, c) } }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    mutating func dashedHLine(_ x0: Int, _ x1: Int, _ y: Int, _ c: Color) {
        guard x0 <= x1 else { return }
        for x in x0...x1 where (x / 3) % 2 == 0 { pixel(x, y, c) }
    }
    mutating func dashedVLine(_ x: Int, _ y0: Int, _ y1: Int, _ c: Color) {
        guard y0 <= y1 else { return }
        for y in y0...y1 where (y / 3) % 2 == 0 { pixel(x, y, c) }
    }

    /// Text with its top-left corner at (x, y).
    mutating func text(_ s: String, x: Int, y: Int, scale: Int = 1, color: Color = .black) {
        var cx = x
        for ch in s {
            let rows = BitmapFont.bitmap(ch)
            for (ry, bits) in rows.enumerated() {
                for rx in 0..<BitmapFont.width where bits & (1 << (BitmapFont.width - 1 - rx)) != 0 {
                    fill(cx + rx * scale, y + ry * scale, cx + (rx + 1) * scale, y + (ry + 1) * scale, color)
                }
            }
            cx += (BitmapFont.width + 1) * scale
        }
    }

    /// Text rotated 90° counter-clockwise (for a y-axis label), its visual top-left at (x, y).
    mutating func verticalText(_ s: String, x: Int, y: Int, scale: Int = 1, color: Color = .black) {
        let w = BitmapFont.textWidth(s, scale: scale)
        var cy = y + w
        for ch in s {
            let rows = BitmapFont.bitmap(ch)
            for (ry, bits) in rows.enumerated() {
                for rx in 0..<BitmapFont.width where bits & (1 << (BitmapFont.width - 1 - rx)) != 0 {
                    fill(x + ry * scale, cy - (rx + 1) * scale, x + (ry + 1) * scale, cy - rx * scale, color)
                }
            }
            cy -= (BitmapFont.width + 1) * scale
        }
    }

    mutating func centeredText(_ s: String, cx: Int, y: Int, scale: Int = 1, color: Color = .black) {
        text(s, x: cx - BitmapFont.textWidth(s, scale: scale) / 2, y: y, scale: scale, color: color)
    }
}
