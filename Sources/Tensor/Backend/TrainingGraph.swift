import CDNNL
#if canImport(Glibc)
import Glibc
#endif

/// A network's training step (forward pass with everything the backward pass needs, then the
/// backward pass to every weight's gradient) compiled once for one input shape, in fp32.
///
/// Why: layer by layer, every convolution takes NCHW tensors and reorders its input, its output
/// and its gradient into and out of oneDNN's blocked layout; at 256²/F=32 that was ~14 % of a
/// training step. Here every activation and every gradient stays in the CPU's blocked layout
/// (nChw16c with AVX-512, nChw8c with AVX2; `DNNLContext.blockWidth`) from the first
/// convolution to the head, ReLU's backward runs on the blocked buffers, and the only reorders
/// left are of the input, the logits, their gradient and the weights (which change every step).
/// The primitives are the ones the layer path runs (oneDNN's jit convolutions, forward-training
/// pooling with its argmax workspace), and dropout draws the same mask per element (a hash of
/// its NCHW index), so both paths train the same network within rounding.
///
/// Memory: the forward activations each have their own buffer (the backward pass reads them
/// all); gradients are planned like the inference graph's activations (a gradient's buffer is
/// reused once the layer that consumes it is done).
public final class CompiledTrainingGraph: @unchecked Sendable {
    public let inputShape: [Int], outputShape: [Int]
    /// "op: implementation" for every primitive (benchmarks, tests).
    public private(set) var implementations: [String] = []
    /// Bytes of the buffers the graph holds: activations kept for the backward pass (with pooling
    /// workspaces and dropout masks), and the planned gradients and temporaries.
    public private(set) var activationBytes = 0, gradientBytes = 0
    private let threads: Int
    private let weightShapes: [[Int]]
    private var dropoutCount = 0

    private enum Step {
        case exec(String, dnnl_primitive_t, [dnnl_exec_arg_t])
        case host(String, () -> Void)
    }
    private var forwardSteps: [Step] = []
    private var backwardSteps: [Step] = []
    private var memories: [dnnl_memory_t] = []
    private var pds: [dnnl_primitive_desc_t] = []
    private var primitives: [dnnl_primitive_t] = []
    private var buffers: [RawBuffer] = []

    /// Per weight: the user-side memories each step binds to the caller's tensors (forward
    /// weight and bias; the gradients), and the reorders into and out of the primitives' layouts.
    private struct WeightSlot {
        let upsampled: Bool
        let user: dnnl_memory_t          // f32 OIHW ([4·Co, Ci, 1, 1] for a transposed convolution)
        let bias: dnnl_memory_t          // the forward primitive's bias
        let biasCopy: RawBuffer?         // a transposed convolution's bias, once per window position
        let toForward: dnnl_primitive_t, forwardInner: dnnl_memory_t
        let toBackwardData: dnnl_primitive_t?, backwardDataInner: dnnl_memory_t?
        let gradInner: dnnl_memory_t, gradUser: dnnl_memory_t
        let gradBias: dnnl_memory_t
    }
    private var slots: [WeightSlot] = []
    /// A convolution's primitive descriptors: forward (training), backward-data (none for the
    /// first layer, whose input is the image), backward-weights, and ReLU's backward.
    private struct ConvPDs { let fwd: dnnl_primitive_desc_t, bwdData: dnnl_primitive_desc_t?, bwdWeights: dnnl_primitive_desc_t, relu: dnnl_primitive_desc_t? }
    private var userIn: dnnl_memory_t!, userOut: dnnl_memory_t!, userGradOut: dnnl_memory_t!
    /// Each forward's dropout keys, read by the forward steps.
    private var keys: [UInt64] = []
    /// The last forward pass's input. Where the first convolution reads NCHW itself, the graph's
    /// input value is the caller's tensor, which the backward pass reads again (backward-weights
    /// of the first layer): holding it keeps its memory from going back to the pool in between.
    private var forwardInput: Tensor?

