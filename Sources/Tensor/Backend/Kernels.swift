#if canImport(Glibc)
import Glibc
#endif

/// The compute kernels of the engine: convolution, transposed convolution and max pooling on NCHW
/// tensors, forward and backward, through oneDNN primitives cached per shape (created on a shape's
/// first call, reused after). `ReferenceKernels` holds plain loops with the same signatures for tests.
/// Misuse (ranks, channel counts, shapes that do not fit) stops with a message naming op and shapes.
public enum Kernels {
    /// 2-D convolution, stride 1, zero padding `padding`, square kernel K.
    /// x [N,Ci,H,W], w [Co,Ci,K,K] (PyTorch layout), b [Co] or nil → y [N,Co,H+2p-K+1,W+2p-K+1].
    /// `fuseReLU` applies ReLU to the output (a oneDNN post-op), leaky with slope `reluSlope` > 0. `precision` .bf16 (for inference
    /// only: there is no bf16 backward) runs 3×3 convolutions in bfloat16 where the CPU has native
    /// bf16, rounding x, w and y to bf16 (relative error ~2⁻⁸); tensors stay fp32 in and out.
    public static func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, padding: Int, fuseReLU: Bool = false,
                              reluSlope: Float = 0, precision: KernelPrecision = .fp32) -> Tensor {
        let ys = KernelShapes.conv2d(x: x.shape, w: w.shape, b: b?.shape, padding: padding)
        let y = Tensor(uninitializedShape: ys)
        DNNLConvolution.forward(conv(x.shape, w.shape, padding), x: x.readPointer, w: w.readPointer, b: b?.readPointer,
                                y: y.writePointer, fuseReLU: fuseReLU, reluSlope: reluSlope, precision: precision)
        return y
    }

    /// Two 3×3-style convolutions in a row, as a U-Net block runs them at inference:
    /// y = conv2d(conv2d(x, w1, b1), w2, b2), each with the same padding and ReLU choice. Where both
    /// run in oneDNN's blocked layout the intermediate stays in that layout (one reorder in, one
    /// out, instead of four); elsewhere it is two `conv2d` calls. Equal to those within rounding.
    public static func conv2dPair(_ x: Tensor, _ w1: Tensor, _ b1: Tensor, _ w2: Tensor, _ b2: Tensor, padding: Int,
                                  fuseReLU: Bool = true, reluSlope: Float = 0, precision: KernelPrecision = .fp32) -> Tensor {
        let ms = KernelShapes.conv2d(x: x.shape, w: w1.shape, b: b1.shape, padding: padding)
        let ys = KernelShapes.conv2d(x: ms, w: w2.shape, b: b2.shape, padding: padding)
        let y = Tensor(uninitializedShape: ys)
        if DNNLConvolution.forwardPair(conv(x.shape, w1.shape, padding), conv(ms, w2.shape, padding), x: x.readPointer,
                                       w1: w1.readPointer, b1: b1.readPointer, w2: w2.readPointer, b2: b2.readPointer,
                                       y: y.writePointer, relu: fuseReLU, reluSlope: reluSlope, precision: precision) {
            return y
        }
        let m = conv2d(x, w1, b1, padding: padding, fuseReLU: fuseReLU, reluSlope: reluSlope, precision: precision)
        return conv2d(m, w2, b2, padding: padding, fuseReLU: fuseReLU, reluSlope: reluSlope, precision: precision)
    }

    /// Precision for convolutions run without gradient recording (inference): `Ops.conv2d` passes
    /// it to `conv2d` when no gradient will flow. Default fp32. Set it with `setInferencePrecision`.
    public static var inferencePrecision: KernelPrecision {
        inferencePrecisionOverride ?? DNNLContext.shared.locked { DNNLContext.shared.inferencePrecision }
    }

    /// Overrides `inferencePrecision` for the current task (tests, benchmarks comparing both)
    /// without changing it for other callers. Not checked against the CPU: where bf16 is not native
    /// the convolutions run fp32 anyway.
    @TaskLocal public static var inferencePrecisionOverride: KernelPrecision?

    /// Sets `inferencePrecision` and returns the one in effect: .bf16 needs native bf16 in oneDNN
    /// (AVX512-BF16 or AMX); elsewhere it stays fp32 and a one-line notice goes to stderr.
    @discardableResult
    public static func setInferencePrecision(_ p: KernelPrecision) -> KernelPrecision {
        var effective = p
        if p == .bf16 && !bf16Supported {
            effective = .fp32
            fputs("note: this CPU has no native bf16 (AVX512-BF16 or AMX) for oneDNN; inference stays fp32\n", stderr)
        }
        DNNLContext.shared.locked { DNNLContext.shared.inferencePrecision = effective }
        return effective
    }

    /// Whether oneDNN runs bf16 convolutions natively on this CPU (AVX512-BF16 or AMX).
    public static var bf16Supported: Bool { DNNLContext.bf16Native }

    /// dL/dx of `conv2d` (without the ReLU) given dL/dy.
    public static func conv2dBackwardData(_ gy: Tensor, _ w: Tensor, inputShape: [Int], padding: Int) -> Tensor {
        KernelShapes.conv2dBackwardData(gy: gy.shape, w: w.shape, inputShape: inputShape, padding: padding)
        let gx = Tensor(uninitializedShape: inputShape)
        DNNLConvolution.backwardData(conv(inputShape, w.shape, padding), gy: gy.readPointer, w: w.readPointer, gx: gx.writePointer)
        return gx
    }

    /// dL/dw [Co,Ci,K,K] and dL/db [Co] (db = sum of gy over N,H,W) of `conv2d`.
    public static func conv2dBackwardWeights(_ x: Tensor, _ gy: Tensor, kernel: Int, padding: Int) -> (dw: Tensor, db: Tensor) {
        let ws = KernelShapes.conv2dBackwardWeights(x: x.shape, gy: gy.shape, kernel: kernel, padding: padding)
        let dw = Tensor(uninitializedShape: ws), db = Tensor(uninitializedShape: [ws[0]])
        DNNLConvolution.backwardWeights(conv(x.shape, ws, padding), x: x.readPointer, gy: gy.readPointer,
                                        gw: dw.writePointer, gb: db.writePointer)
        return (dw, db)
    }

    /// Both gradients of `conv2d` in one call: dL/dx (nil when `inputGradient` is false, e.g. for
    /// the first layer, whose input is the image), dL/dw and dL/db. Equal to calling
    /// `conv2dBackwardData` and `conv2dBackwardWeights`, but converts gy to oneDNN's blocked layout
    /// once for both.
    public static func conv2dBackward(_ x: Tensor, _ gy: Tensor, _ w: Tensor, padding: Int,
                                      inputGradient: Bool = true) -> (dx: Tensor?, dw: Tensor, db: Tensor) {
        KernelShapes.require4D(w.shape, "weight", "conv2dBackward")
        let ws = KernelShapes.conv2dBackwardWeights(x: x.shape, gy: gy.shape, kernel: w.shape[2], padding: padding)
        kernelCheck(w.shape == ws, "conv2dBackward: weight \(KernelShapes.fmt(w.shape)) does not match input \(KernelShapes.fmt(x.shape)) and output gradient \(KernelShapes.fmt(gy.shape)) (expected \(KernelShapes.fmt(ws)))")
        guard inputGradient else {
            let (dw, db) = conv2dBackwardWeights(x, gy, kernel: ws[2], padding: padding)
            return (nil, dw, db)
        }
        let dx = Tensor(uninitializedShape: x.shape)
        let dw = Tensor(uninitializedShape: ws), db = Tensor(uninitializedShape: [ws[0]])
        if DNNLConvolution.backwardShared(conv(x.shape, ws, padding), x: x.readPointer, gy: gy.readPointer, w: w.readPointer,
                                          gx: dx.writePointer, gw: dw.writePointer, gb: db.writePointer) {
            return (dx, dw, db)
        }
        let (dw2, db2) = conv2dBackwardWeights(x, gy, kernel: ws[2], padding: padding)
        return (conv2dBackwardData(gy, w, inputShape: x.shape, padding: padding), dw2, db2)
    }

    /// Transposed convolution, kernel 2, stride 2: x [N,Ci,H,W], w [Ci,Co,2,2] (PyTorch
    /// ConvTranspose2d layout), b [Co] or nil → y [N,Co,2H,2W].
    public static func convTranspose2x2(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
        let ys = KernelShapes.convTranspose2x2(x: x.shape, w: w.shape, b: b?.shape)
        let y = Tensor(uninitializedShape: ys)
        let d = deconv(x.shape, co: ys[1])
        if DNNLLayoutRule.deconvForwardAsGemm {
            DNNLConvolution.deconvForwardGemm(d, x: x.readPointer, w: w.readPointer, b: b?.readPointer, y: y.writePointer)
        } else {
            DNNLConvolution.deconvForward(d, x: x.readPointer, w: w.readPointer, b: b?.readPointer, y: y.writePointer)
        }
        return y
    }

    /// dL/dx [N,Ci,H,W] of `convTranspose2x2` given dL/dy [N,Co,2H,2W].
    public static func convTranspose2x2BackwardData(_ gy: Tensor, _ w: Tensor, inputShape: [Int]) -> Tensor {
        KernelShapes.convTranspose2x2BackwardData(gy: gy.shape, w: w.shape, inputShape: inputShape)
        let gx = Tensor(uninitializedShape: inputShape)
        DNNLConvolution.deconvBackwardData(deconv(inputShape, co: w.shape[1]), gy: gy.readPointer, w: w.readPointer,
                                           gx: gx.writePointer)
        return gx
    }

    /// dL/dw [Ci,Co,2,2] and dL/db [Co] of `convTranspose2x2`.
    public static func convTranspose2x2BackwardWeights(_ x: Tensor, _ gy: Tensor) -> (dw: Tensor, db: Tensor) {
        let ws = KernelShapes.convTranspose2x2BackwardWeights(x: x.shape, gy: gy.shape)
        let dw = Tensor(uninitializedShape: ws), db = Tensor(uninitializedShape: [ws[1]])
        DNNLConvolution.deconvBackwardWeights(deconv(x.shape, co: ws[1]), x: x.readPointer, gy: gy.readPointer,
                                              gw: dw.writePointer, gb: db.writePointer)
        return (dw, db)
    }

    /// 2×2 max pooling, stride 2 (odd sizes: floor, as PyTorch). `state` carries oneDNN's workspace
    /// for the backward pass.
    public static func maxPool2x2(_ x: Tensor) -> (y: Tensor, state: MaxPoolState) {
        let ys = KernelShapes.maxPool2x2(x: x.shape)
        let y = Tensor(uninitializedShape: ys)
        let state = DNNLPooling.forward(x: x.shape, y: ys, xp: x.readPointer, yp: y.writePointer, training: true)!
        return (y, state)
    }

    /// 2×2 max pooling when no gradient will be asked for (nothing kept for a backward pass).
    public static func maxPool2x2Inference(_ x: Tensor) -> Tensor {
        let ys = KernelShapes.maxPool2x2(x: x.shape)
        let y = Tensor(uninitializedShape: ys)
        _ = DNNLPooling.forward(x: x.shape, y: ys, xp: x.readPointer, yp: y.writePointer, training: false)
        return y
    }

    /// dL/dx (the shape of the pooled input) given dL/dy; the gradient goes to each window's maximum.
    /// Accepts a state from `ReferenceKernels.maxPool2x2` too.
    public static func maxPool2x2Backward(_ gy: Tensor, state: MaxPoolState) -> Tensor {
        KernelShapes.maxPool2x2Backward(gy: gy.shape, state: state)
        guard case .workspace(let ws) = state.record else { return ReferenceKernels.maxPool2x2Backward(gy, state: state) }
        let gx = Tensor(uninitializedShape: state.inputShape)
        DNNLPooling.backward(state: state, ws: ws, gyp: gy.readPointer, gxp: gx.writePointer)
        return gx
    }

    /// Threads used by the kernels (default: all cores, or OMP_NUM_THREADS). Set once at start-up;
    /// primitives are cached per thread count.
    public static func setThreads(_ n: Int) {
        kernelCheck(n >= 1, "Kernels.setThreads: thread count \(n) must be at least 1")
        DNNLContext.shared.setThreads(n)
    }

    /// Threads the kernels use now (in this task).
    public static var threads: Int { DNNLContext.shared.locked { DNNLContext.shared.threads } }

    /// Runs this task's kernels on this many threads without changing them for other callers
    /// (tests running beside training, whose bit-exact results depend on the thread count).
    @TaskLocal public static var threadsOverride: Int?

    private static func conv(_ x: [Int], _ w: [Int], _ p: Int) -> DNNLConvolution.Conv {
        DNNLConvolution.Conv(n: x[0], ci: x[1], h: x[2], w: x[3], co: w[0], k: w[2], p: p)
    }

    private static func deconv(_ x: [Int], co: Int) -> DNNLConvolution.Deconv {
        DNNLConvolution.Deconv(n: x[0], ci: x[1], h: x[2], w: x[3], co: co)
    }
}

