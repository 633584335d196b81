import CDNNL

/// oneDNN convolution and deconvolution (transposed convolution) primitives behind `Kernels`.
/// Shapes are checked by `KernelShapes` before these run.
enum DNNLConvolution {
    private static func tags(_ layout: DNNLLayout, weights: dnnl_format_tag_t) -> (data: dnnl_format_tag_t, weights: dnnl_format_tag_t) {
        layout == .plain ? (dnnl_nchw, weights) : (dnnl_format_tag_any, dnnl_format_tag_any)
    }

    private static func f(_ s: [Int]) -> String { KernelShapes.fmt(s) }

    /// Sizes that define a stride-1 convolution: x [n,ci,h,w], w [co,ci,k,k], padding p.
    struct Conv: Hashable {
        let n, ci, h, w, co, k, p: Int
        var x: [Int] { [n, ci, h, w] }
        var wt: [Int] { [co, ci, k, k] }
        var y: [Int] { [n, co, h + 2 * p - k + 1, w + 2 * p - k + 1] }
        var sizes: [Int] { [n, ci, h, w, co, k, p] }
        var text: String { "x \(KernelShapes.fmt(x)) w \(KernelShapes.fmt(wt)) padding \(p)" }
    }

    /// The forward op descriptor, also the hint the backward ops need.
    /// `bf16`: source, weights and destination in bfloat16 (inference only; the bias and the
    /// accumulation stay fp32), the caller's fp32 tensors converted by the reorders.
    static func forwardPD(_ c: Conv, bias: Bool, fuseReLU: Bool, reluSlope: Float = 0, layout: DNNLLayout, what: String,
                          bf16: Bool = false) -> dnnl_primitive_desc_t {
        let ctx = DNNLContext.shared
        let t = tags(layout, weights: dnnl_oihw)
        let dt = bf16 ? dnnl_bf16 : dnnl_f32
        var src = ctx.memoryDesc(c.x, t.data, what, type: dt)
        var wt = ctx.memoryDesc(c.wt, t.weights, what, type: dt)
        var b = bias ? ctx.memoryDesc([c.co], dnnl_x, what) : dnnl_memory_desc_t()
        var dst = ctx.memoryDesc(c.y, t.data, what, type: dt)
        var d = dnnl_convolution_desc_t()
        dnnlCheck(dnnl_convolution_forward_desc_init(&d, bf16 ? dnnl_forward_inference : dnnl_forward_training,
                                                     dnnl_convolution_direct, &src, &wt, &b, &dst,
                                                     [1, 1], [dnnl_dim_t(c.p), dnnl_dim_t(c.p)], [dnnl_dim_t(c.p), dnnl_dim_t(c.p)]),
                  "dnnl_convolution_forward_desc_init", what)
        return dnnlPrimitiveDesc(&d, fuseReLU: fuseReLU, reluSlope: reluSlope, what: what)
    }

    /// `precision` .bf16 runs the convolution in bfloat16 where its layout is blocked and the CPU
    /// has native bf16 (see `Kernels.inferencePrecision`); everywhere else it runs in fp32.
    static func forward(_ c: Conv, x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>?,
                        y: UnsafeMutablePointer<Float>, fuseReLU: Bool, reluSlope: Float = 0, precision: KernelPrecision = .fp32) {
        let ctx = DNNLContext.shared
        ctx.locked {
            let layout = DNNLLayoutRule.convForward(ci: c.ci, co: c.co, k: c.k)
            let bf16 = precision == .bf16 && layout == .blocked && DNNLContext.bf16Native
            let key = DNNLOpKey(kind: .convForward, sizes: c.sizes + [b == nil ? 0 : 1, fuseReLU ? 1 : 0, Int(reluSlope.bitPattern), bf16 ? 1 : 0],
                                layout: layout, threads: ctx.threads)
            let op = ctx.op(key) {
                let what = "conv2d \(c.text)\(fuseReLU ? reluSlope > 0 ? " + leaky ReLU \(reluSlope)" : " + ReLU" : "")\(bf16 ? " (bf16)" : "")"
                let t = tags(.plain, weights: dnnl_oihw)
                var specs: [DNNLArgSpec] = [.input(DNNL_ARG_SRC, c.x, t.data), .input(DNNL_ARG_WEIGHTS, c.wt, t.weights)]
                if b != nil { specs.append(.input(DNNL_ARG_BIAS, [c.co], dnnl_x)) }
                specs.append(.output(DNNL_ARG_DST, c.y, t.data))
                return DNNLOp(what: what, pd: forwardPD(c, bias: b != nil, fuseReLU: fuseReLU, reluSlope: reluSlope, layout: layout, what: what, bf16: bf16),
                              specs: specs)
            }
            var ptrs = [UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(mutating: w)]
            if let b { ptrs.append(UnsafeMutableRawPointer(mutating: b)) }
            ptrs.append(UnsafeMutableRawPointer(y))
            op.run(ptrs)
        }
    }

