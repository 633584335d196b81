import CDNNL
#if canImport(Glibc)
import Glibc
#endif

/// One argument of a primitive as the caller holds it.
struct DNNLArgSpec {
    let arg: Int32
    /// The caller's layout; nil for an argument the caller stores opaquely (the pooling workspace).
    let dims: [Int]?
    let tag: dnnl_format_tag_t
    let isOutput: Bool
    /// The caller's layout given as a full descriptor (strided views), overriding `dims`/`tag`.
    var md: dnnl_memory_desc_t? = nil

    static func input(_ arg: Int32, _ dims: [Int], _ tag: dnnl_format_tag_t) -> DNNLArgSpec {
        DNNLArgSpec(arg: arg, dims: dims, tag: tag, isOutput: false)
    }
    static func output(_ arg: Int32, _ dims: [Int], _ tag: dnnl_format_tag_t) -> DNNLArgSpec {
        DNNLArgSpec(arg: arg, dims: dims, tag: tag, isOutput: true)
    }
    /// An argument the caller holds in exactly `md`. When `md` is the primitive's own (blocked)
    /// layout no reorder is made: the path for activations kept blocked between layers.
    static func exact(_ arg: Int32, _ md: dnnl_memory_desc_t, isOutput: Bool) -> DNNLArgSpec {
        DNNLArgSpec(arg: arg, dims: [], tag: dnnl_format_tag_undef, isOutput: isOutput, md: md)
    }
    static func opaque(_ arg: Int32) -> DNNLArgSpec {
        DNNLArgSpec(arg: arg, dims: nil, tag: dnnl_format_tag_undef, isOutput: false)
    }
}

/// A created primitive with its memory objects and the reorders between the caller's plain layout
/// and the layout the primitive chose. Memory objects are made once; each call only swaps the
/// data handles, so a training loop creates nothing after its first step.
final class DNNLOp: @unchecked Sendable {
    private struct Slot {
        let user: dnnl_memory_t
        /// Memory in the primitive's layout (in the arena) when it differs from the caller's.
        let inner: dnnl_memory_t?
        let reorder: dnnl_primitive_t?
        let isOutput: Bool
        let arenaOffset: Int
    }

    let what: String
    private let primitive: dnnl_primitive_t
    private let pds: [dnnl_primitive_desc_t]
    private var slots: [Slot] = []
    private var args: [dnnl_exec_arg_t] = []
    private var scratchpad: dnnl_memory_t?
    private var scratchpadOffset = 0
    private let arenaBytes: Int
    /// Bytes of the caller's memory for each argument, in spec order.
    private(set) var userBytes: [Int] = []
    /// Bytes of each opaque argument (the pooling workspace), in spec order.
    private(set) var opaqueBytes: [Int] = []
    /// True when any argument is reordered (the primitive works in a blocked layout).
    let reorders: Bool
    /// The implementation oneDNN picked (e.g. "jit:avx512_core"), for benchmarks and checks.
    let implementation: String
    /// Cache clock of the last call (for least-recently-used eviction).
    var lastUse = 0
    /// Calls and seconds inside the primitive and in reorders while profiling.
    var profile = (calls: 0, primitive: 0.0, reorder: 0.0)

