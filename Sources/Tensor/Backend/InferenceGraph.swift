import CDNNL
#if canImport(Glibc)
import Glibc
#endif

/// A network's forward pass compiled once for one input shape and run many times, for
/// inference. Layer by layer, each kernel call takes NCHW tensors and reorders them into and out
/// of oneDNN's blocked layout; here the activations stay in one layout (fp32: the CPU's
/// blocked one, nChw16c or nChw8c; bf16: nhwc, see `ActivationLayout`) from the first
/// convolution to the head, so the only reorders are of the input and the output. Every buffer
/// is planned at compile time (values whose lives do not overlap share memory) and bound to its
/// primitives once, so a run allocates nothing. In bf16 the activations themselves are bfloat16
/// (half the memory traffic), with fp32 accumulation inside the primitives. Weights are
/// snapshots taken by `setWeights` (the caller refreshes them when its parameters change).
public final class CompiledInferenceGraph: @unchecked Sendable {
    public let inputShape: [Int], outputShape: [Int]
    public let precision: KernelPrecision
    /// Bytes of activation memory after planning, and before (each value its own buffer).
    public let plannedBytes: Int, unplannedBytes: Int
    /// "op: implementation" for every primitive (benchmarks, tests).
    public private(set) var implementations: [String] = []
    private let threads: Int

    /// One primitive with the memory objects it executes on.
    private struct Step {
        let what: String
        let primitive: dnnl_primitive_t
        let args: [dnnl_exec_arg_t]
        /// Host copies before the primitive (concat's skip half) and after (depth-to-space), given the arena.
        var before: ((UnsafeMutableRawPointer) -> Void)?
        var after: ((UnsafeMutableRawPointer) -> Void)?
    }

    private var steps: [Step] = []
    private var memories: [dnnl_memory_t] = []
    private var pds: [dnnl_primitive_desc_t] = []
    /// Weight and bias buffers (the graph's own).
    private var buffers: [RawBuffer] = []
    /// Activations, temporaries and the scratchpad live in the oneDNN context's arena, which every
    /// graph and kernel call shares (they run one at a time), at these offsets: a cascade's two
    /// networks need the larger of their plans, not the sum.
    private var arenaBindings: [(memory: dnnl_memory_t, offset: Int)] = []
    private var arenaBytes = 0
    private var boundArena: UnsafeMutableRawPointer?
    /// User-side f32 NCHW memories of the input and output (the head's own destination where it
    /// writes NCHW fp32 itself), whose handles each run sets.
    private var userIn: dnnl_memory_t!, userOut: dnnl_memory_t!
    /// Weight reorders: (user f32 memory, reorder into the primitive's layout) per weight, and
    /// each bias's f32 buffer (a transposed convolution's holds its bias once per window position).
    private var weightSlots: [(user: dnnl_memory_t, reorder: dnnl_primitive_t, inner: dnnl_memory_t, bias: RawBuffer, upsampled: Bool)] = []
    private let weightShapes: [[Int]]
    /// Inference runs Winograd only on layers with Ci·Co up to this (≤ 128 channels a side at
    /// F=32: the high-resolution levels, where the time is). Winograd's weights take 4× the
    /// memory of direct ones and the deep layers hold most of the weights: at 256², F=32, batch 1
    /// all-Winograd was 0.109 s against 0.175 s direct but +204 MB per network (two of them push a
    /// 200-slice volume's peak past 2× the volume); up to 128·128 it is 0.140 s at +16 MB.
    static let winogradMaxChannelProduct = 128 * 128