    /// Backward-data primitive descriptor and the forward hint it refers to.
    static func backwardDataPD(_ c: Conv, layout: DNNLLayout, what: String) -> (dnnl_primitive_desc_t, dnnl_primitive_desc_t) {
        let ctx = DNNLContext.shared
        let hint = forwardPD(c, bias: false, fuseReLU: false, layout: layout, what: what)
        let t = tags(layout, weights: dnnl_oihw)
        var dsrc = ctx.memoryDesc(c.x, t.data, what)
        var wt = ctx.memoryDesc(c.wt, t.weights, what)
        var ddst = ctx.memoryDesc(c.y, t.data, what)
        var d = dnnl_convolution_desc_t()
        dnnlCheck(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &dsrc, &wt, &ddst,
                                                           [1, 1], [dnnl_dim_t(c.p), dnnl_dim_t(c.p)], [dnnl_dim_t(c.p), dnnl_dim_t(c.p)]),
                  "dnnl_convolution_backward_data_desc_init", what)
        return (dnnlPrimitiveDesc(&d, hint: hint, what: what), hint)
    }

    /// Backward-weights primitive descriptor and the forward hint it refers to.
    static func backwardWeightsPD(_ c: Conv, layout: DNNLLayout, what: String) -> (dnnl_primitive_desc_t, dnnl_primitive_desc_t) {
        let ctx = DNNLContext.shared
        let hint = forwardPD(c, bias: true, fuseReLU: false, layout: layout, what: what)
        let t = tags(layout, weights: dnnl_oihw)
        var src = ctx.memoryDesc(c.x, t.data, what)
        var dw = ctx.memoryDesc(c.wt, t.weights, what)
        var db = ctx.memoryDesc([c.co], dnnl_x, what)
        var ddst = ctx.memoryDesc(c.y, t.data, what)
        var d = dnnl_convolution_desc_t()
        dnnlCheck(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &src, &dw, &db, &ddst,
                                                              [1, 1], [dnnl_dim_t(c.p), dnnl_dim_t(c.p)], [dnnl_dim_t(c.p), dnnl_dim_t(c.p)]),
                  "dnnl_convolution_backward_weights_desc_init", what)
        return (dnnlPrimitiveDesc(&d, hint: hint, what: what), hint)
    }

    static func backwardData(_ c: Conv, gy: UnsafePointer<Float>, w: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>) {
        let ctx = DNNLContext.shared
        ctx.locked {
            let layout = DNNLLayoutRule.convBackwardData(ci: c.ci, co: c.co, k: c.k)
            let key = DNNLOpKey(kind: .convBackwardData, sizes: c.sizes, layout: layout, threads: ctx.threads)
            let op = ctx.op(key) {
                let what = "conv2dBackwardData gy \(f(c.y)) \(c.text)"
                let (pd, hint) = backwardDataPD(c, layout: layout, what: what)
                return DNNLOp(what: what, pd: pd, keepAlive: [hint], specs: [
                    .input(DNNL_ARG_DIFF_DST, c.y, dnnl_nchw), .input(DNNL_ARG_WEIGHTS, c.wt, dnnl_oihw),
                    .output(DNNL_ARG_DIFF_SRC, c.x, dnnl_nchw),
                ])
            }
            op.run([UnsafeMutableRawPointer(mutating: gy), UnsafeMutableRawPointer(mutating: w), UnsafeMutableRawPointer(gx)])
        }
    }

    static func backwardWeights(_ c: Conv, x: UnsafePointer<Float>, gy: UnsafePointer<Float>,
                                gw: UnsafeMutablePointer<Float>, gb: UnsafeMutablePointer<Float>) {
        let ctx = DNNLContext.shared
        ctx.locked {
            let layout = DNNLLayoutRule.convBackwardWeights(ci: c.ci, co: c.co, k: c.k)
            let key = DNNLOpKey(kind: .convBackwardWeights, sizes: c.sizes, layout: layout, threads: ctx.threads)
            let op = ctx.op(key) {
                let what = "conv2dBackwardWeights gy \(f(c.y)) \(c.text)"
                let (pd, hint) = backwardWeightsPD(c, layout: layout, what: what)
                return DNNLOp(what: what, pd: pd, keepAlive: [hint], specs: [
                    .input(DNNL_ARG_SRC, c.x, dnnl_nchw), .input(DNNL_ARG_DIFF_DST, c.y, dnnl_nchw),
                    .output(DNNL_ARG_DIFF_WEIGHTS, c.wt, dnnl_oihw), .output(DNNL_ARG_DIFF_BIAS, [c.co], dnnl_x),
                ])
            }
            op.run([UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(mutating: gy),
                    UnsafeMutableRawPointer(gw), UnsafeMutableRawPointer(gb)])
        }
    }

    // MARK: Transposed convolution 2×2, stride 2

    /// x [n,ci,h,w] → y [n,co,2h,2w]. oneDNN's deconvolution weights are logically (Co, Ci, 2, 2);
    /// PyTorch's [Ci,Co,2,2] is their `iohw` layout, so no copy is needed.
    struct Deconv: Hashable {
        let n, ci, h, w, co: Int
        var x: [Int] { [n, ci, h, w] }
        var wt: [Int] { [co, ci, 2, 2] }
        var wtTorch: [Int] { [ci, co, 2, 2] }
        var y: [Int] { [n, co, 2 * h, 2 * w] }
        var sizes: [Int] { [n, ci, h, w, co] }
        var text: String { "x \(KernelShapes.fmt(x)) w \(KernelShapes.fmt(wtTorch))" }
    }

    private static func deconvForwardPD(_ c: Deconv, bias: Bool, layout: DNNLLayout, what: String) -> dnnl_primitive_desc_t {
        let ctx = DNNLContext.shared
        let t = tags(layout, weights: dnnl_iohw)
        var src = ctx.memoryDesc(c.x, t.data, what)
        var wt = ctx.memoryDesc(c.wt, t.weights, what)
        var b = bias ? ctx.memoryDesc([c.co], dnnl_x, what) : dnnl_memory_desc_t()
        var dst = ctx.memoryDesc(c.y, t.data, what)
        var d = dnnl_deconvolution_desc_t()
        dnnlCheck(dnnl_deconvolution_forward_desc_init(&d, dnnl_forward_training, dnnl_deconvolution_direct, &src, &wt, &b, &dst,
                                                       [2, 2], [0, 0], [0, 0]),
                  "dnnl_deconvolution_forward_desc_init", what)
        return dnnlPrimitiveDesc(&d, what: what)
    }

    static func deconvForward(_ c: Deconv, x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>?,
                              y: UnsafeMutablePointer<Float>) {
        let ctx = DNNLContext.shared
        ctx.locked {
            let layout = DNNLLayoutRule.deconvForward(ci: c.ci, co: c.co)
            let key = DNNLOpKey(kind: .deconvForward, sizes: c.sizes + [b == nil ? 0 : 1], layout: layout, threads: ctx.threads)
            let op = ctx.op(key) {
                let what = "convTranspose2x2 \(c.text)"
                var specs: [DNNLArgSpec] = [.input(DNNL_ARG_SRC, c.x, dnnl_nchw), .input(DNNL_ARG_WEIGHTS, c.wt, dnnl_iohw)]
                if b != nil { specs.append(.input(DNNL_ARG_BIAS, [c.co], dnnl_x)) }
                specs.append(.output(DNNL_ARG_DST, c.y, dnnl_nchw))
                return DNNLOp(what: what, pd: deconvForwardPD(c, bias: b != nil, layout: layout, what: what), specs: specs)
            }
            var ptrs = [UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(mutating: w)]
            if let b { ptrs.append(UnsafeMutableRawPointer(mutating: b)) }
            ptrs.append(UnsafeMutableRawPointer(y))
            op.run(ptrs)
        }
    }

    static func deconvBackwardData(_ c: Deconv, gy: UnsafePointer<Float>, w: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>) {
        let ctx = DNNLContext.shared
        ctx.locked {
            let layout = DNNLLayoutRule.deconvBackwardData(ci: c.ci, co: c.co)
            let key = DNNLOpKey(kind: .deconvBackwardData, sizes: c.sizes, layout: layout, threads: ctx.threads)
            let op = ctx.op(key) {
                let what = "convTranspose2x2BackwardData gy \(f(c.y)) \(c.text)"
                let hint = deconvForwardPD(c, bias: false, layout: layout, what: what)
                let t = tags(layout, weights: dnnl_iohw)
                var dsrc = ctx.memoryDesc(c.x, t.data, what)
                var wt = ctx.memoryDesc(c.wt, t.weights, what)
                var ddst = ctx.memoryDesc(c.y, t.data, what)
                var d = dnnl_deconvolution_desc_t()
                dnnlCheck(dnnl_deconvolution_backward_data_desc_init(&d, dnnl_deconvolution_direct, &dsrc, &wt, &ddst, [2, 2], [0, 0], [0, 0]),
                          "dnnl_deconvolution_backward_data_desc_init", what)
                let pd = dnnlPrimitiveDesc(&d, hint: hint, what: what)
                return DNNLOp(what: what, pd: pd, keepAlive: [hint], specs: [
                    .input(DNNL_ARG_DIFF_DST, c.y, dnnl_nchw), .input(DNNL_ARG_WEIGHTS, c.wt, dnnl_iohw),
                    .output(DNNL_ARG_DIFF_SRC, c.x, dnnl_nchw),
                ])
            }
            op.run([UnsafeMutableRawPointer(mutating: gy), UnsafeMutableRawPointer(mutating: w), UnsafeMutableRawPointer(gx)])
        }
    }

    static func deconvBackwardWeights(_ c: Deconv, x: UnsafePointer<Float>, gy: UnsafePointer<Float>,
                                      gw: UnsafeMutablePointer<Float>, gb: UnsafeMutablePointer<Float>) {
        let ctx = DNNLContext.shared
        ctx.locked {
            let layout = DNNLLayoutRule.deconvBackwardWeights(ci: c.ci, co: c.co)
            let key = DNNLOpKey(kind: .deconvBackwardWeights, sizes: c.sizes, layout: layout, threads: ctx.threads)
            let op = ctx.op(key) {
                let what = "convTranspose2x2BackwardWeights gy \(f(c.y)) \(c.text)"
                let hint = deconvForwardPD(c, bias: true, layout: layout, what: what)
                let t = tags(layout, weights: dnnl_iohw)
                var src = ctx.memoryDesc(c.x, t.data, what)
                var dw = ctx.memoryDesc(c.wt, t.weights, what)
                var db = ctx.memoryDesc([c.co], dnnl_x, what)
                var ddst = ctx.memoryDesc(c.y, t.data, what)
                var d = dnnl_deconvolution_desc_t()
                dnnlCheck(dnnl_deconvolution_backward_weights_desc_init(&d, dnnl_deconvolution_direct, &src, &dw, &db, &ddst, [2, 2], [0, 0], [0, 0]),
                          "dnnl_deconvolution_backward_weights_desc_init", what)
                let pd = dnnlPrimitiveDesc(&d, hint: hint, what: what)
                return DNNLOp(what: what, pd: pd, keepAlive: [hint], specs: [
                    .input(DNNL_ARG_SRC, c.x, dnnl_nchw), .input(DNNL_ARG_DIFF_DST, c.y, dnnl_nchw),
                    .output(DNNL_ARG_DIFF_WEIGHTS, c.wt, dnnl_iohw), .output(DNNL_ARG_DIFF_BIAS, [c.co], dnnl_x),
                ])
            }
            op.run([UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(mutating: gy),
                    UnsafeMutableRawPointer(gw), UnsafeMutableRawPointer(gb)])
        }
    }
}