    init?(_ g: NetworkGraph, output: Int, winograd: Bool) {
        let ctx = DNNLContext.shared
        threads = ctx.threads
        weightShapes = g.weightShapes
        inputShape = g.shapes[0]
        outputShape = g.shapes[output]
        let what = "training graph \(KernelShapes.fmt(inputShape))"
        let count = output + 1
        var dropouts = 0

        guard let bw = DNNLContext.blockWidth else { return nil }
        let layout = ActivationLayout.blocked(bw)
        func activation(_ dims: [Int]) -> dnnl_memory_desc_t { ctx.memoryDesc(dims, layout.tag, what) }
        let same = dnnlSameMD, md = dnnlQueryMD
        func keep(_ pd: dnnl_primitive_desc_t) -> dnnl_primitive_desc_t { pds.append(pd); return pd }
        var scratch = 0
        func noteScratch(_ pd: dnnl_primitive_desc_t) { scratch = max(scratch, dnnlScratchpadBytes(pd)) }
        let size = dnnlSize

        // Pass 1: descriptors of every primitive and value; nil where a value would leave `layout`.
        var mds = Array(repeating: dnnl_memory_desc_t(), count: count)
        var convs: [Int: ConvPDs] = [:]
        var pools: [Int: (fwd: dnnl_primitive_desc_t, bwd: dnnl_primitive_desc_t)] = [:]
        var zSize = 0
        /// A convolution's primitives. Winograd F(4×4, 3×3) (`KernelTuning.winograd`) pays per
        /// pass: forward and backward-data gain from 32 channels a side and lose at 16 (at 512²,
        /// 16→16: 46–61 ms against 29 ms direct per forward call), backward-weights gains at every
        /// width (16→16: 22 against 35 ms). So each pass picks its own algorithm, direct where
        /// oneDNN has no Winograd kernel.
        func convPDs(x: dnnl_memory_desc_t, xs: [Int], co: Int, k: Int, p: Int, dst: dnnl_memory_desc_t?, relu: Bool, slope: Float,
                     dataGradient: Bool) -> ConvPDs {
            let ys = [xs[0], co, xs[2] + 2 * p - k + 1, xs[3] + 2 * p - k + 1]
            let strides: [dnnl_dim_t] = [1, 1], pad = [dnnl_dim_t(p), dnnl_dim_t(p)]
            var b = ctx.memoryDesc([co], dnnl_x, what)
            let wino = winograd && k == 3, wide = min(xs[1], co) >= 32
            func forward(_ alg: dnnl_alg_kind_t, src: dnnl_memory_desc_t) -> dnnl_primitive_desc_t? {
                var s = src, wt = ctx.memoryDesc([co, xs[1], k, k], dnnl_format_tag_any, what)
                var d = dst ?? ctx.memoryDesc(ys, dnnl_format_tag_any, what)
                var fd = dnnl_convolution_desc_t()
                dnnlCheck(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, alg, &s, &wt, &b, &d, strides, pad, pad),
                          "dnnl_convolution_forward_desc_init", what)
                return dnnlPrimitiveDescIfImplemented(&fd, fuseReLU: relu, reluSlope: slope, what: what).map(keep)
            }
            let winoFwd = wino && wide ? forward(dnnl_convolution_winograd, src: x) : nil
            let fwd = winoFwd ?? forward(dnnl_convolution_direct, src: x)!
            var y = md(fwd, DNNL_ARG_DST), xs0 = md(fwd, DNNL_ARG_SRC)
            /// A backward pass with `alg`, its hint the forward primitive of the same algorithm;
            /// `gradient` the layout of the output's gradient when it is not the forward's output's.
            func backward(_ alg: dnnl_alg_kind_t, weights: Bool, gradient: dnnl_memory_desc_t? = nil) -> dnnl_primitive_desc_t? {
                guard let hint = (alg == dnnl_convolution_winograd) == (winoFwd != nil) ? fwd : forward(alg, src: xs0) else { return nil }
                var wt = ctx.memoryDesc([co, xs[1], k, k], dnnl_format_tag_any, what)
                var dy = gradient ?? y
                var d = dnnl_convolution_desc_t()
                if weights {
                    dnnlCheck(dnnl_convolution_backward_weights_desc_init(&d, alg, &xs0, &wt, &b, &dy, strides, pad, pad),
                              "dnnl_convolution_backward_weights_desc_init", what)
                } else {
                    dnnlCheck(dnnl_convolution_backward_data_desc_init(&d, alg, &xs0, &wt, &y, strides, pad, pad),
                              "dnnl_convolution_backward_data_desc_init", what)
                }
                return dnnlPrimitiveDescIfImplemented(&d, hint: hint, what: what).map(keep)
            }
            let bwdData = dataGradient ? ((wino && wide ? backward(dnnl_convolution_winograd, weights: false) : nil)
                                          ?? backward(dnnl_convolution_direct, weights: false)!) : nil
            var bwdWeights = (wino ? backward(dnnl_convolution_winograd, weights: true) : nil) ?? backward(dnnl_convolution_direct, weights: true)!
            // The image's convolution (no data gradient): oneDNN 2.6 has a jit backward-weights
            // kernel for the NCHW image against a blocked gradient only up to a few input
            // channels; at 5 (A with 2 neighbours a side) it ran its reference loop, ~8× slower
            // per epoch. With the gradient reordered to NCHW as well it runs a GEMM.
            if !dataGradient && dnnlImplementationName(bwdWeights).hasPrefix("ref"),
               let gemm = backward(dnnl_convolution_direct, weights: true, gradient: ctx.memoryDesc(ys, dnnl_nchw, what)) {
                bwdWeights = gemm
            }
            var reluPD: dnnl_primitive_desc_t?
            if relu {
                var ef = dnnl_eltwise_desc_t(), eb = dnnl_eltwise_desc_t()
                dnnlCheck(dnnl_eltwise_forward_desc_init(&ef, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd, &y, slope, 0),
                          "dnnl_eltwise_forward_desc_init", what)
                let hint = keep(dnnlPrimitiveDesc(&ef, what: what))
                dnnlCheck(dnnl_eltwise_backward_desc_init(&eb, dnnl_eltwise_relu_use_dst_for_bwd, &y, &y, slope, 0),
                          "dnnl_eltwise_backward_desc_init", what)
                reluPD = keep(dnnlPrimitiveDesc(&eb, hint: hint, what: what))
            }
            for pd in [fwd, bwdData, bwdWeights, reluPD].compactMap({ $0 }) { noteScratch(pd) }
            return ConvPDs(fwd: fwd, bwdData: bwdData, bwdWeights: bwdWeights, relu: reluPD)
        }
        var ok = true
        for i in 1..<count where ok {
            let s = g.shapes[i]
            switch g.nodes[i] {
            case .input:
                ok = false
            case .conv(let x, let wi, let k, let p, let relu, let slope):
                let src = x == 0 ? ctx.memoryDesc(inputShape, dnnl_format_tag_any, what) : mds[x]
                let c = convPDs(x: src, xs: g.shapes[x], co: g.weightShapes[wi][0], k: k, p: p, dst: i == output ? nil : activation(s),
                                relu: relu, slope: slope, dataGradient: x != 0)
                convs[i] = c
                if x == 0 { mds[0] = md(c.fwd, DNNL_ARG_SRC) }
                mds[i] = md(c.fwd, DNNL_ARG_DST)
                if i != output && !same(mds[i], activation(s)) { ok = false }
                if let bd = c.bwdData, !same(md(bd, DNNL_ARG_DIFF_SRC), mds[x]) { ok = false }
            case .pool(let x):
                var src = mds[x], dst = activation(s)
                var fd = dnnl_pooling_v2_desc_t(), bd = dnnl_pooling_v2_desc_t()
                dnnlCheck(dnnl_pooling_v2_forward_desc_init(&fd, dnnl_forward_training, dnnl_pooling_max, &src, &dst, [2, 2], [2, 2], [0, 0], [0, 0], [0, 0]),
                          "dnnl_pooling_v2_forward_desc_init", what)
                let fwd = keep(dnnlPrimitiveDesc(&fd, what: what))
                dnnlCheck(dnnl_pooling_v2_backward_desc_init(&bd, dnnl_pooling_max, &src, &dst, [2, 2], [2, 2], [0, 0], [0, 0], [0, 0]),
                          "dnnl_pooling_v2_backward_desc_init", what)
                let bwd = keep(dnnlPrimitiveDesc(&bd, hint: fwd, what: what))
                noteScratch(fwd); noteScratch(bwd)
                pools[i] = (fwd, bwd)
                mds[i] = md(fwd, DNNL_ARG_DST)
                if !same(mds[i], activation(s)) || !same(md(bwd, DNNL_ARG_DIFF_SRC), mds[x]) { ok = false }
            case .concatUpsampled(let skip, let x, let wi, _):
                let xs = g.shapes[x], co = g.weightShapes[wi][1]
                guard i != output, layout.fills(co), layout.fills(g.shapes[skip][1]), x != 0 else { ok = false; break }
                let zs = [xs[0], 4 * co, xs[2], xs[3]]
                let c = convPDs(x: mds[x], xs: xs, co: 4 * co, k: 1, p: 0, dst: activation(zs), relu: false, slope: 0, dataGradient: true)
                convs[i] = c
                zSize = max(zSize, size(activation(zs)))
                mds[i] = activation(s)
                if !same(md(c.fwd, DNNL_ARG_DST), activation(zs)) || !same(md(c.bwdData!, DNNL_ARG_DIFF_SRC), mds[x]) { ok = false }
            }
        }
        guard ok else { return nil }

