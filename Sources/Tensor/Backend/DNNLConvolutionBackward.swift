import CDNNL

/// Both backward passes of a convolution with one reorder of the output gradient: it is converted
/// to the backward-weights primitive's blocked layout once, into the staging buffer, and both
/// primitives read it from there (backward-data converts further only if it wants another layout).
extension DNNLConvolution {
    /// Returns false (having done nothing) where the layout rules run either pass on NCHW; the
    /// caller then runs the two passes separately.
    static func backwardShared(_ c: Conv, x: UnsafePointer<Float>, gy: UnsafePointer<Float>, w: UnsafePointer<Float>,
                               gx: UnsafeMutablePointer<Float>, gw: UnsafeMutablePointer<Float>, gb: UnsafeMutablePointer<Float>) -> Bool {
        let ctx = DNNLContext.shared
        return ctx.locked {
            guard DNNLLayoutRule.convBackwardData(ci: c.ci, co: c.co, k: c.k) == .blocked,
                  DNNLLayoutRule.convBackwardWeights(ci: c.ci, co: c.co, k: c.k) == .blocked else { return false }
            let text = "gy \(KernelShapes.fmt(c.y)) \(c.text)"
            /// The layout backward-weights wants for gy (the weights pass gains most from it).
            func gradientMD(_ what: String) -> dnnl_memory_desc_t {
                let (pd, hint) = backwardWeightsPD(c, layout: .blocked, what: what)
                defer { dnnl_primitive_desc_destroy(pd); dnnl_primitive_desc_destroy(hint) }
                return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_DIFF_DST)!.pointee
            }
            let toBlocked = ctx.op(DNNLOpKey(kind: .convGradientToBlocked, sizes: c.sizes, layout: .blocked, threads: ctx.threads)) {
                let what = "conv2dBackward \(text) (gradient to blocked)"
                var plain = ctx.memoryDesc(c.y, dnnl_nchw, what)
                var blocked = gradientMD(what)
                var pd: dnnl_primitive_desc_t?
                dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &plain, ctx.engine, &blocked, ctx.engine, nil), "dnnl_reorder_primitive_desc_create", what)
                return DNNLOp(what: what, pd: pd!, specs: [.exact(DNNL_ARG_FROM, plain, isOutput: false), .exact(DNNL_ARG_TO, blocked, isOutput: true)])
            }
            let data = ctx.op(DNNLOpKey(kind: .convBackwardDataShared, sizes: c.sizes, layout: .blocked, threads: ctx.threads)) {
                let what = "conv2dBackwardData \(text) (shared gradient)"
                let blocked = gradientMD(what)
                let (pd, hint) = backwardDataPD(c, layout: .blocked, what: what)
                return DNNLOp(what: what, pd: pd, keepAlive: [hint], specs: [
                    .exact(DNNL_ARG_DIFF_DST, blocked, isOutput: false), .input(DNNL_ARG_WEIGHTS, c.wt, dnnl_oihw),
                    .output(DNNL_ARG_DIFF_SRC, c.x, dnnl_nchw),
                ])
            }
            let weights = ctx.op(DNNLOpKey(kind: .convBackwardWeightsShared, sizes: c.sizes, layout: .blocked, threads: ctx.threads)) {
                let what = "conv2dBackwardWeights \(text) (shared gradient)"
                let (pd, hint) = backwardWeightsPD(c, layout: .blocked, what: what)
                let blocked = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_DIFF_DST)!.pointee
                return DNNLOp(what: what, pd: pd, keepAlive: [hint], specs: [
                    .input(DNNL_ARG_SRC, c.x, dnnl_nchw), .exact(DNNL_ARG_DIFF_DST, blocked, isOutput: false),
                    .output(DNNL_ARG_DIFF_WEIGHTS, c.wt, dnnl_oihw), .output(DNNL_ARG_DIFF_BIAS, [c.co], dnnl_x),
                ])
            }
            let staged = ctx.staging(bytes: toBlocked.userBytes[1])
            toBlocked.run([UnsafeMutableRawPointer(mutating: gy), staged])
            data.run([staged, UnsafeMutableRawPointer(mutating: w), UnsafeMutableRawPointer(gx)])
            weights.run([UnsafeMutableRawPointer(mutating: x), staged, UnsafeMutableRawPointer(gw), UnsafeMutableRawPointer(gb)])
            return true
        }
    }
}
