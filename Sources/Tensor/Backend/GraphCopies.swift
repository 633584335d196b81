import CDNNL
#if canImport(Glibc)
import Glibc
#endif
import CDropout

/// How the compiled graph lays out its activations.
enum ActivationLayout: Equatable {
    /// nChw8c or nChw16c: [N][C/b][H][W][b] for a block of b = 8 or 16 channels
    /// (`DNNLContext.blockWidth`, the CPU's).
    case blocked(Int)
    /// nhwc: [N][H][W][C].
    case channelsLast

    /// The CPU's blocked layout (`DNNLContext.blockWidth`); nil where oneDNN runs neither block
    /// with jit kernels.
    static var native: ActivationLayout? { DNNLContext.blockWidth.map(ActivationLayout.blocked) }

    /// Whether `channels` fill whole blocks (any count does in nhwc): the host moves copy whole blocks.
    func fills(_ channels: Int) -> Bool {
        if case .blocked(let b) = self { return channels % b == 0 }
        return true
    }

    var tag: dnnl_format_tag_t {
        switch self {
        case .blocked(16): return dnnl_nChw16c
        case .blocked(8): return dnnl_nChw8c
        case .blocked(let b): preconditionFailure("ActivationLayout: no oneDNN tag for blocks of \(b) channels")
        case .channelsLast: return dnnl_nhwc
        }
    }
}

/// The two host-side moves of the compiled graph: the skip connection into the first channels of
/// a concatenation, and the transposed convolution's 4·Co channels (channel g·Co + o for window
/// position g = 2a + b) into their 2×2 windows of the rest.
/// Training runs each move backwards too (`reverse`): the concatenation's gradient split back
/// into the skip's and the transposed convolution's 4·Co channels.
enum GraphCopies {
    static func copySkip(_ src: UnsafeMutableRawPointer, into dst: UnsafeMutableRawPointer, layout: ActivationLayout, n: Int,
                         skipChannels cs: Int, totalChannels ct: Int, pixels: Int, elementSize es: Int, reverse: Bool = false) {
        switch layout {
        case .blocked:
            // Per image the skip's channel blocks are one contiguous run.
            let chunk = cs * pixels * es
            parallelFor(n, minChunk: 1) { r in
                for i in r {
                    if reverse { memcpy(src + i * chunk, dst + i * ct * pixels * es, chunk) } else { memcpy(dst + i * ct * pixels * es, src + i * chunk, chunk) }
                }
            }
        case .channelsLast:
            parallelFor(n * pixels, minChunk: 4096) { r in
                for p in r { memcpy(dst + p * ct * es, src + p * cs * es, cs * es) }
            }
        }
    }