/// Arithmetic precision of convolutions.
public enum KernelPrecision: String, Sendable, CaseIterable {
    /// IEEE float32 throughout (the default, and always for training).
    case fp32
    /// bfloat16 inputs, weights and outputs with fp32 accumulation (inference only).
    case bf16
}

/// How oneDNN primitives see the caller's NCHW tensors.
@_spi(KernelTuning)
public enum KernelLayoutPolicy: Sendable, CaseIterable {
    /// Per primitive, from the shapes (see `DNNLLayoutRule`).
    case auto
    /// Primitives read and write NCHW directly.
    case nchw
    /// Primitives choose their blocked layouts, with reorders from and to NCHW around each call.
    case blocked
}

/// Knobs for benchmarks and tests of the backend itself (not for model code).
@_spi(KernelTuning)
public enum KernelTuning {
    /// Layout of the convolution primitives (default `.auto`: blocked where channels fill
    /// oneDNN's 16-wide blocks, NCHW elsewhere). Task-local, so a test or benchmark overriding it
    /// with `KernelTuning.$convLayout.withValue(.blocked) { ... }` does not change other callers.
    /// Primitives stay cached for every policy.
    @TaskLocal public static var convLayout: KernelLayoutPolicy = .auto

    /// The same for the 2×2 transposed convolutions.
    @TaskLocal public static var transposedConvLayout: KernelLayoutPolicy = .auto