    /// `pd` is owned by the op from here on; `keepAlive` holds hint descriptors it refers to.
    init(what: String, pd: dnnl_primitive_desc_t, keepAlive: [dnnl_primitive_desc_t] = [], specs: [DNNLArgSpec]) {
        let ctx = DNNLContext.shared
        self.what = what
        pds = [pd] + keepAlive
        implementation = dnnlImplementationName(pd)
        var p: dnnl_primitive_t?
        dnnlCheck(dnnl_primitive_create(&p, pd), "dnnl_primitive_create", what)
        primitive = p!
        var offset = 0
        var anyReorder = false
        func align(_ n: Int) -> Int { (n + 63) & ~63 }
        for spec in specs {
            guard let innerMD = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, spec.arg)?.pointee else {
                fatalError("oneDNN: no memory descriptor for argument \(spec.arg) of \(what)")
            }
            var user = innerMD
            if let md = spec.md { user = md } else if let dims = spec.dims { user = ctx.memoryDesc(dims, spec.tag, what) } else {
                opaqueBytes.append(dnnl_memory_desc_get_size(&user))
            }
            userBytes.append(dnnl_memory_desc_get_size(&user))
            var um: dnnl_memory_t?
            dnnlCheck(dnnl_memory_create(&um, &user, ctx.engine, liverseg_dnnl_memory_none()), "dnnl_memory_create", what)
            var inner = innerMD
            if dnnl_memory_desc_equal(&user, &inner) != 0 {
                slots.append(Slot(user: um!, inner: nil, reorder: nil, isOutput: spec.isOutput, arenaOffset: 0))
                args.append(dnnl_exec_arg_t(arg: spec.arg, memory: um!))
                continue
            }
            anyReorder = true
            var im: dnnl_memory_t?
            dnnlCheck(dnnl_memory_create(&im, &inner, ctx.engine, liverseg_dnnl_memory_none()), "dnnl_memory_create", what)
            var rpd: dnnl_primitive_desc_t?
            if spec.isOutput {
                dnnlCheck(dnnl_reorder_primitive_desc_create(&rpd, &inner, ctx.engine, &user, ctx.engine, nil), "dnnl_reorder_primitive_desc_create", what)
            } else {
                dnnlCheck(dnnl_reorder_primitive_desc_create(&rpd, &user, ctx.engine, &inner, ctx.engine, nil), "dnnl_reorder_primitive_desc_create", what)
            }
            var r: dnnl_primitive_t?
            dnnlCheck(dnnl_primitive_create(&r, rpd), "dnnl_primitive_create (reorder)", what)
            dnnl_primitive_desc_destroy(rpd)
            slots.append(Slot(user: um!, inner: im!, reorder: r!, isOutput: spec.isOutput, arenaOffset: offset))
            args.append(dnnl_exec_arg_t(arg: spec.arg, memory: im!))
            offset += align(dnnl_memory_desc_get_size(&inner))
        }
        reorders = anyReorder
        if var smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)?.pointee {
            let bytes = dnnl_memory_desc_get_size(&smd)
            if bytes > 0 {
                var sm: dnnl_memory_t?
                dnnlCheck(dnnl_memory_create(&sm, &smd, ctx.engine, liverseg_dnnl_memory_none()), "dnnl_memory_create (scratchpad)", what)
                scratchpad = sm
                scratchpadOffset = offset
                args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: sm!))
                offset += align(bytes)
            }
        }
        arenaBytes = offset
    }

    deinit {
        for s in slots {
            dnnl_memory_destroy(s.user)
            if let m = s.inner { dnnl_memory_destroy(m) }
            if let r = s.reorder { dnnl_primitive_destroy(r) }
        }
        if let m = scratchpad { dnnl_memory_destroy(m) }
        dnnl_primitive_destroy(primitive)
        for pd in pds { dnnl_primitive_desc_destroy(pd) }
    }

    /// Runs the op on `pointers`, one per spec in the order given at creation. Call inside
    /// `DNNLContext.locked`.
    func run(_ pointers: [UnsafeMutableRawPointer]) {
        let ctx = DNNLContext.shared
        kernelCheck(pointers.count == slots.count, "DNNLOp.run: \(pointers.count) pointers for \(slots.count) arguments of \(what)")
        let arena = arenaBytes > 0 ? ctx.arena(bytes: arenaBytes) : nil
        let t0 = ctx.profiling ? monotonicSeconds() : 0
        for (i, s) in slots.enumerated() {
            dnnlCheck(dnnl_memory_set_data_handle(s.user, pointers[i]), "dnnl_memory_set_data_handle", what)
            if let m = s.inner {
                dnnlCheck(dnnl_memory_set_data_handle(m, arena! + s.arenaOffset), "dnnl_memory_set_data_handle", what)
                if !s.isOutput { reorder(s.reorder!, from: s.user, to: m) }
            }
        }
        if let sm = scratchpad {
            dnnlCheck(dnnl_memory_set_data_handle(sm, arena! + scratchpadOffset), "dnnl_memory_set_data_handle", what)
        }
        let t1 = ctx.profiling ? monotonicSeconds() : 0
        let status = args.withUnsafeBufferPointer { a in
            dnnl_primitive_execute(primitive, ctx.stream, Int32(a.count), a.baseAddress)
        }
        dnnlCheck(status, "dnnl_primitive_execute", what)
        let t2 = ctx.profiling ? monotonicSeconds() : 0
        for s in slots where s.isOutput && s.inner != nil {
            reorder(s.reorder!, from: s.inner!, to: s.user)
        }
        dnnlCheck(dnnl_stream_wait(ctx.stream), "dnnl_stream_wait", what)
        if ctx.profiling {
            let t3 = monotonicSeconds()
            ctx.primitiveSeconds += t2 - t1
            ctx.reorderSeconds += (t1 - t0) + (t3 - t2)
            profile.calls += 1
            profile.primitive += t2 - t1
            profile.reorder += (t1 - t0) + (t3 - t2)
        }
    }

    private func reorder(_ r: dnnl_primitive_t, from: dnnl_memory_t, to: dnnl_memory_t) {
        let a = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to)]
        let status = a.withUnsafeBufferPointer { dnnl_primitive_execute(r, DNNLContext.shared.stream, 2, $0.baseAddress) }
        dnnlCheck(status, "dnnl_primitive_execute (reorder)", what)
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Builds a primitive descriptor for an op descriptor with a user-managed scratchpad (the arena)
/// and optional fused ReLU (leaky where `reluSlope` > 0: oneDNN's relu takes the negative slope as alpha).
func dnnlPrimitiveDesc(_ desc: UnsafeRawPointer, hint: dnnl_primitive_desc_t? = nil, fuseReLU: Bool = false,
                       reluSlope: Float = 0, what: @autoclosure () -> String) -> dnnl_primitive_desc_t {
    var pd: dnnl_primitive_desc_t?
    dnnlCheck(dnnlCreatePrimitiveDesc(&pd, desc, hint: hint, fuseReLU: fuseReLU, reluSlope: reluSlope, what: what()),
              "dnnl_primitive_desc_create", what())
    return pd!
}

