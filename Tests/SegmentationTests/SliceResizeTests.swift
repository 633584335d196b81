import Testing
@testable import Segmentation

@Suite struct SliceResizeTests {
    /// Halving a 16² map whose liver spans columns 3..<13 (boundaries mid-block on both
    /// sides): the structure stays centred (columns 1..<7 of 8), where nearest neighbour
    /// loses the right half-block (1..<6) and shifts the boundary.
    @Test func halvingKeepsTheStructureCentred() {
        var src = [UInt8](repeating: 0, count: 16 * 16)
        for y in 4..<12 { for x in 3..<13 { src[y * 16 + x] = 1 } }
        for y in 6..<8 { for x in 6..<8 { src[y * 16 + x] = 2 } }      // one whole 2×2 block of tumor
        src[9 * 16 + 10] = 2                                            // a quarter block: too small to keep
        var out = [UInt8](repeating: 9, count: 64), near = out
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { SliceResize.labels(s, width: 16, height: 16, to: $0, width: 8, height: 8) }
            near.withUnsafeMutableBufferPointer { SliceResize.nearest(s, width: 16, height: 16, to: $0, width: 8, height: 8) }
        }
        var expected = [UInt8](repeating: 0, count: 64)
        for y in 2..<6 { for x in 1..<7 { expected[y * 8 + x] = 1 } }
        expected[3 * 8 + 3] = 2
        #expect(out == expected)
        #expect((0..<8).filter { near[3 * 8 + $0] >= 1 } == Array(1..<6))
    }

    @Test func sameSizeIsIdentity() {
        let src: [UInt8] = [0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 1]
        var out = [UInt8](repeating: 9, count: 12)
        src.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { SliceResize.labels(s, width: 4, height: 3, to: $0, width: 4, height: 3) } }
        #expect(out == src)
    }
}