    /// The same for max pooling (`.blocked`: the CPU's blocked layout, with reorders).
    @TaskLocal public static var poolLayout: KernelLayoutPolicy = .auto

    /// Whether `Kernels.conv2dPair` keeps the intermediate in the blocked layout (default true;
    /// false runs two `conv2d` calls, for benchmarks of the difference).
    @TaskLocal public static var convPairs = true

    /// Whether a network may run its inference as one compiled `CompiledInferenceGraph` (activations
    /// blocked throughout) instead of layer by layer (default true; false for benchmarks of
    /// the difference and for tests of the layer path).
    @TaskLocal public static var inferenceGraphs = true

    /// Whether a network may run its training steps as one compiled `CompiledTrainingGraph`
    /// (default true; false trains layer by layer, for benchmarks and tests of the difference).
    @TaskLocal public static var trainingGraphs = true

    /// Whether the compiled graphs run fp32 3×3 convolutions with oneDNN's Winograd kernels
    /// (F(4×4, 3×3): a quarter of the multiplications, the rest in input and output transforms)
    /// where it has them (AVX-512 CPUs). Default true; false runs the direct convolutions, for
    /// benchmarks and for bit-level comparisons with the layer path.
    @TaskLocal public static var winograd = true

    /// Accumulates the time spent inside primitives and in reorders (off by default).
    public static var profiling: Bool {
        get { DNNLContext.shared.locked { DNNLContext.shared.profiling } }
        set { DNNLContext.shared.locked { DNNLContext.shared.profiling = newValue } }
    }