        // Who reads each value, in backward order: the first to run writes its gradient, later ones add to it.
        var consumers = Array(repeating: [Int](), count: count)
        for i in 1..<count { for r in g.reads(i) { consumers[r].append(i) } }

        // Gradient plan: a value's gradient is born at its first (highest-index) consumer's backward
        // step and dies after its own; temporaries live within one step.
        var plan = BlockPlan()
        var gradBlock: [Int: Int] = [:]
        var addTemp: [Int: Int] = [:]     // per node: where a second reader (a pool into its skip) writes before adding
        var gzTemp: [Int: Int] = [:]      // per concatenation: the transposed convolution's output gradient
        gradBlock[output] = plan.allocate(size(mds[output]))
        for i in stride(from: output, through: 1, by: -1) {
            var temps: [Int] = []
            for r in g.reads(i) where r != 0 {
                if gradBlock[r] == nil {
                    gradBlock[r] = plan.allocate(size(mds[r]))
                } else {
                    precondition(addTemp[i] == nil, "CompiledTrainingGraph: node \(i) is the second reader of two values")
                    let t = plan.allocate(size(mds[r])); addTemp[i] = t; temps.append(t)
                }
            }
            if case .concatUpsampled = g.nodes[i] {
                let t = plan.allocate(zSize); temps.append(t)
                gzTemp[i] = t
            }
            for t in temps { plan.release(t) }
            plan.release(gradBlock[i]!)
        }
        let (offsets, total) = plan.layout()
        let gradArena = RawBuffer(bytes: max(total + scratch, 64))
        buffers.append(gradArena)
        gradientBytes = total + scratch
        let scratchPtr = gradArena.pointer + total

