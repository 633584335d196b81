import CDNNL
#if canImport(Glibc)
import Glibc
#endif

/// Stops the process with the op, its shapes and oneDNN's status name. At this level a failing
/// oneDNN call is a programmer error (shapes are checked before any call), so it traps.
@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ call: StaticString, _ what: @autoclosure () -> String) {
    if status != dnnl_success {
        let name = dnnl_status2str(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
        fatalError("oneDNN \(call) failed for \(what()): \(name)")
    }
}

/// How the oneDNN primitives see tensors that callers hold in plain NCHW.
enum DNNLLayout: Sendable {
    /// Primitives read and write NCHW / OIHW directly.
    case plain
    /// Primitives choose their blocked layout; reorders convert at every call.
    case blocked
}

/// The process's oneDNN state: one CPU engine, one in-order stream, the primitive cache and one
/// arena shared by all primitives for reorder buffers and scratchpads. Kernels run one at a time
/// under a lock (the engine serves one training thread; the lock only makes other callers safe).
final class DNNLContext: @unchecked Sendable {
    static let shared = DNNLContext()

    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    private var mutex = pthread_mutex_t()
    private var ops: [DNNLOpKey: DNNLOp] = [:]
    private var processThreads: Int
    /// Threads for the kernel about to run: the calling task's `Kernels.threadsOverride`, else
    /// the process-wide setting.
    var threads: Int { Kernels.threadsOverride ?? processThreads }
    /// Time split of kernel calls (benchmarks only): inside primitives vs in layout reorders.
    var profiling = false
    var primitiveSeconds = 0.0
    var reorderSeconds = 0.0
    private var arena: RawBuffer?

    private init() {
        var e: dnnl_engine_t?
        dnnlCheck(dnnl_engine_create(&e, dnnl_cpu, 0), "dnnl_engine_create", "the CPU engine")
        engine = e!
        var s: dnnl_stream_t?
        dnnlCheck(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create", "the CPU stream")
        stream = s!
        processThreads = Int(omp_get_max_threads())
        pthread_mutex_init(&mutex, nil)
        if let v = getenv("LIVERSEG_KERNEL_PROFILE"), String(cString: v) == "1" {
            profiling = true
            atexit { fputs(DNNLContext.shared.profileReport(), stderr) }
        }
    }

    func setThreads(_ n: Int) {
        locked { processThreads = n; applyThreads() }
    }

    /// OpenMP's thread count belongs to the calling thread, so it is set on whichever thread runs
    /// a kernel. Primitives are cached per thread count: oneDNN fixes the work split at creation.
    func applyThreads() {
        if Int(omp_get_max_threads()) != threads { omp_set_num_threads(Int32(threads)) }
    }

    func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    /// Precision of the convolutions that run without gradient recording (`Kernels.inferencePrecision`).
    var inferencePrecision: KernelPrecision = .fp32

    /// Whether oneDNN runs bf16 convolutions natively here: AVX512-BF16 (avx512_core_bf16) or AMX.
    /// Elsewhere oneDNN would fall back to reference loops, far slower than fp32.
    static let bf16Native: Bool = {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return isa & bf16 == bf16
    }()

    /// The channel block of oneDNN's fp32 jit convolutions on this CPU: 16 (nChw16c, AVX-512) or
    /// 8 (nChw8c, AVX2, AVX, SSE4.1); nil where neither runs a 32→32 3×3 convolution with a jit
    /// kernel (e.g. a build without jit kernels for the CPU). Each block is tried in turn, the
    /// wider first, with the activations forced into it as the compiled graphs force them (what
    /// oneDNN would pick unasked may be another layout, such as nhwc for its brgemm kernels).
    /// In a block its jit kernels do not take, oneDNN runs its reference loops: on a 2-core AVX2
    /// EPYC a [4, 16, 128, 128] 16→16 convolution in nChw16c took 3.8 s, and the long preset
    /// trained 3 steps in 15 minutes (docs/experiments.md, session 22).
    static let blockWidth: Int? = {
        let ctx = DNNLContext.shared, what = "the block width probe"
        let dims = [1, 32, 16, 16]
        return [16, 8].first { width in
            var src = ctx.memoryDesc(dims, ActivationLayout.blocked(width).tag, what), dst = src
            var wt = ctx.memoryDesc([32, 32, 3, 3], dnnl_format_tag_any, what), b = ctx.memoryDesc([32], dnnl_x, what)
            var d = dnnl_convolution_desc_t()
            dnnlCheck(dnnl_convolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_convolution_direct, &src, &wt, &b, &dst,
                                                         [1, 1], [1, 1], [1, 1]), "dnnl_convolution_forward_desc_init", what)
            guard let pd = dnnlPrimitiveDescIfImplemented(&d, what: what) else { return false }
            defer { dnnl_primitive_desc_destroy(pd) }
            return !dnnlImplementationName(pd).hasPrefix("ref")
        }
    }()

    /// Primitives kept at most: a training loop uses a few dozen; inference on varying crop sizes
    /// would otherwise grow the cache without bound.
    var capacity = 512
    private var clock = 0

    /// The cached primitive for `key`, built by `make` on first use. Call inside `locked`.
    func op(_ key: DNNLOpKey, _ make: () -> DNNLOp) -> DNNLOp {
        applyThreads()
        clock += 1
        if let op = ops[key] { op.lastUse = clock; return op }
        if ops.count >= capacity {
            // Drop the least recently used quarter at once, so eviction is rare.
            let victims = ops.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(max(1, capacity / 4))
            for (k, _) in victims { ops[k] = nil }
        }
        let op = make()
        op.lastUse = clock
        ops[key] = op
        return op
    }

    /// Memory for an op's reorder buffers and scratchpad; valid until the next kernel call.
    func arena(bytes: Int) -> UnsafeMutableRawPointer {
        if arena == nil || arena!.bytes < bytes { arena = nil; arena = RawBuffer(bytes: bytes) }
        return arena!.pointer
    }

    private var staging: RawBuffer?

    /// Memory for an intermediate between two ops of one kernel call (not the arena, which each
    /// op uses for itself); valid until the next kernel call.
    func staging(bytes: Int) -> UnsafeMutableRawPointer {
        if staging == nil || staging!.bytes < bytes { staging = nil; staging = RawBuffer(bytes: bytes) }
        return staging!.pointer
    }

    var cachedOpCount: Int { locked { ops.count } }

    /// Seconds per step of the compiled graphs while profiling (primitives and the host passes
    /// between them: copies, dropout, gradient sums).
    var graphSteps: [String: (calls: Int, seconds: Double)] = [:]

    func noteGraphStep(_ what: String, seconds: Double) {
        let p = graphSteps[what] ?? (0, 0)
        graphSteps[what] = (p.calls + 1, p.seconds + seconds)
    }

    /// Time per cached primitive while profiling, largest first (LIVERSEG_KERNEL_PROFILE=1 prints
    /// it at exit).
    func profileReport() -> String {
        locked {
            let rows = ops.values.filter { $0.profile.calls > 0 }
                .sorted { $0.profile.primitive + $0.profile.reorder > $1.profile.primitive + $1.profile.reorder }
            let total = rows.reduce(0.0) { $0 + $1.profile.primitive + $1.profile.reorder }
            var out = "oneDNN kernels: \(rows.count) primitives, \(String(format: "%.3f", total)) s in total\n"
            out += "     total s  primitive s  reorder s   calls  op [implementation]\n"
            for op in rows {
                let p = op.profile
                out += String(format: "%12.3f %12.3f %10.3f %7d  ", p.primitive + p.reorder, p.primitive, p.reorder, p.calls)
                    + "\(op.what) [\(op.implementation)]\n"
            }
            if !graphSteps.isEmpty {
                let steps = graphSteps.sorted { $0.value.seconds > $1.value.seconds }
                out += String(format: "compiled graphs: %d steps, %.3f s in total\n", steps.count, steps.reduce(0.0) { $0 + $1.value.seconds })
                for (what, p) in steps { out += String(format: "%12.3f %7d  ", p.seconds, p.calls) + "\(what)\n" }
            }
            return out
        }
    }

    func resetProfile() {
        locked {
            primitiveSeconds = 0
            reorderSeconds = 0
            for op in ops.values { op.profile = (0, 0, 0) }
            graphSteps = [:]
        }
    }

    func cachedOps(matching text: String) -> Set<ObjectIdentifier> {
        locked { Set(ops.values.filter { $0.what.contains(text) }.map { ObjectIdentifier($0) }) }
    }

    var implementations: [String] { locked { ops.values.map { "\($0.what): \($0.implementation)\($0.reorders ? " (+reorders)" : "")" }.sorted() } }

    /// Frees every cached primitive and the arena (e.g. between a training and an inference phase).
    func clearCache() { locked { ops.removeAll(); arena = nil; staging = nil } }

    func memoryDesc(_ dims: [Int], _ tag: dnnl_format_tag_t, _ what: @autoclosure () -> String,
                    type: dnnl_data_type_t = dnnl_f32) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { dnnl_dim_t($0) }
        dnnlCheck(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), d, type, tag), "dnnl_memory_desc_init_by_tag", what())
        return md
    }
}