/// `dnnlPrimitiveDesc`, or nil where oneDNN has no implementation for it (a Winograd convolution
/// of a shape or CPU its kernels do not cover).
func dnnlPrimitiveDescIfImplemented(_ desc: UnsafeRawPointer, hint: dnnl_primitive_desc_t? = nil, fuseReLU: Bool = false,
                                    reluSlope: Float = 0, what: @autoclosure () -> String) -> dnnl_primitive_desc_t? {
    var pd: dnnl_primitive_desc_t?
    let status = dnnlCreatePrimitiveDesc(&pd, desc, hint: hint, fuseReLU: fuseReLU, reluSlope: reluSlope, what: what())
    if status == dnnl_unimplemented { return nil }
    dnnlCheck(status, "dnnl_primitive_desc_create", what())
    return pd
}

private func dnnlCreatePrimitiveDesc(_ pd: inout dnnl_primitive_desc_t?, _ desc: UnsafeRawPointer, hint: dnnl_primitive_desc_t?,
                                     fuseReLU: Bool, reluSlope: Float, what: @autoclosure () -> String) -> dnnl_status_t {
    let ctx = DNNLContext.shared
    var attr: dnnl_primitive_attr_t?
    dnnlCheck(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create", what())
    defer { dnnl_primitive_attr_destroy(attr) }
    dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "dnnl_primitive_attr_set_scratchpad_mode", what())
    if fuseReLU {
        var po: dnnl_post_ops_t?
        dnnlCheck(dnnl_post_ops_create(&po), "dnnl_post_ops_create", what())
        defer { dnnl_post_ops_destroy(po) }
        dnnlCheck(dnnl_post_ops_append_eltwise(po, 1, dnnl_eltwise_relu, reluSlope, 0), "dnnl_post_ops_append_eltwise", what())
        dnnlCheck(dnnl_primitive_attr_set_post_ops(attr, po), "dnnl_primitive_attr_set_post_ops", what())
    }
    return dnnl_primitive_desc_create(&pd, desc, attr, ctx.engine, hint)
}

/// The implementation oneDNN picked for an op (e.g. "jit:avx512_core"), for benchmarks.
func dnnlImplementationName(_ pd: dnnl_primitive_desc_t) -> String {
    var name: UnsafePointer<CChar>?
    guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "?" }
    return String(cString: name)
}