    /// Seconds inside oneDNN primitives and in reorders since the last `resetProfile()`.
    public static var profile: (primitive: Double, reorder: Double) {
        DNNLContext.shared.locked { (DNNLContext.shared.primitiveSeconds, DNNLContext.shared.reorderSeconds) }
    }

    /// Time per cached primitive since profiling started, largest first.
    public static func profileReport() -> String { DNNLContext.shared.profileReport() }

    public static func resetProfile() { DNNLContext.shared.resetProfile() }

    /// Number of cached oneDNN primitives (a training loop must not grow it after its first step).
    public static var cachedPrimitiveCount: Int { DNNLContext.shared.cachedOpCount }

    /// Identities of the cached primitives whose description contains `text` (tests check that
    /// repeated calls reuse them).
    public static func cachedPrimitives(matching text: String) -> Set<ObjectIdentifier> {
        DNNLContext.shared.cachedOps(matching: text)
    }

    /// Frees all cached primitives and scratch memory; the next calls create them again.
    public static func releaseCaches() { DNNLContext.shared.clearCache() }

    /// Most primitives kept in the cache (least recently used ones go first).
    public static var cacheCapacity: Int {
        get { DNNLContext.shared.locked { DNNLContext.shared.capacity } }
        set { DNNLContext.shared.locked { DNNLContext.shared.capacity = max(1, newValue) } }
    }

    /// The oneDNN implementations ("jit:avx512_core", "gemm:jit", ...) of the cached primitives.
    public static var implementations: [String] { DNNLContext.shared.implementations }

    /// The channel block of the compiled graphs' activations on this CPU (16 with AVX-512, 8
    /// with AVX2; nil where oneDNN has no blocked jit convolution and the networks run layer by
    /// layer), as `DNNLContext.blockWidth` found it.
    public static var blockWidth: Int? { DNNLContext.blockWidth }
}
