import CDNNL

/// oneDNN 2×2 stride-2 max pooling (pooling v2: forward training with a workspace, backward, and
/// forward inference without one).
/// Plain NCHW in both layout policies: pooling is memory-bound, a reorder would cost as much.
enum DNNLPooling {
    /// Blocked: the CPU's block (`DNNLContext.blockWidth`), NCHW where oneDNN has none.
    private static func tag(_ layout: DNNLLayout) -> dnnl_format_tag_t {
        guard layout == .blocked, let native = ActivationLayout.native else { return dnnl_nchw }
        return native.tag
    }

    private static func forwardPD(x: [Int], y: [Int], layout: DNNLLayout, kind: dnnl_prop_kind_t = dnnl_forward_training,
                                  what: String) -> dnnl_primitive_desc_t {
        let ctx = DNNLContext.shared
        var src = ctx.memoryDesc(x, tag(layout), what)
        var dst = ctx.memoryDesc(y, tag(layout), what)
        var d = dnnl_pooling_v2_desc_t()
        // padding_r 0 with floor output sizes: an odd last row/column is dropped, as in PyTorch.
        dnnlCheck(dnnl_pooling_v2_forward_desc_init(&d, kind, dnnl_pooling_max, &src, &dst,
                                                    [2, 2], [2, 2], [0, 0], [0, 0], [0, 0]),
                  "dnnl_pooling_v2_forward_desc_init", what)
        return dnnlPrimitiveDesc(&d, what: what)
    }

    /// Forward pooling; for training it returns the workspace (a byte per output, the argmax)
    /// for the backward pass. Without a gradient to come there is none to write or allocate:
    /// 1.4x faster at [4,16,512,512] (18 ms against 25 ms a call in
    /// `LIVERSEG_KERNEL_PROFILE=1 liverseg bench unet --size 512 --filters 16`, session 8).
    static func forward(x: [Int], y: [Int], xp: UnsafePointer<Float>, yp: UnsafeMutablePointer<Float>, training: Bool) -> MaxPoolState? {
        let ctx = DNNLContext.shared
        return ctx.locked {
            let layout = DNNLLayoutRule.pool()
            let key = DNNLOpKey(kind: training ? .poolForward : .poolForwardInference, sizes: x, layout: layout, threads: ctx.threads)
            let op = ctx.op(key) {
                let what = "maxPool2x2 x \(KernelShapes.fmt(x))" + (training ? "" : " (inference)")
                let pd = forwardPD(x: x, y: y, layout: layout, kind: training ? dnnl_forward_training : dnnl_forward_inference, what: what)
                return DNNLOp(what: what, pd: pd, specs: [.input(DNNL_ARG_SRC, x, dnnl_nchw), .output(DNNL_ARG_DST, y, dnnl_nchw)]
                                                         + (training ? [.opaque(DNNL_ARG_WORKSPACE)] : []))
            }
            let io = [UnsafeMutableRawPointer(mutating: xp), UnsafeMutableRawPointer(yp)]
            guard training else { op.run(io); return nil }
            // The workspace outlives this call (until the backward pass), so it is the state's own.
            let ws = RawBuffer(bytes: op.opaqueBytes[0])
            op.run(io + [ws.pointer])
            return MaxPoolState(inputShape: x, outputShape: y, record: .workspace(ws), layout: layout)
        }
    }

    static func backward(state: MaxPoolState, ws: RawBuffer, gyp: UnsafePointer<Float>, gxp: UnsafeMutablePointer<Float>) {
        let ctx = DNNLContext.shared
        let x = state.inputShape, y = state.outputShape
        ctx.locked {
            // The workspace's layout follows the forward primitive's.
            let layout = state.layout
            let key = DNNLOpKey(kind: .poolBackward, sizes: x, layout: layout, threads: ctx.threads)
            let op = ctx.op(key) {
                let what = "maxPool2x2Backward gy \(KernelShapes.fmt(y)) x \(KernelShapes.fmt(x))"
                let hint = forwardPD(x: x, y: y, layout: layout, what: what)
                var dsrc = ctx.memoryDesc(x, tag(layout), what)
                var ddst = ctx.memoryDesc(y, tag(layout), what)
                var d = dnnl_pooling_v2_desc_t()
                dnnlCheck(dnnl_pooling_v2_backward_desc_init(&d, dnnl_pooling_max, &dsrc, &ddst, [2, 2], [2, 2], [0, 0], [0, 0], [0, 0]),
                          "dnnl_pooling_v2_backward_desc_init", what)
                let pd = dnnlPrimitiveDesc(&d, hint: hint, what: what)
                return DNNLOp(what: what, pd: pd, keepAlive: [hint], specs: [
                    .input(DNNL_ARG_DIFF_DST, y, dnnl_nchw), .opaque(DNNL_ARG_WORKSPACE), .output(DNNL_ARG_DIFF_SRC, x, dnnl_nchw),
                ])
            }
            kernelCheck(op.opaqueBytes[0] <= ws.bytes, "maxPool2x2Backward: workspace of \(ws.bytes) bytes is smaller than the \(op.opaqueBytes[0]) oneDNN expects for x \(KernelShapes.fmt(x))")
            op.run([UnsafeMutableRawPointer(mutating: gyp), ws.pointer, UnsafeMutableRawPointer(gxp)])
        }
    }
}