/// The layout rules of the `.auto` policy, from benchmarks/kernels on the 2-core Zen 4 machine
/// (NCHW in and out). Blocked primitives need channels to fill their 16-wide blocks: with 32→32
/// channels they run the convolution about 2× faster than oneDNN's NCHW (im2col + gemm) path even
/// after the reorders, while with 1 or 2 channels on one side the reorders (and the padding of
/// channels to 16) cost more than they save. The transposed convolution's forward pass is faster
/// on NCHW; its backward passes are faster blocked. Only shapes decide, never timings, so results
/// are reproducible run to run.
enum DNNLLayoutRule {
    static func resolve(_ policy: KernelLayoutPolicy, _ blockedWhen: Bool) -> DNNLLayout {
        switch policy {
        case .nchw: return .plain
        case .blocked: return .blocked
        case .auto: return blockedWhen ? .blocked : .plain
        }
    }
    // A 1×1 convolution on NCHW is a plain GEMM (no im2col), which beats blocked + reorders.
    static func convForward(ci: Int, co: Int, k: Int) -> DNNLLayout { resolve(KernelTuning.convLayout, co >= 16 && k > 1) }
    static func convBackwardData(ci: Int, co: Int, k: Int) -> DNNLLayout { resolve(KernelTuning.convLayout, ci >= 16 && co >= 16 && k > 1) }
    static func convBackwardWeights(ci: Int, co: Int, k: Int) -> DNNLLayout { resolve(KernelTuning.convLayout, co >= 16 && k > 1) }
    static func deconvForward(ci: Int, co: Int) -> DNNLLayout { resolve(KernelTuning.transposedConvLayout, false) }
    /// The `.auto` forward transposed convolution: a 1×1 convolution to 4·Co channels (a plain GEMM
    /// on NCHW) and a depth-to-space reorder. oneDNN 2.6's own deconvolution runs this stride-2
    /// case at under 10 GFLOP/s in either layout.
    static var deconvForwardAsGemm: Bool { KernelTuning.transposedConvLayout == .auto }
    static func deconvBackwardData(ci: Int, co: Int) -> DNNLLayout { resolve(KernelTuning.transposedConvLayout, ci >= 16 && co >= 16) }
    static func deconvBackwardWeights(ci: Int, co: Int) -> DNNLLayout { resolve(KernelTuning.transposedConvLayout, co >= 16) }
    static func pool() -> DNNLLayout { resolve(KernelTuning.poolLayout, false) }
}

/// Cache key: the op, every size and flag that shapes its primitive, the layout policy and threads.
struct DNNLOpKey: Hashable {
    enum Kind: Hashable { case convForward, convBackwardData, convBackwardWeights,
                          deconvForward, deconvBackwardData, deconvBackwardWeights,
                          deconvForwardGemm, depthToSpace2x2,
                          convBackwardDataShared, convBackwardWeightsShared, convGradientToBlocked,
                          convForwardPairFirst, convForwardPairSecond,
                          poolForward, poolForwardInference, poolBackward }
    let kind: Kind
    let sizes: [Int]
    let layout: DNNLLayout
    let threads: Int
}