        // Pass 2: memories and primitives.
        func memory(_ md: dnnl_memory_desc_t, _ ptr: UnsafeMutableRawPointer?) -> dnnl_memory_t { self.memory(md, ptr, what) }
        func owned(_ md: dnnl_memory_desc_t, activation: Bool = false) -> (dnnl_memory_t, UnsafeMutableRawPointer) {
            self.owned(md, activation: activation, what)
        }
        func primitive(_ pd: dnnl_primitive_desc_t) -> dnnl_primitive_t { self.primitive(pd, what) }
        func reorder(_ from: dnnl_memory_desc_t, _ to: dnnl_memory_desc_t) -> dnnl_primitive_t { self.reorder(from, to, what) }
        let scratchMem = scratch > 0 ? memory(ctx.memoryDesc([scratch], dnnl_x, what, type: dnnl_u8), scratchPtr) : nil
        func exec(_ text: String, _ pd: dnnl_primitive_desc_t, _ list: [(Int32, dnnl_memory_t)]) -> Step {
            implementations.append("\(text): \(dnnlImplementationName(pd))")
            let args = list.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) } + (scratchMem.map { [dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: $0)] } ?? [])
            return .exec(text, primitive(pd), args)
        }
        func copy(_ from: dnnl_memory_t, _ to: dnnl_memory_t, _ text: String) -> Step {
            let fmd = dnnl_memory_get_memory_desc_checked(from, what), tmd = dnnl_memory_get_memory_desc_checked(to, what)
            return .exec(text, reorder(fmd, tmd), [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to)])
        }
        func gradPtr(_ v: Int) -> UnsafeMutableRawPointer { gradArena.pointer + offsets[gradBlock[v]!] }

        // Values' forward buffers (kept for the backward pass) and gradient memories.
        let userInMD = ctx.memoryDesc(inputShape, dnnl_nchw, what), userOutMD = ctx.memoryDesc(outputShape, dnnl_nchw, what)
        userIn = memory(userInMD, nil)
        userOut = memory(userOutMD, nil)
        userGradOut = memory(userOutMD, nil)
        var value: [dnnl_memory_t] = []
        var valuePtr: [UnsafeMutableRawPointer?] = []
        if same(mds[0], userInMD) {
            value.append(userIn); valuePtr.append(nil)
        } else {
            let (m, p) = owned(mds[0], activation: true)
            value.append(m); valuePtr.append(p)
            forwardSteps.append(copy(userIn, m, "input reorder"))
        }
        for i in 1..<count { let (m, p) = owned(mds[i], activation: true); value.append(m); valuePtr.append(p) }
        var grad: [Int: dnnl_memory_t] = [:]
        for (v, _) in gradBlock { grad[v] = memory(mds[v], gradPtr(v)) }
        let zBuffer = RawBuffer(bytes: max(zSize, 64))
        buffers.append(zBuffer)
        activationBytes += zBuffer.bytes

        /// The memory a reader's backward step writes the gradient of `v` into: its gradient where
        /// it is the first, else the node's temporary (added after).
        func target(_ v: Int, reader i: Int) -> (dnnl_memory_t, add: Step?) {
            if consumers[v].max() == i { return (grad[v]!, nil) }
            let t = gradArena.pointer + offsets[addTemp[i]!], dst = gradPtr(v), n = size(mds[v]) / 4
            return (memory(mds[v], t), .host("add gradient \(KernelShapes.fmt(g.shapes[v]))") { TrainingCopies.add(t, into: dst, count: n) })
        }

        for i in 1..<count {
            let s = g.shapes[i]
            switch g.nodes[i] {
            case .input: break
            case .conv(let x, let wi, _, _, let relu, _):
                let c = convs[i]!
                let text = "conv \(KernelShapes.fmt(g.weightShapes[wi])) on \(KernelShapes.fmt(g.shapes[x]))\(relu ? " + ReLU" : "")"
                let slot = addSlot(wi, c, upsampled: false, what: what)
                forwardSteps.append(exec(text, c.fwd, [(DNNL_ARG_SRC, value[x]), (DNNL_ARG_WEIGHTS, slot.forwardInner),
                                                       (DNNL_ARG_BIAS, slot.bias), (DNNL_ARG_DST, value[i])]))
                var bwd: [Step] = []
                if let r = c.relu {
                    bwd.append(exec("\(text) ReLU backward", r, [(DNNL_ARG_DST, value[i]), (DNNL_ARG_DIFF_DST, grad[i]!), (DNNL_ARG_DIFF_SRC, grad[i]!)]))
                }
                // The gradient in the layout backward-weights reads (another only for the image's
                // convolution, see `convPDs`).
                var dy = grad[i]!
                if !same(md(c.bwdWeights, DNNL_ARG_DIFF_DST), mds[i]) {
                    dy = owned(md(c.bwdWeights, DNNL_ARG_DIFF_DST)).0
                    bwd.append(copy(grad[i]!, dy, "\(text) gradient reorder"))
                }
                bwd.append(exec("\(text) backward weights", c.bwdWeights, [(DNNL_ARG_SRC, value[x]), (DNNL_ARG_DIFF_DST, dy),
                                                                             (DNNL_ARG_DIFF_WEIGHTS, slot.gradInner), (DNNL_ARG_DIFF_BIAS, slot.gradBias)]))
                bwd.append(copy(slot.gradInner, slot.gradUser, "\(text) weight gradient reorder"))
                if let bd = c.bwdData {
                    let (t, add) = target(x, reader: i)
                    bwd.append(exec("\(text) backward data", bd, [(DNNL_ARG_DIFF_DST, grad[i]!), (DNNL_ARG_WEIGHTS, slot.backwardDataInner ?? slot.forwardInner),
                                                                  (DNNL_ARG_DIFF_SRC, t)]))
                    if let add { bwd.append(add) }
                }
                backwardSteps.insert(contentsOf: bwd, at: 0)
            case .pool(let x):
                let (fwd, bwdPD) = pools[i]!
                let text = "maxPool2x2 on \(KernelShapes.fmt(g.shapes[x]))"
                let (ws, _) = owned(md(fwd, DNNL_ARG_WORKSPACE), activation: true)
                forwardSteps.append(exec(text, fwd, [(DNNL_ARG_SRC, value[x]), (DNNL_ARG_DST, value[i]), (DNNL_ARG_WORKSPACE, ws)]))
                let (t, add) = target(x, reader: i)
                var bwd = [exec("\(text) backward", bwdPD, [(DNNL_ARG_DIFF_DST, grad[i]!), (DNNL_ARG_WORKSPACE, ws), (DNNL_ARG_DIFF_SRC, t)])]
                if let add { bwd.append(add) }
                backwardSteps.insert(contentsOf: bwd, at: 0)
            case .concatUpsampled(let skip, let x, let wi, let p):
                let c = convs[i]!
                let xs = g.shapes[x], co = g.weightShapes[wi][1], cs = g.shapes[skip][1]
                let (n, h, w) = (xs[0], xs[2], xs[3])
                let text = "convTranspose2x2 \(KernelShapes.fmt(g.weightShapes[wi])) on \(KernelShapes.fmt(xs)) + concat"
                let slot = addSlot(wi, c, upsampled: true, what: what)
                let zs = [n, 4 * co, h, w]
                let z = memory(activation(zs), zBuffer.pointer)
                let out = valuePtr[i]!, skipPtr = valuePtr[skip]!, zp = zBuffer.pointer
                forwardSteps.append(exec(text, c.fwd, [(DNNL_ARG_SRC, value[x]), (DNNL_ARG_WEIGHTS, slot.forwardInner), (DNNL_ARG_BIAS, slot.bias), (DNNL_ARG_DST, z)]))
                forwardSteps.append(.host("\(text) copies") {
                    GraphCopies.copySkip(skipPtr, into: out, layout: layout, n: n, skipChannels: cs, totalChannels: cs + co, pixels: 4 * h * w, elementSize: 4)
                    GraphCopies.depthToSpace(zp, into: out, layout: layout, n: n, co: co, h: h, w: w, channelOffset: cs, totalChannels: cs + co, elementSize: 4)
                })
                var mask: UnsafeMutablePointer<UInt8>?
                if p > 0 {
                    let buf = RawBuffer(bytes: s.reduce(1, *))
                    buffers.append(buf); activationBytes += buf.bytes
                    let m = buf.pointer.assumingMemoryBound(to: UInt8.self)
                    mask = m
                    let k = dropouts
                    dropouts += 1
                    forwardSteps.append(.host("dropout \(KernelShapes.fmt(s))") { [unowned self] in
                        TrainingCopies.dropout(out, mask: m, n: s[0], c: s[1], h: s[2], w: s[3], block: bw, p: p, key: self.keys[k])
                    })
                }
                // Backward: dropout, the skip's share, then the transposed convolution's on gz.
                let gOut = gradPtr(i), elements = s.reduce(1, *)
                let gzPtr = gradArena.pointer + offsets[gzTemp[i]!]
                let gz = memory(activation(zs), gzPtr)
                var bwd: [Step] = []
                if let mask { bwd.append(.host("dropout backward \(KernelShapes.fmt(s))") { TrainingCopies.dropoutBackward(gOut, mask: mask, count: elements, p: p) }) }
                let skipFirst = consumers[skip].max() == i
                precondition(skipFirst, "CompiledTrainingGraph: a skip connection read after its concatenation")
                let gSkip = gradPtr(skip)
                bwd.append(.host("\(text) backward copies") {
                    GraphCopies.copySkip(gSkip, into: gOut, layout: layout, n: n, skipChannels: cs, totalChannels: cs + co, pixels: 4 * h * w, elementSize: 4, reverse: true)
                    GraphCopies.depthToSpace(gzPtr, into: gOut, layout: layout, n: n, co: co, h: h, w: w, channelOffset: cs, totalChannels: cs + co, elementSize: 4, reverse: true)
                })
                bwd.append(exec("\(text) backward weights", c.bwdWeights, [(DNNL_ARG_SRC, value[x]), (DNNL_ARG_DIFF_DST, gz),
                                                                             (DNNL_ARG_DIFF_WEIGHTS, slot.gradInner), (DNNL_ARG_DIFF_BIAS, slot.gradBias)]))
                bwd.append(copy(slot.gradInner, slot.gradUser, "\(text) weight gradient reorder"))
                let (t, add) = target(x, reader: i)
                bwd.append(exec("\(text) backward data", c.bwdData!, [(DNNL_ARG_DIFF_DST, gz), (DNNL_ARG_WEIGHTS, slot.backwardDataInner ?? slot.forwardInner),
                                                                      (DNNL_ARG_DIFF_SRC, t)]))
                if let add { bwd.append(add) }
                backwardSteps.insert(contentsOf: bwd, at: 0)
            }
        }
        dropoutCount = dropouts
        forwardSteps.append(copy(value[output], userOut, "output reorder"))
        backwardSteps.insert(copy(userGradOut, grad[output]!, "output gradient reorder"), at: 0)
    }

    /// A memory object on `ptr` (nil: bound later, per run), destroyed with the graph.
    private func memory(_ md: dnnl_memory_desc_t, _ ptr: UnsafeMutableRawPointer?, _ what: String) -> dnnl_memory_t {
        let ctx = DNNLContext.shared
        var m: dnnl_memory_t?, d = md
        dnnlCheck(dnnl_memory_create(&m, &d, ctx.engine, ptr ?? liverseg_dnnl_memory_none()), "dnnl_memory_create", what)
        memories.append(m!)
        return m!
    }

    /// A memory object on a buffer of its own (counted as activation memory where it is one).
    private func owned(_ md: dnnl_memory_desc_t, activation: Bool = false, _ what: String) -> (dnnl_memory_t, UnsafeMutableRawPointer) {
        let buf = RawBuffer(bytes: dnnlSize(md))
        buffers.append(buf)
        if activation { activationBytes += buf.bytes }
        return (memory(md, buf.pointer, what), buf.pointer)
    }

    private func primitive(_ pd: dnnl_primitive_desc_t, _ what: String) -> dnnl_primitive_t {
        var p: dnnl_primitive_t?
        dnnlCheck(dnnl_primitive_create(&p, pd), "dnnl_primitive_create", what)
        primitives.append(p!)
        return p!
    }

    private func reorder(_ from: dnnl_memory_desc_t, _ to: dnnl_memory_desc_t, _ what: String) -> dnnl_primitive_t {
        let ctx = DNNLContext.shared
        var pd: dnnl_primitive_desc_t?, a = from, b = to
        dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &a, ctx.engine, &b, ctx.engine, nil), "dnnl_reorder_primitive_desc_create", what)
        pds.append(pd!)
        return primitive(pd!, what)
    }

    /// The memories and reorders of weight `wi`: the forward primitive's layout, backward-data's
    /// where it differs, and the gradient's (its way back to the caller's layout is a `copy` step).
    private func addSlot(_ wi: Int, _ c: ConvPDs, upsampled: Bool, what: String) -> WeightSlot {
        let ctx = DNNLContext.shared
        let ws = weightShapes[wi]
        let md = dnnlQueryMD
        func memory(_ md: dnnl_memory_desc_t, _ ptr: UnsafeMutableRawPointer?) -> dnnl_memory_t { self.memory(md, ptr, what) }
        func owned(_ md: dnnl_memory_desc_t) -> dnnl_memory_t { self.owned(md, what).0 }
        func reorder(_ from: dnnl_memory_desc_t, _ to: dnnl_memory_desc_t) -> dnnl_primitive_t { self.reorder(from, to, what) }
        let userMD = ctx.memoryDesc(upsampled ? [4 * ws[1], ws[0], 1, 1] : ws, dnnl_oihw, what)
        let fwdMD = md(c.fwd, DNNL_ARG_WEIGHTS)
        var bdMD = c.bwdData.map { md($0, DNNL_ARG_WEIGHTS) }
        if let b = bdMD, dnnlSameMD(b, fwdMD) { bdMD = nil }
        let biasCount = upsampled ? 4 * ws[1] : ws[0]
        let biasCopy = upsampled ? RawBuffer(bytes: biasCount * 4) : nil
        if let biasCopy { buffers.append(biasCopy) }
        let slot = WeightSlot(
            upsampled: upsampled, user: memory(userMD, nil), bias: memory(md(c.fwd, DNNL_ARG_BIAS), biasCopy?.pointer),
            biasCopy: biasCopy, toForward: reorder(userMD, fwdMD), forwardInner: owned(fwdMD),
            toBackwardData: bdMD.map { reorder(userMD, $0) }, backwardDataInner: bdMD.map { owned($0) },
            gradInner: owned(md(c.bwdWeights, DNNL_ARG_DIFF_WEIGHTS)), gradUser: memory(userMD, nil),
            gradBias: memory(md(c.bwdWeights, DNNL_ARG_DIFF_BIAS), nil))
        precondition(wi == slots.count, "CompiledTrainingGraph: weights out of order")
        slots.append(slot)
        return slot
    }

    /// The logits (fp32 NCHW) for `x`, keeping what the backward pass needs. `weights` in the
    /// order the graph's layers named them (conv [Co,Ci,K,K], transposed conv [Ci,Co,2,2], each
    /// with its bias); one dropout key per dropout layer, in graph order.
    public func forward(_ x: Tensor, weights: [(weight: Tensor, bias: Tensor)], dropoutKeys: [UInt64]) -> Tensor {
        precondition(x.shape == inputShape, "CompiledTrainingGraph.forward: input \(x.shape), compiled for \(inputShape)")
        precondition(weights.count == slots.count && dropoutKeys.count == dropoutCount,
                     "CompiledTrainingGraph.forward: \(weights.count) weights and \(dropoutKeys.count) dropout keys for \(slots.count) and \(dropoutCount)")
        let y = Tensor(uninitializedShape: outputShape)
        let ctx = DNNLContext.shared
        ctx.locked {
            ctx.applyThreads()
            precondition(ctx.threads == threads, "CompiledTrainingGraph.forward: compiled for \(threads) threads, now \(ctx.threads)")
            for (i, (slot, (w, b))) in zip(slots, weights).enumerated() {
                let ws = weightShapes[i]
                precondition(w.shape == ws && b.count == (slot.upsampled ? ws[1] : ws[0]),
                             "CompiledTrainingGraph.forward: weight \(w.shape) / bias \(b.shape) for layer \(i) expecting \(ws)")
                let user = slot.upsampled ? GraphCopies.transposedAsGemm(w) : w
                setHandle(slot.user, user.readPointer)
                run(slot.toForward, [(DNNL_ARG_FROM, slot.user), (DNNL_ARG_TO, slot.forwardInner)], "weights")
                if let r = slot.toBackwardData, let m = slot.backwardDataInner { run(r, [(DNNL_ARG_FROM, slot.user), (DNNL_ARG_TO, m)], "weights") }
                if let copy = slot.biasCopy {
                    let bp = copy.pointer.assumingMemoryBound(to: Float.self), src = b.readPointer
                    for r in 0..<4 { for o in 0..<b.count { bp[r * b.count + o] = src[o] } }
                } else {
                    setHandle(slot.bias, b.readPointer)
                }
            }
            forwardInput = x
            keys = dropoutKeys
            setHandle(userIn, x.readPointer)
            setHandle(userOut, y.writePointer)
            runSteps(forwardSteps)
        }
        return y
    }

    /// Gradients of every weight and bias (in `forward`'s order and shapes) for the gradient `gy`
    /// of the last forward pass's logits.
    public func backward(_ gy: Tensor) -> [(weight: Tensor, bias: Tensor)] {
        precondition(gy.shape == outputShape, "CompiledTrainingGraph.backward: gradient \(gy.shape) for output \(outputShape)")
        precondition(forwardInput != nil, "CompiledTrainingGraph.backward: no forward pass to go back through")
        var grads: [(weight: Tensor, bias: Tensor)] = []
        let ctx = DNNLContext.shared
        ctx.locked {
            ctx.applyThreads()
            for (i, slot) in slots.enumerated() {
                let ws = weightShapes[i]
                let gw = Tensor(uninitializedShape: slot.upsampled ? [4 * ws[1], ws[0], 1, 1] : ws)
                let gb = Tensor(uninitializedShape: [slot.upsampled ? 4 * ws[1] : ws[0]])
                setHandle(slot.gradUser, gw.writePointer)
                setHandle(slot.gradBias, gb.writePointer)
                grads.append((gw, gb))
            }
            setHandle(userGradOut, gy.readPointer)
            runSteps(backwardSteps)
        }
        for (i, slot) in slots.enumerated() where slot.upsampled {
            grads[i] = GraphCopies.gemmAsTransposed(grads[i].weight.readPointer, bias: grads[i].bias.readPointer,
                                                    ci: weightShapes[i][0], co: weightShapes[i][1])
        }
        return grads
    }

    private func setHandle(_ m: dnnl_memory_t, _ p: UnsafeRawPointer) {
        dnnlCheck(dnnl_memory_set_data_handle(m, UnsafeMutableRawPointer(mutating: p)), "dnnl_memory_set_data_handle", "training graph")
    }

    private func run(_ p: dnnl_primitive_t, _ list: [(Int32, dnnl_memory_t)], _ what: String) {
        let ctx = DNNLContext.shared
        let args = list.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
        dnnlCheck(args.withUnsafeBufferPointer { dnnl_primitive_execute(p, ctx.stream, Int32($0.count), $0.baseAddress) }, "dnnl_primitive_execute", what)
        dnnlCheck(dnnl_stream_wait(ctx.stream), "dnnl_stream_wait", what)
    }

    private func runSteps(_ steps: [Step]) {
        let ctx = DNNLContext.shared
        let t0 = ctx.profiling ? monotonicSeconds() : 0
        for s in steps {
            let ts = ctx.profiling ? monotonicSeconds() : 0
            defer {
                if ctx.profiling {
                    switch s {
                    case .exec(let what, _, _), .host(let what, _): ctx.noteGraphStep(what, seconds: monotonicSeconds() - ts)
                    }
                }
            }
            switch s {
            case .host(_, let body): body()
            case .exec(let what, let p, let args):
                dnnlCheck(args.withUnsafeBufferPointer { dnnl_primitive_execute(p, ctx.stream, Int32($0.count), $0.baseAddress) }, "dnnl_primitive_execute", what)
                dnnlCheck(dnnl_stream_wait(ctx.stream), "dnnl_stream_wait", what)
            }
        }
        if ctx.profiling { ctx.primitiveSeconds += monotonicSeconds() - t0 }
    }

    deinit {
        for p in primitives { dnnl_primitive_destroy(p) }
        for m in memories { dnnl_memory_destroy(m) }
        for pd in pds { dnnl_primitive_desc_destroy(pd) }
    }
}

func dnnl_memory_get_memory_desc_checked(_ m: dnnl_memory_t, _ what: String) -> dnnl_memory_desc_t {
    var p: UnsafePointer<dnnl_memory_desc_t>?
    dnnlCheck(dnnl_memory_get_memory_desc(m, &p), "dnnl_memory_get_memory_desc", what)
    return p!.pointee
}