// MARK: Two convolutions in a row (inference)

extension DNNLConvolution {
    /// y = conv2(conv1(x)) for two blocked convolutions (both with bias, each optionally with
    /// ReLU), with the intermediate kept in the first primitive's own (blocked, in bf16 also
    /// bf16) layout in the staging buffer: one reorder of x in and one of y out instead of four.
    /// Returns false (having done nothing) where either convolution is not blocked.
    static func forwardPair(_ c1: Conv, _ c2: Conv, x: UnsafePointer<Float>,
                            w1: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                            w2: UnsafePointer<Float>, b2: UnsafePointer<Float>,
                            y: UnsafeMutablePointer<Float>, relu: Bool, reluSlope: Float = 0, precision: KernelPrecision) -> Bool {
        let ctx = DNNLContext.shared
        return ctx.locked {
            guard DNNLLayoutRule.convForward(ci: c1.ci, co: c1.co, k: c1.k) == .blocked,
                  DNNLLayoutRule.convForward(ci: c2.ci, co: c2.co, k: c2.k) == .blocked,
                  KernelTuning.convLayout == .auto, KernelTuning.convPairs else { return false }
            let bf16 = precision == .bf16 && DNNLContext.bf16Native
            let sizes = c1.sizes + c2.sizes + [relu ? 1 : 0, Int(reluSlope.bitPattern), bf16 ? 1 : 0]
            let suffix = "\(relu ? reluSlope > 0 ? " + leaky ReLU \(reluSlope)" : " + ReLU" : "")\(bf16 ? " (bf16)" : "")"
            func mid(_ what: String) -> dnnl_memory_desc_t {
                let pd = forwardPD(c1, bias: true, fuseReLU: relu, reluSlope: reluSlope, layout: .blocked, what: what, bf16: bf16)
                defer { dnnl_primitive_desc_destroy(pd) }
                return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_DST)!.pointee
            }
            let first = ctx.op(DNNLOpKey(kind: .convForwardPairFirst, sizes: sizes, layout: .blocked, threads: ctx.threads)) {
                let what = "conv2d \(c1.text)\(suffix) (pair, blocked output)"
                return DNNLOp(what: what, pd: forwardPD(c1, bias: true, fuseReLU: relu, reluSlope: reluSlope, layout: .blocked, what: what, bf16: bf16), specs: [
                    .input(DNNL_ARG_SRC, c1.x, dnnl_nchw), .input(DNNL_ARG_WEIGHTS, c1.wt, dnnl_oihw),
                    .input(DNNL_ARG_BIAS, [c1.co], dnnl_x), .exact(DNNL_ARG_DST, mid(what), isOutput: true),
                ])
            }
            let second = ctx.op(DNNLOpKey(kind: .convForwardPairSecond, sizes: sizes, layout: .blocked, threads: ctx.threads)) {
                let what = "conv2d \(c2.text)\(suffix) (pair, blocked input)"
                return DNNLOp(what: what, pd: forwardPD(c2, bias: true, fuseReLU: relu, reluSlope: reluSlope, layout: .blocked, what: what, bf16: bf16), specs: [
                    .exact(DNNL_ARG_SRC, mid(what), isOutput: false), .input(DNNL_ARG_WEIGHTS, c2.wt, dnnl_oihw),
                    .input(DNNL_ARG_BIAS, [c2.co], dnnl_x), .output(DNNL_ARG_DST, c2.y, dnnl_nchw),
                ])
            }
            let staged = ctx.staging(bytes: first.userBytes[3])
            first.run([UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(mutating: w1),
                       UnsafeMutableRawPointer(mutating: b1), staged])
            second.run([staged, UnsafeMutableRawPointer(mutating: w2), UnsafeMutableRawPointer(mutating: b2),
                        UnsafeMutableRawPointer(y)])
            return true
        }
    }
}