    init?(_ g: NetworkGraph, output: Int, bf16: Bool, winograd: Bool) {
        let ctx = DNNLContext.shared
        let dt = bf16 ? dnnl_bf16 : dnnl_f32
        let es = bf16 ? 2 : 4
        precision = bf16 ? .bf16 : .fp32
        threads = ctx.threads
        weightShapes = g.weightShapes
        inputShape = g.shapes[0]
        outputShape = g.shapes[output]
        let what = "inference graph \(KernelShapes.fmt(inputShape))"

        // Which values each node reads, and when each value is read last.
        let count = output + 1
        var lastUse = Array(0..<count)
        for i in 0..<count { for r in g.reads(i) { lastUse[r] = max(lastUse[r], i) } }
        lastUse[output] = count

        // Memory plan: a value takes a free block (best fit) or a new one; blocks free after the value's last read.
        var plan = BlockPlan()
        var blockOf: [Int: Int] = [:]

        // Pass 1: primitive descriptors and memory descriptors of every value, and the plan.
        var mds: [dnnl_memory_desc_t] = Array(repeating: dnnl_memory_desc_t(), count: count)
        var nodePDs: [Int: dnnl_primitive_desc_t] = [:]
        var tempBlock: [Int: Int] = [:]     // transposed conv's 4·Co output, per node
        var inputReorder: (md: dnnl_memory_desc_t, block: Int)?
        var ok = true
        // fp32: the CPU's blocked layout (`DNNLContext.blockWidth`), where oneDNN's jit convolutions
        // run; bf16: nhwc, the layout of its AMX (brgconv) kernels — on nChw16c it falls back to
        // AVX512-BF16 ones at half the speed of fp32.
        guard let layout = bf16 ? ActivationLayout.channelsLast : ActivationLayout.native else { return nil }
        /// The descriptor of an activation of `dims` in the graph's layout.
        func activation(_ dims: [Int]) -> dnnl_memory_desc_t { ctx.memoryDesc(dims, layout.tag, what, type: dt) }
        func inLayout(_ md: dnnl_memory_desc_t, _ dims: [Int]) -> Bool { dnnlSameMD(md, activation(dims)) }
        /// fp32 3×3 convolutions as Winograd F(4×4, 3×3) where oneDNN has it (`KernelTuning.winograd`),
        /// the layer is wide enough to gain (32 channels a side; at 16 it loses, see
        /// `CompiledTrainingGraph`) and narrow enough for its memory (`winogradMaxChannelProduct`).
        func convPD(_ x: dnnl_memory_desc_t, _ xs: [Int], co: Int, k: Int, p: Int, dst: dnnl_memory_desc_t?, ddt: dnnl_data_type_t,
                    relu: Bool, slope: Float) -> dnnl_primitive_desc_t {
            func make(_ alg: dnnl_alg_kind_t) -> dnnl_primitive_desc_t? {
                var src = x
                var wt = ctx.memoryDesc([co, xs[1], k, k], dnnl_format_tag_any, what, type: dt)
                var b = ctx.memoryDesc([co], dnnl_x, what)
                var d = dst ?? ctx.memoryDesc([xs[0], co, xs[2] + 2 * p - k + 1, xs[3] + 2 * p - k + 1], dnnl_format_tag_any, what, type: ddt)
                var desc = dnnl_convolution_desc_t()
                dnnlCheck(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, alg, &src, &wt, &b, &d,
                                                             [1, 1], [dnnl_dim_t(p), dnnl_dim_t(p)], [dnnl_dim_t(p), dnnl_dim_t(p)]),
                          "dnnl_convolution_forward_desc_init", what)
                return dnnlPrimitiveDescIfImplemented(&desc, fuseReLU: relu, reluSlope: slope, what: what)
            }
            if winograd && !bf16 && k == 3 && min(co, xs[1]) >= 32 && co * xs[1] <= Self.winogradMaxChannelProduct,
               let pd = make(dnnl_convolution_winograd) { return pd }
            return make(dnnl_convolution_direct)!
        }
        let md = dnnlQueryMD
        var scratch = 0
        for i in 0..<count where ok {
            let s = g.shapes[i]
            let isOut = i == output
            switch g.nodes[i] {
            case .input:
                continue
            case .conv(let x, let wi, let k, let p, let relu, let slope):
                // Every activation in `layout` (oneDNN's own choice would be nhwc for a first layer of 1–3
                // channels in fp32); the network's input is reordered in, its output (fp32) out to NCHW.
                let src = x == 0 ? (bf16 ? activation(inputShape) : ctx.memoryDesc(inputShape, dnnl_nchw, what)) : mds[x]
                let pd = convPD(src, g.shapes[x], co: g.weightShapes[wi][0], k: k, p: p, dst: isOut ? nil : activation(s),
                                ddt: isOut ? dnnl_f32 : dt, relu: relu, slope: slope)
                nodePDs[i] = pd
                if x == 0 {
                    var src = md(pd, DNNL_ARG_SRC), user = ctx.memoryDesc(inputShape, dnnl_nchw, what)
                    if dnnl_memory_desc_equal(&src, &user) == 0 { inputReorder = (src, plan.allocate(dnnl_memory_desc_get_size(&src))) }
                    mds[0] = src
                }
                mds[i] = md(pd, DNNL_ARG_DST)
                if !isOut && !inLayout(mds[i], s) { ok = false }
            case .pool(let x):
                var src = mds[x], dst = activation(s)
                var desc = dnnl_pooling_v2_desc_t()
                dnnlCheck(dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference, dnnl_pooling_max, &src, &dst,
                                                            [2, 2], [2, 2], [0, 0], [0, 0], [0, 0]),
                          "dnnl_pooling_v2_forward_desc_init", what)
                let pd = dnnlPrimitiveDesc(&desc, what: what)
                nodePDs[i] = pd
                mds[i] = md(pd, DNNL_ARG_DST)
                if !inLayout(mds[i], s) { ok = false }
            case .concatUpsampled(let skip, let x, let wi, _):
                let xs = g.shapes[x], co = g.weightShapes[wi][1], cs = g.shapes[skip][1]
                guard layout.fills(co), layout.fills(cs), !isOut, inLayout(mds[skip], g.shapes[skip]), inLayout(mds[x], xs) else { ok = false; break }
                // The 2×2 stride-2 transposed convolution is a 1×1 convolution to 4·Co channels
                // (channel g·Co + o for window position g = 2a + b), moved into place by `depthToSpace`.
                let zs = [xs[0], 4 * co, xs[2], xs[3]]
                let pd = convPD(mds[x], xs, co: 4 * co, k: 1, p: 0, dst: activation(zs), ddt: dt, relu: false, slope: 0)
                nodePDs[i] = pd
                var z = activation(zs)
                tempBlock[i] = plan.allocate(dnnl_memory_desc_get_size(&z))
                mds[i] = activation(s)
            }
            if !ok { break }
            if let pd = nodePDs[i] { scratch = max(scratch, dnnlScratchpadBytes(pd)) }
            blockOf[i] = plan.allocate(dnnl_memory_desc_get_size(&mds[i]))
            for r in g.reads(i) + [i] where lastUse[r] == i { if let b = blockOf[r] { plan.release(b) } }
            if let t = tempBlock[i] { plan.release(t) }
            if let (_, b) = inputReorder, i == lastUse[0] { plan.release(b) }
        }
        guard ok else {
            for pd in nodePDs.values { dnnl_primitive_desc_destroy(pd) }
            return nil
        }
        plannedBytes = plan.sizes.reduce(0, +)
        unplannedBytes = plan.requested
        let (blockOffsets, planEnd) = plan.layout()
        arenaBytes = planEnd
        let scratchOffset = arenaBytes
        arenaBytes += scratch
        pds = Array(nodePDs.values)

        // Pass 2: memory objects on the planned buffers, primitives and their arguments.
        /// A memory object, bound to the arena at `offset` on each run where given.
        func memory(_ md: dnnl_memory_desc_t, arenaOffset offset: Int?) -> dnnl_memory_t {
            var m: dnnl_memory_t?, d = md
            dnnlCheck(dnnl_memory_create(&m, &d, ctx.engine, liverseg_dnnl_memory_none()), "dnnl_memory_create", what)
            memories.append(m!)
            if let offset { arenaBindings.append((m!, offset)) }
            return m!
        }
        func primitive(_ pd: dnnl_primitive_desc_t) -> dnnl_primitive_t {
            var p: dnnl_primitive_t?
            dnnlCheck(dnnl_primitive_create(&p, pd), "dnnl_primitive_create", what)
            return p!
        }
        func reorder(_ from: dnnl_memory_desc_t, _ to: dnnl_memory_desc_t) -> (dnnl_primitive_t, dnnl_primitive_desc_t) {
            var pd: dnnl_primitive_desc_t?, a = from, b = to
            dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &a, ctx.engine, &b, ctx.engine, nil), "dnnl_reorder_primitive_desc_create", what)
            return (primitive(pd!), pd!)
        }
        let scratchMem = scratch > 0 ? memory(ctx.memoryDesc([scratch], dnnl_x, what, type: dnnl_u8), arenaOffset: scratchOffset) : nil
        func args(_ list: [(Int32, dnnl_memory_t)]) -> [dnnl_exec_arg_t] {
            list.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) } + (scratchMem.map { [dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: $0)] } ?? [])
        }
        userIn = memory(ctx.memoryDesc(inputShape, dnnl_nchw, what), arenaOffset: nil)
        var valueMem: [Int: dnnl_memory_t] = [:]
        if let (md, b) = inputReorder {
            valueMem[0] = memory(md, arenaOffset: blockOffsets[b])
            let (r, rpd) = reorder(ctx.memoryDesc(inputShape, dnnl_nchw, what), md)
            pds.append(rpd)
            steps.append(Step(what: "input reorder", primitive: r, args: [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: userIn),
                                                                          dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: valueMem[0]!)]))
        } else {
            valueMem[0] = userIn
        }
        for i in 1..<count {
            let mem = memory(mds[i], arenaOffset: blockOffsets[blockOf[i]!])
            valueMem[i] = mem
            let pd = nodePDs[i]!
            let impl = dnnlImplementationName(pd)
            switch g.nodes[i] {
            case .input: break
            case .conv(let x, let wi, _, _, _, _):
                let w = memory(md(pd, DNNL_ARG_WEIGHTS), arenaOffset: nil), b = memory(md(pd, DNNL_ARG_BIAS), arenaOffset: nil)
                addWeightSlot(wi, inner: w, bias: b, biasCount: g.weightShapes[wi][0], upsampled: false, what: what)
                let text = "conv \(KernelShapes.fmt(g.weightShapes[wi])) on \(KernelShapes.fmt(g.shapes[x]))"
                steps.append(Step(what: text, primitive: primitive(pd), args: args([(DNNL_ARG_SRC, valueMem[x]!), (DNNL_ARG_WEIGHTS, w),
                                                                                   (DNNL_ARG_BIAS, b), (DNNL_ARG_DST, mem)])))
                implementations.append("\(text): \(impl)")
            case .pool(let x):
                let text = "maxPool2x2 on \(KernelShapes.fmt(g.shapes[x]))"
                steps.append(Step(what: text, primitive: primitive(pd), args: args([(DNNL_ARG_SRC, valueMem[x]!), (DNNL_ARG_DST, mem)])))
                implementations.append("\(text): \(impl)")
            case .concatUpsampled(let skip, let x, let wi, _):
                let xs = g.shapes[x], co = g.weightShapes[wi][1]
                let z = blockOffsets[tempBlock[i]!]
                let zmem = memory(md(pd, DNNL_ARG_DST), arenaOffset: z)
                let w = memory(md(pd, DNNL_ARG_WEIGHTS), arenaOffset: nil), b = memory(md(pd, DNNL_ARG_BIAS), arenaOffset: nil)
                addWeightSlot(wi, inner: w, bias: b, biasCount: 4 * co, upsampled: true, what: what)
                let text = "convTranspose2x2 \(KernelShapes.fmt(g.weightShapes[wi])) on \(KernelShapes.fmt(xs)) + concat"
                let skipAt = blockOffsets[blockOf[skip]!], outAt = blockOffsets[blockOf[i]!]
                let (n, cs, h, wd) = (xs[0], g.shapes[skip][1], xs[2], xs[3])
                var step = Step(what: text, primitive: primitive(pd), args: args([(DNNL_ARG_SRC, valueMem[x]!), (DNNL_ARG_WEIGHTS, w),
                                                                                  (DNNL_ARG_BIAS, b), (DNNL_ARG_DST, zmem)]))
                step.before = { GraphCopies.copySkip($0 + skipAt, into: $0 + outAt, layout: layout, n: n, skipChannels: cs, totalChannels: cs + co, pixels: 4 * h * wd, elementSize: es) }
                step.after = { GraphCopies.depthToSpace($0 + z, into: $0 + outAt, layout: layout, n: n, co: co, h: h, w: wd, channelOffset: cs, totalChannels: cs + co, elementSize: es) }
                steps.append(step)
                implementations.append("\(text): \(impl)")
            }
        }
        var outMD = mds[output], userMD = ctx.memoryDesc(outputShape, dnnl_nchw, what)
        if dnnl_memory_desc_equal(&outMD, &userMD) == 0 {
            userOut = memory(userMD, arenaOffset: nil)
            let (r, rpd) = reorder(outMD, userMD)
            pds.append(rpd)
            steps.append(Step(what: "output reorder", primitive: r, args: [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: valueMem[output]!),
                                                                           dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: userOut)]))
        } else {
            // The head writes NCHW fp32 itself: its destination is the caller's tensor, not the arena.
            userOut = valueMem[output]
            arenaBindings.removeAll { $0.memory == userOut }
        }
    }

    private func addWeightSlot(_ wi: Int, inner: dnnl_memory_t, bias: dnnl_memory_t, biasCount: Int, upsampled: Bool, what: String) {
        let ctx = DNNLContext.shared
        precondition(wi == weightSlots.count, "CompiledInferenceGraph: weights out of order")
        let ws = weightShapes[wi]
        // The user's weight as the primitive sees it: conv OIHW; transposed conv as the 1×1 [4·Co, Ci] (rearranged by `setWeights`).
        let userDims = upsampled ? [4 * ws[1], ws[0], 1, 1] : ws
        var umd = ctx.memoryDesc(userDims, dnnl_oihw, what)
        var u: dnnl_memory_t?
        dnnlCheck(dnnl_memory_create(&u, &umd, ctx.engine, liverseg_dnnl_memory_none()), "dnnl_memory_create", what)
        memories.append(u!)
        var imd = dnnl_memory_get_memory_desc_checked(inner, what)
        let innerBuf = RawBuffer(bytes: dnnl_memory_desc_get_size(&imd))
        dnnlCheck(dnnl_memory_set_data_handle(inner, innerBuf.pointer), "dnnl_memory_set_data_handle", what)
        buffers.append(innerBuf)
        var rpd: dnnl_primitive_desc_t?
        dnnlCheck(dnnl_reorder_primitive_desc_create(&rpd, &umd, ctx.engine, &imd, ctx.engine, nil), "dnnl_reorder_primitive_desc_create", what)
        var r: dnnl_primitive_t?
        dnnlCheck(dnnl_primitive_create(&r, rpd), "dnnl_primitive_create", what)
        pds.append(rpd!)
        let biasBuf = RawBuffer(bytes: biasCount * 4)
        dnnlCheck(dnnl_memory_set_data_handle(bias, biasBuf.pointer), "dnnl_memory_set_data_handle", what)
        buffers.append(biasBuf)
        weightSlots.append((u!, r!, inner, biasBuf, upsampled))
    }

    deinit {
        for s in steps { dnnl_primitive_destroy(s.primitive) }
        for s in weightSlots { dnnl_primitive_destroy(s.reorder) }
        for m in memories { dnnl_memory_destroy(m) }
        for pd in pds { dnnl_primitive_desc_destroy(pd) }
    }

    /// Copies the weights and biases into the primitives' layouts, in the order the graph's
    /// `conv` and `concatUpsampled` calls named them. Call again whenever they change.
    public func setWeights(_ weights: [(weight: Tensor, bias: Tensor)]) {
        precondition(weights.count == weightSlots.count, "CompiledInferenceGraph.setWeights: \(weights.count) weights for \(weightSlots.count) layers")
        let ctx = DNNLContext.shared
        ctx.locked {
            ctx.applyThreads()
            for (i, (w, b)) in weights.enumerated() {
                let slot = weightSlots[i], ws = weightShapes[i], copies = slot.upsampled ? 4 : 1
                precondition(w.shape == ws && b.count * copies == slot.bias.bytes / 4,
                             "CompiledInferenceGraph.setWeights: weight \(w.shape) / bias \(b.shape) for layer \(i) expecting \(ws)")
                let user = slot.upsampled ? GraphCopies.transposedAsGemm(w) : w
                dnnlCheck(dnnl_memory_set_data_handle(slot.user, UnsafeMutableRawPointer(mutating: user.readPointer)), "dnnl_memory_set_data_handle", "weights")
                let a = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: slot.user), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: slot.inner)]
                dnnlCheck(a.withUnsafeBufferPointer { dnnl_primitive_execute(slot.reorder, ctx.stream, 2, $0.baseAddress) },
                          "dnnl_primitive_execute (weights)", "weights")
                dnnlCheck(dnnl_stream_wait(ctx.stream), "dnnl_stream_wait", "weights")
                let bp = slot.bias.pointer.assumingMemoryBound(to: Float.self), src = b.readPointer
                for r in 0..<copies { for o in 0..<b.count { bp[r * b.count + o] = src[o] } }
            }
        }
    }

    /// The network's output (fp32 NCHW) for `x` (fp32 NCHW of `inputShape`).
    public func run(_ x: Tensor) -> Tensor {
        precondition(x.shape == inputShape, "CompiledInferenceGraph.run: input \(x.shape), compiled for \(inputShape)")
        let y = Tensor(uninitializedShape: outputShape)
        let ctx = DNNLContext.shared
        ctx.locked {
            ctx.applyThreads()
            precondition(ctx.threads == threads, "CompiledInferenceGraph.run: compiled for \(threads) threads, now \(ctx.threads)")
            dnnlCheck(dnnl_memory_set_data_handle(userIn, UnsafeMutableRawPointer(mutating: x.readPointer)), "dnnl_memory_set_data_handle", "graph input")
            dnnlCheck(dnnl_memory_set_data_handle(userOut, UnsafeMutableRawPointer(y.writePointer)), "dnnl_memory_set_data_handle", "graph output")
            let arena = ctx.arena(bytes: arenaBytes)
            if arena != boundArena {
                for (m, offset) in arenaBindings { dnnlCheck(dnnl_memory_set_data_handle(m, arena + offset), "dnnl_memory_set_data_handle", "graph arena") }
                boundArena = arena
            }
            let t0 = ctx.profiling ? monotonicSeconds() : 0
            for s in steps {
                let ts = ctx.profiling ? monotonicSeconds() : 0
                s.before?(arena)
                let status = s.args.withUnsafeBufferPointer { dnnl_primitive_execute(s.primitive, ctx.stream, Int32($0.count), $0.baseAddress) }
                dnnlCheck(status, "dnnl_primitive_execute", s.what)
                dnnlCheck(dnnl_stream_wait(ctx.stream), "dnnl_stream_wait", s.what)
                s.after?(arena)
                if ctx.profiling { ctx.noteGraphStep("inference: " + s.what, seconds: monotonicSeconds() - ts) }
            }
            if ctx.profiling { ctx.primitiveSeconds += monotonicSeconds() - t0 }
        }
        return y
    }
}
