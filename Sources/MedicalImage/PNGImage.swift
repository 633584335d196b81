import CPNG
import Foundation
import Support

/// An 8-bit RGB raster for figures (overlays, montages, plots), encoded by libpng.
public struct RGBImage: Sendable {
    public let width: Int
    public let height: Int
    /// Row-major RGB triplets, top row first.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        precondition(width > 0 && height > 0, "RGBImage needs a positive size, got \(width)×\(height)")
        self.width = width
        self.height = height
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { p[3 * i] = fill.0; p[3 * i + 1] = fill.1; p[3 * i + 2] = fill.2 }
        pixels = p
    }

    @inline(__always) public mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = 3 * (y * width + x)
        pixels[o] = c.0; pixels[o + 1] = c.1; pixels[o + 2] = c.2
    }

    @inline(__always) public func get(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let o = 3 * (y * width + x)
        return (pixels[o], pixels[o + 1], pixels[o + 2])
    }

    /// PNG bytes (libpng's simplified write API).
    public func pngData() throws -> Data {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_RGB)
        var size: png_alloc_size_t = 0
        let stride = Int32(width * 3)
        // First call measures, second call writes.
        let ok1 = pixels.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil) }
        guard ok1 != 0, size > 0 else { throw PNGError(message: Self.message(image)) }
        var out = Data(count: Int(size))
        let ok2 = out.withUnsafeMutableBytes { dst in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, dst.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        guard ok2 != 0 else { throw PNGError(message: Self.message(image)) }
        out.count = Int(size)
        return out
    }

    /// Writes the PNG atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(pngData(), to: url)
    }

    private static func message(_ image: png_image) -> String {
        var m = image.message
        return withUnsafeBytes(of: &m) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

public struct PNGError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "PNG encoding failed: \(message)" }
}
