import Testing
import Support
@testable import Tensor

/// The compiled graphs' host moves in both blocked layouts (8 channels a block with AVX2, 16 with
/// AVX-512), whatever this CPU runs: each against the same move done on NCHW by index.
struct GraphCopiesTests {
    /// NCHW [n, c, h, w] → nChw{b}c by index (`back`: nChw{b}c → NCHW).
    static func blocked(_ x: [Float], n: Int, c: Int, h: Int, w: Int, b: Int, back: Bool = false) -> [Float] {
        var out = [Float](repeating: .nan, count: x.count)
        for i in 0..<n { for ch in 0..<c { for y in 0..<h { for xx in 0..<w {
            let (plain, block) = (((i * c + ch) * h + y) * w + xx, (((i * (c / b) + ch / b) * h + y) * w + xx) * b + ch % b)
            if back { out[plain] = x[block] } else { out[block] = x[plain] }
        } } } }
        return out
    }

    static func plain(_ x: [Float], n: Int, c: Int, h: Int, w: Int, b: Int) -> [Float] { blocked(x, n: n, c: c, h: h, w: w, b: b, back: true) }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededRNG(seed: seed)
        return (0..<count).map { _ in Float(rng.uniform(-1, 1)) }
    }

    @Test(arguments: [8, 16])
    func dropoutDrawsTheNCHWMask(block b: Int) {
        let (n, c, h, w) = (2, 32, 5, 7)
        let x = Self.random(n * c * h * w, seed: 1)
        let expected = Tensor.dropout(Tensor(shape: [n, c, h, w], values: x), p: 0.4, key: 99).0.scalars
        var buf = Self.blocked(x, n: n, c: c, h: h, w: w, b: b)
        var mask = [UInt8](repeating: 7, count: x.count)
        buf.withUnsafeMutableBytes { p in
            mask.withUnsafeMutableBufferPointer { TrainingCopies.dropout(p.baseAddress!, mask: $0.baseAddress!, n: n, c: c, h: h, w: w, block: b, p: 0.4, key: 99) }
        }
        #expect(Self.plain(buf, n: n, c: c, h: h, w: w, b: b) == expected)
        #expect(mask.allSatisfy { $0 <= 1 } && mask.contains(0) && mask.contains(1))
    }

    /// The skip's channels first, then the transposed convolution's 4·Co channels into their 2×2
    /// windows (dst[n, cs + o, 2y + a, 2x + b] = z[n, (2a + b)·Co + o, y, x]), and both back.
    @Test(arguments: [8, 16])
    func concatenationMovesMatchNCHW(block b: Int) {
        let (n, cs, co, h, w) = (2, 16, 32, 3, 5), ct = cs + co
        let z = Self.random(n * 4 * co * h * w, seed: 2), skip = Self.random(n * cs * 4 * h * w, seed: 3)
        var expected = [Float](repeating: 0, count: n * ct * 4 * h * w)
        for i in 0..<n {
            for ch in 0..<cs { for p in 0..<(4 * h * w) { expected[(i * ct + ch) * 4 * h * w + p] = skip[(i * cs + ch) * 4 * h * w + p] } }
            for o in 0..<co { for y in 0..<h { for x in 0..<w { for g in 0..<4 {
                expected[((i * ct + cs + o) * 2 * h + 2 * y + g / 2) * 2 * w + 2 * x + g % 2] = z[((i * 4 * co + g * co + o) * h + y) * w + x]
            } } } }
        }
        var zb = Self.blocked(z, n: n, c: 4 * co, h: h, w: w, b: b), sb = Self.blocked(skip, n: n, c: cs, h: 2 * h, w: 2 * w, b: b)
        var dst = [Float](repeating: .nan, count: expected.count)
        let layout = ActivationLayout.blocked(b)
        zb.withUnsafeMutableBytes { zp in sb.withUnsafeMutableBytes { sp in dst.withUnsafeMutableBytes { dp in
            GraphCopies.copySkip(sp.baseAddress!, into: dp.baseAddress!, layout: layout, n: n, skipChannels: cs, totalChannels: ct,
                                 pixels: 4 * h * w, elementSize: 4)
            GraphCopies.depthToSpace(zp.baseAddress!, into: dp.baseAddress!, layout: layout, n: n, co: co, h: h, w: w,
                                     channelOffset: cs, totalChannels: ct, elementSize: 4)
        } } }
        #expect(Self.plain(dst, n: n, c: ct, h: 2 * h, w: 2 * w, b: b) == expected)
        // Backwards (the concatenation's gradient split into the skip's and z's).
        var zBack = [Float](repeating: .nan, count: z.count), sBack = [Float](repeating: .nan, count: skip.count)
        zBack.withUnsafeMutableBytes { zp in sBack.withUnsafeMutableBytes { sp in dst.withUnsafeMutableBytes { dp in
            GraphCopies.copySkip(sp.baseAddress!, into: dp.baseAddress!, layout: layout, n: n, skipChannels: cs, totalChannels: ct,
                                 pixels: 4 * h * w, elementSize: 4, reverse: true)
            GraphCopies.depthToSpace(zp.baseAddress!, into: dp.baseAddress!, layout: layout, n: n, co: co, h: h, w: w,
                                     channelOffset: cs, totalChannels: ct, elementSize: 4, reverse: true)
        } } }
        #expect(Self.plain(zBack, n: n, c: 4 * co, h: h, w: w, b: b) == z)
        #expect(Self.plain(sBack, n: n, c: cs, h: 2 * h, w: 2 * w, b: b) == skip)
    }
}