    /// z [N, 4·Co, H, W] → dst[n, offset + o, 2y + a, 2x + b] (`reverse`: dst → z, fp32 blocked only).
    static func depthToSpace(_ z: UnsafeMutableRawPointer, into dst: UnsafeMutableRawPointer, layout: ActivationLayout, n: Int,
                             co: Int, h: Int, w: Int, channelOffset: Int, totalChannels ct: Int, elementSize es: Int, reverse: Bool = false) {
        precondition(!reverse || (layout != .channelsLast && es == 4), "GraphCopies.depthToSpace: reverse only for fp32 blocked layouts")
        switch layout {
        case .blocked(let bw):
            let ob = co / bw, v = bw * es
            let (zb, db) = (4 * ob, ct / bw)
            // Rows (n, block, y) are independent; each moves 4 rows of w vectors of a block's channels.
            parallelFor(n * ob * h, minChunk: 8) { r in
                for row in r {
                    let y = row % h, o = (row / h) % ob, i = row / (h * ob)
                    for g in 0..<4 {
                        let (a, b) = (g / 2, g % 2)
                        let from = z + (((i * zb + g * ob + o) * h + y) * w) * v
                        let to = dst + (((i * db + channelOffset / bw + o) * 2 * h + 2 * y + a) * 2 * w + b) * v
                        // A block's channels of one pixel are v bytes (64: 16 fp32; 32: 8 fp32 or 16 bf16; 16: 8 bf16).
                        switch v {
                        case 64: spread(SIMD16<Float>.self, from, to, w: w, reverse: reverse)
                        case 32: spread(SIMD8<Float>.self, from, to, w: w, reverse: reverse)
                        default: spread(SIMD4<Float>.self, from, to, w: w, reverse: reverse)
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

extension GraphCopies {
    /// to[2x] = from[x] for x < w, in vectors of `V` (a block of channels of one pixel, moved as
    /// bits); `reverse`: from[x] = to[2x].
    @inline(__always)
    static func spread<V: SIMD>(_: V.Type, _ from: UnsafeMutableRawPointer, _ to: UnsafeMutableRawPointer, w: Int, reverse: Bool) {
        let v = MemoryLayout<V>.size
        if reverse {
            for x in 0..<w { from.storeBytes(of: to.loadUnaligned(fromByteOffset: 2 * x * v, as: V.self), toByteOffset: x * v, as: V.self) }
        } else {
            for x in 0..<w { to.storeBytes(of: from.loadUnaligned(fromByteOffset: x * v, as: V.self), toByteOffset: 2 * x * v, as: V.self) }
        }
    }

    /// A transposed convolution's weight [Ci, Co, 2, 2] as the 1×1 convolution's [4·Co, Ci, 1, 1]:
    /// row g·Co + o holds w[·, o, a, b] with g = 2a + b.
    static func transposedAsGemm(_ w: Tensor) -> Tensor {
        let (ci, co) = (w.shape[0], w.shape[1])
        let out = Tensor(uninitializedShape: [4 * co, ci, 1, 1])
        let src = w.readPointer, dst = out.writePointer
        for c in 0..<ci { for o in 0..<co { for g in 0..<4 { dst[(g * co + o) * ci + c] = src[(c * co + o) * 4 + g] } } }
        return out
    }

    /// The inverse of `transposedAsGemm` (a weight gradient back to [Ci, Co, 2, 2]), and the
    /// 1×1 convolution's bias gradient [4·Co] summed over the window positions to [Co].
    static func gemmAsTransposed(_ w: UnsafePointer<Float>, bias: UnsafePointer<Float>, ci: Int, co: Int) -> (weight: Tensor, bias: Tensor) {
        let out = Tensor(uninitializedShape: [ci, co, 2, 2]), b = Tensor(uninitializedShape: [co])
        let dst = out.writePointer, bp = b.writePointer
        for c in 0..<ci { for o in 0..<co { for g in 0..<4 { dst[(c * co + o) * 4 + g] = w[(g * co + o) * ci + c] } } }
        for o in 0..<co { bp[o] = ((bias[o] + bias[co + o]) + bias[2 * co + o]) + bias[3 * co + o] }
        return (out, b)
    }
}

/// Host-side passes of the training graph over fp32 buffers.
enum TrainingCopies {
    /// dst[i] += src[i].
    static func add(_ src: UnsafeMutableRawPointer, into dst: UnsafeMutableRawPointer, count: Int) {
        let s = src.assumingMemoryBound(to: Float.self), d = dst.assumingMemoryBound(to: Float.self)
        parallelFor(count, minChunk: 1 << 15) { r in
            for i in r { d[i] += s[i] }
        }
    }

    /// Inverted dropout in place on an nChw8c or nChw16c (`block` 8 or 16) buffer of logical
    /// shape [n, c, h, w], with the same keep/drop draw per element as `Tensor.dropout` on the
    /// NCHW tensor (its hash of the NCHW index), so a network trains identically in either
    /// layout. `mask` gets 1 where kept.
    static func dropout(_ x: UnsafeMutableRawPointer, mask: UnsafeMutablePointer<UInt8>, n: Int, c: Int, h: Int, w: Int, block bw: Int,
                        p: Float, key: UInt64) {
        let v = x.assumingMemoryBound(to: Float.self)
        let keep = 1 / (1 - p)
        let cut = UInt64((Double(p) * Double(1 << 24)).rounded())
        // Rows (n, channel block, y): bw·w elements, contiguous. Within a row, one channel at a
        // time: its w draws are consecutive NCHW indices, drawn in one vectorized call.
        parallelFor(n * (c / bw) * h, minChunk: 8) { r in
            let keptBits = UnsafeMutablePointer<UInt8>.allocate(capacity: w)
            defer { keptBits.deallocate() }
            for row in r {
                let y = row % h, blk = row / h, cb = blk % (c / bw), i = blk / (c / bw)
                let rowBase = row * w * bw
                for k in 0..<bw {
                    let first = UInt64(((i * c + cb * bw + k) * h + y) * w)
                    // The draws in a contiguous loop (it vectorizes), then applied at stride bw.
                    liverseg_dropout_keep(key, first, Int64(w), cut, keptBits)
                    for xx in 0..<w {
                        let at = rowBase + xx * bw + k
                        mask[at] = keptBits[xx]
                        v[at] *= Float(keptBits[xx]) * keep
                    }
                }
            }
        }
    }

    /// The dropout's backward pass in place: g ·= 1/(1 − p) where kept, 0 where dropped.
    static func dropoutBackward(_ g: UnsafeMutableRawPointer, mask: UnsafeMutablePointer<UInt8>, count: Int, p: Float) {
        let v = g.assumingMemoryBound(to: Float.self)
        let keep = 1 / (1 - p)
        parallelFor(count, minChunk: 1 << 15) { r in
            for i in r { v[i] *= Float(mask[i]) * keep }
        }
    }
}
