import Testing
@testable import Segmentation

@Suite struct LiverCropTests {
    static func mask(_ size: Int, _ xs: Range<Int>, _ ys: Range<Int>) -> [Float] {
        var m = [Float](repeating: 0, count: size * size)
        for y in ys { for x in xs { m[y * size + x] = 1 } }
        return m
    }

    @Test func squareAroundTheMaskWithMarginInsideTheSlice() {
        let m = Self.mask(64, 10..<30, 20..<30)   // 20 × 10 box
        let c = m.withUnsafeBufferPointer { LiverCrop(mask: $0, size: 64)! }
        #expect(c.side == 26)                      // 20 · 1.3 = 26
        #expect(c.x0 == 7 && c.y0 == 12)           // centred on x 10..<30, y 20..<30
        let edge = Self.mask(64, 0..<8, 56..<64)
        let e = edge.withUnsafeBufferPointer { LiverCrop(mask: $0, size: 64)! }
        #expect(e.side == 16 && e.x0 == 0 && e.y0 == 48)   // minimum side, shifted inside
        let empty = [Float](repeating: 0, count: 64 * 64)
        #expect(empty.withUnsafeBufferPointer { LiverCrop(mask: $0, size: 64) } == nil)
    }

    /// Zooming in and back out returns the original inside the square (a smooth image is
    /// reproduced to interpolation accuracy) and 0 outside; a nearest crop of the mask keeps
    /// the mask's extent.
    @Test func cropThenUncropRestoresTheImageInsideTheSquare() {
        let s = 64
        let m = Self.mask(s, 16..<40, 20..<36)
        let c = m.withUnsafeBufferPointer { LiverCrop(mask: $0, size: s)! }
        let img = (0..<(s * s)).map { i in Float(i % s) * 0.5 + Float(i / s) * 0.25 }   // linear ramp
        var zoomed = [Float](repeating: 0, count: s * s), back = zoomed
        img.withUnsafeBufferPointer { src in zoomed.withUnsafeMutableBufferPointer { c.crop(src, into: $0) } }
        zoomed.withUnsafeBufferPointer { src in back.withUnsafeMutableBufferPointer { c.uncrop(src, into: $0) } }
        for y in 0..<s {
            for x in 0..<s {
                let inside = x >= c.x0 && x < c.x0 + c.side && y >= c.y0 && y < c.y0 + c.side
                let interior = x > c.x0 && x < c.x0 + c.side - 1 && y > c.y0 && y < c.y0 + c.side - 1
                if !inside { #expect(back[y * s + x] == 0) }
                if interior { #expect(abs(back[y * s + x] - img[y * s + x]) < 1e-3, "(\(x), \(y))") }
            }
        }
        var zm = [Float](repeating: 0, count: s * s)
        m.withUnsafeBufferPointer { src in zm.withUnsafeMutableBufferPointer { c.crop(src, into: $0, nearest: true) } }
        let area = zm.filter { $0 > 0 }.count
        let expected = Double(24 * 16) * pow(Double(s) / Double(c.side), 2)
        #expect(abs(Double(area) - expected) / expected < 0.1)
    }
}

import Foundation

/// The crop found on the model-size slice, cut from an image of the same field of view at
/// another resolution (the scan): a linear ramp over the field of view must give the same
/// crop from the scan as from the model-size slice, and come back onto the scan's grid.
@Suite struct LiverCropFromScanTests {
    static func ramp(_ w: Int, _ h: Int) -> [Float] {
        (0..<(w * h)).map { i in
            let u = (Double(i % w) + 0.5) / Double(w), v = (Double(i / w) + 0.5) / Double(h)
            return Float(300 * u - 120 * v + 40)
        }
    }

    @Test func cropFromTheScanMatchesCropFromTheModelSliceAndUncropsOntoTheScan() {
        let s = 32, (w, h) = (96, 64)             // anisotropic: 3× in x, 2× in y
        let m = LiverCropTests.mask(s, 8..<20, 10..<18)
        let c = m.withUnsafeBufferPointer { LiverCrop(mask: $0, size: s)! }
        let model = Self.ramp(s, s), scan = Self.ramp(w, h)
        var fromModel = [Float](repeating: 0, count: s * s), fromScan = fromModel
        model.withUnsafeBufferPointer { src in fromModel.withUnsafeMutableBufferPointer { c.crop(src, into: $0) } }
        scan.withUnsafeBufferPointer { src in fromScan.withUnsafeMutableBufferPointer { c.crop(src, width: w, height: h, into: $0) } }
        // Bilinear sampling reproduces a linear function exactly wherever it does not reach past the image.
        for y in 1..<(s - 1) { for x in 1..<(s - 1) { #expect(abs(fromScan[y * s + x] - fromModel[y * s + x]) < 1e-3, "(\(x), \(y))") } }
        var back = [Float](repeating: -1, count: w * h)
        fromScan.withUnsafeBufferPointer { src in back.withUnsafeMutableBufferPointer { c.uncrop(src, into: $0, width: w, height: h) } }
        // Square in scan pixels: model [x0, x0 + side) × 3 in x, × 2 in y.
        for y in 0..<h {
            for x in 0..<w {
                let inside = x >= 3 * c.x0 && x < 3 * (c.x0 + c.side) && y >= 2 * c.y0 && y < 2 * (c.y0 + c.side)
                let interior = x >= 3 * c.x0 + 2 && x < 3 * (c.x0 + c.side) - 2 && y >= 2 * c.y0 + 2 && y < 2 * (c.y0 + c.side) - 2
                if !inside { #expect(back[y * w + x] == 0) }
                if interior { #expect(abs(back[y * w + x] - scan[y * w + x]) < 1e-2, "(\(x), \(y))") }
            }
        }
    }
}
