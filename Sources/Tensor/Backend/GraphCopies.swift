#if canImport(Glibc)
import Glibc
#endif

/// How the compiled graph lays out its activations.
enum ActivationLayout {
    /// nChw16c: [N][C/16][H][W][16].
    case blocked16
    /// nhwc: [N][H][W][C].
    case channelsLast
}

/// The two host-side moves of the compiled graph: the skip connection into the first channels of
/// a concatenation, and the transposed convolution's 4·Co channels (channel g·Co + o for window
/// position g = 2a + b) into their 2×2 windows of the rest.
enum GraphCopies {
    static func copySkip(_ src: UnsafeMutableRawPointer, into dst: UnsafeMutableRawPointer, layout: ActivationLayout, n: Int,
                         skipChannels cs: Int, totalChannels ct: Int, pixels: Int, elementSize es: Int) {
        switch layout {
        case .blocked16:
            // Per image the skip's channel blocks are one contiguous run.
            let chunk = cs * pixels * es
            parallelFor(n, minChunk: 1) { r in
                for i in r { memcpy(dst + i * ct * pixels * es, src + i * chunk, chunk) }
            }
        case .channelsLast:
            parallelFor(n * pixels, minChunk: 4096) { r in
                for p in r { memcpy(dst + p * ct * es, src + p * cs * es, cs * es) }
            }
        }
    }

    /// z [N, 4·Co, H, W] → dst[n, offset + o, 2y + a, 2x + b].
    static func depthToSpace(_ z: UnsafeMutableRawPointer, into dst: UnsafeMutableRawPointer, layout: ActivationLayout, n: Int,
                             co: Int, h: Int, w: Int, channelOffset: Int, totalChannels ct: Int, elementSize es: Int) {
        switch layout {
        case .blocked16:
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
        case .channelsLast:
            // Rows (n, y): each input pixel's 4 groups of Co channels go to its 4 output pixels.
            parallelFor(n * h, minChunk: 8) { r in
                for row in r {
                    let y = row % h, i = row / h
                    for x in 0..<w {
                        let from = z + (((i * h + y) * w + x) * 4 * co) * es
                        for g in 0..<4 {
                            let (a, b) = (g / 2, g % 2)
                            memcpy(dst + ((((i * 2 * h + 2 * y + a) * 2 * w + 2 * x + b) * ct) + channelOffset) * es, from + g * co * es, co * es)
                        }
                    }
                }
            }
        }
    }
}
