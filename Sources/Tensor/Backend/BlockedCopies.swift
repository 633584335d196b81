#if canImport(Glibc)
import Glibc
#endif

/// The two host-side moves of the blocked plan, on nChw16c buffers ([N][C/16][H][W][16]):
/// the skip connection into the first channels of a concatenation, and the transposed
/// convolution's 4·Co channels into their 2×2 windows of the rest.
enum BlockedCopies {
    static func copySkip(_ src: UnsafeMutableRawPointer, into dst: UnsafeMutableRawPointer, n: Int, skipChannels cs: Int,
                         totalChannels ct: Int, pixels: Int, elementSize es: Int) {
        let chunk = cs * pixels * es
        parallelFor(n, minChunk: 1) { r in
            for i in r { memcpy(dst + i * ct * pixels * es, src + i * chunk, chunk) }
        }
    }

    /// z [N, 4·Co, H, W] (channel g·Co + o, g = 2a + b) → dst[n, offset + o, 2y + a, 2x + b].
    static func depthToSpace(_ z: UnsafeMutableRawPointer, into dst: UnsafeMutableRawPointer, n: Int, co: Int, h: Int, w: Int,
                             channelOffset: Int, totalChannels ct: Int, elementSize es: Int) {
        let ob = co / 16, v = 16 * es
        let (zb, db) = (4 * ob, ct / 16)
        // Rows (n, block, y) are independent; each moves 4 rows of w 16-channel vectors.
        parallelFor(n * ob * h, minChunk: 8) { r in
            for row in r {
                let y = row % h, o = (row / h) % ob, i = row / (h * ob)
                for g in 0..<4 {
                    let (a, b) = (g / 2, g % 2)
                    let from = z + (((i * zb + g * ob + o) * h + y) * w) * v
                    let to = dst + (((i * db + channelOffset / 16 + o) * 2 * h + 2 * y + a) * 2 * w + b) * v
                    if es == 4 {
                        for x in 0..<w { to.storeBytes(of: from.loadUnaligned(fromByteOffset: x * v, as: SIMD16<Float>.self), toByteOffset: 2 * x * v, as: SIMD16<Float>.self) }
                    } else {
                        for x in 0..<w { to.storeBytes(of: from.loadUnaligned(fromByteOffset: x * v, as: SIMD16<UInt16>.self), toByteOffset: 2 * x * v, as: SIMD16<UInt16>.self) }
                    }
                }
            }
        }
    }
}
