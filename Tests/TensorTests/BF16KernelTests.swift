import Testing
import Support
@_spi(KernelTuning) @testable import Tensor

// Nested in KernelTests so that they run serialized with it: its cache-eviction test counts the
// cached primitives, which tests running alongside would add to.
extension KernelTests {
/// bf16 inference convolutions against fp32: bf16 keeps 8 significant bits, so inputs and weights
/// are rounded by up to 2⁻⁹ relatively and the output by as much again; with fp32 accumulation the
/// error stays around 1e-2 of the output's magnitude. Where the CPU has no native bf16 the kernels
/// run fp32 and must give the fp32 result exactly.
@Suite
struct BF16KernelTests {
    static func random(_ shape: [Int], _ rng: inout SeededRNG) -> Tensor {
        Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform(-1, 1)) })
    }

    /// max |a − b| / max |b|.
    static func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        let scale = max(Float.leastNormalMagnitude, b.scalars.map(abs).max() ?? 0)
        var worst: Float = 0
        for i in 0..<a.count { worst = max(worst, abs(a[flat: i] - b[flat: i])) }
        return worst / scale
    }

    // (N, Ci, Co, H, W, K, padding): blocked 3×3 shapes (bf16) and shapes that stay fp32 (1×1, Co < 16).
    static let cases: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (2, 32, 32, 16, 16, 3, 1), (2, 1, 16, 12, 10, 3, 1), (1, 64, 32, 8, 8, 3, 1),
        (2, 48, 16, 7, 9, 3, 1), (2, 32, 2, 8, 8, 1, 0), (2, 8, 4, 6, 6, 3, 1),
    ]

    @Test func bf16ConvolutionMatchesFP32() {
        var rng = SeededRNG(seed: 21)
        for (n, ci, co, h, w, k, p) in Self.cases {
            let x = Self.random([n, ci, h, w], &rng), wt = Self.random([co, ci, k, k], &rng), b = Self.random([co], &rng)
            for relu in [false, true] {
                let ref = Kernels.conv2d(x, wt, b, padding: p, fuseReLU: relu)
                let y = Kernels.conv2d(x, wt, b, padding: p, fuseReLU: relu, precision: .bf16)
                #expect(y.shape == ref.shape)
                let err = Self.relativeError(y, ref)
                let runsBF16 = Kernels.bf16Supported && co >= 16 && k > 1
                if runsBF16 {
                    #expect(err <= 1e-2, "bf16 conv x \(x.shape) w \(wt.shape) relu \(relu): relative error \(err)")
                    #expect(err > 0, "bf16 conv x \(x.shape) w \(wt.shape): identical to fp32, so bf16 did not run")
                } else {
                    #expect(err == 0, "conv x \(x.shape) w \(wt.shape) that stays fp32 differs by \(err)")
                }
            }
        }
    }

    @Test func bf16PrimitivesAreCachedApartFromFP32() {
        var rng = SeededRNG(seed: 22)
        let x = Self.random([1, 32, 5, 11], &rng), wt = Self.random([32, 32, 3, 3], &rng)
        _ = Kernels.conv2d(x, wt, nil, padding: 1)
        _ = Kernels.conv2d(x, wt, nil, padding: 1, precision: .bf16)
        let fp32 = KernelTuning.cachedPrimitives(matching: "conv2d x [1,32,5,11] w [32,32,3,3] padding 1")
        let bf16 = KernelTuning.cachedPrimitives(matching: "conv2d x [1,32,5,11] w [32,32,3,3] padding 1 (bf16)")
        #expect(fp32.count == (Kernels.bf16Supported ? 2 : 1))
        #expect(bf16.count == (Kernels.bf16Supported ? 1 : 0))
        if Kernels.bf16Supported {
            let impl = KernelTuning.implementations.filter { $0.contains("x [1,32,5,11] w [32,32,3,3] padding 1 (bf16)") }
            #expect(impl.allSatisfy { $0.contains("bf16") && !$0.contains("ref") }, "\(impl)")
        }
    }

    @Test func inferencePrecisionOverrideIsTaskLocal() {
        #expect(Kernels.inferencePrecision == .fp32)
        Kernels.$inferencePrecisionOverride.withValue(.bf16) {
            #expect(Kernels.inferencePrecision == .bf16)
        }
        #expect(Kernels.inferencePrecision == .fp32)
    }
}

/// `conv2dPair` (intermediate kept in oneDNN's blocked layout) against two `conv2d` calls.
@Suite
struct ConvPairTests {
    @Test(arguments: [KernelPrecision.fp32, .bf16])
    func pairMatchesTwoConvolutions(precision: KernelPrecision) {
        var rng = SeededRNG(seed: 31)
        // (N, Ci, Cmid=Co, H, W): blocked pairs, the first U-Net block (Ci = 1), and one that stays NCHW (Co < 16).
        for (n, ci, co, h, w) in [(2, 32, 32, 12, 10), (2, 1, 16, 16, 16), (1, 64, 32, 8, 8), (2, 8, 8, 6, 6)] {
            let x = BF16KernelTests.random([n, ci, h, w], &rng)
            let w1 = BF16KernelTests.random([co, ci, 3, 3], &rng), b1 = BF16KernelTests.random([co], &rng)
            let w2 = BF16KernelTests.random([co, co, 3, 3], &rng), b2 = BF16KernelTests.random([co], &rng)
            for (relu, slope) in [(true, Float(0)), (false, 0), (true, 0.1)] {
                // The leaky case against the plain loops, so that the slope's path into oneDNN's post-op is checked independently.
                let ref = slope > 0
                    ? ReferenceKernels.conv2d(ReferenceKernels.conv2d(x, w1, b1, padding: 1, fuseReLU: true, reluSlope: slope),
                                              w2, b2, padding: 1, fuseReLU: true, reluSlope: slope)
                    : Kernels.conv2d(Kernels.conv2d(x, w1, b1, padding: 1, fuseReLU: relu), w2, b2, padding: 1, fuseReLU: relu)
                let y = Kernels.conv2dPair(x, w1, b1, w2, b2, padding: 1, fuseReLU: relu, reluSlope: slope, precision: precision)
                #expect(y.shape == ref.shape)
                let err = BF16KernelTests.relativeError(y, ref)
                let tol: Float = precision == .bf16 && Kernels.bf16Supported ? 2e-2 : 1e-5
                #expect(err <= tol, "pair x \(x.shape) co \(co) relu \(relu) slope \(slope) \(precision): relative error \(err)")
            }
        }
        if KernelTuning.convLayout == .auto {
            #expect(!KernelTuning.cachedPrimitives(matching: "(pair, blocked input)").isEmpty)
        }
    }
}
}
