import CDNNL

/// The 2×2 stride-2 transposed convolution as what it is: windows do not overlap, so
/// y[n,o,2i+a,2j+b] = b[o] + Σ_c w[c,o,a,b]·x[n,c,i,j] is a 1×1 convolution from Ci to 4·Co
/// channels (channel o·4+a·2+b; PyTorch's [Ci,Co,2,2] weight is that convolution's weight in
/// `iohw` order) followed by a depth-to-space move of each channel quadruple into its 2×2 window.
/// Both steps are oneDNN primitives: the convolution (a GEMM on NCHW) and a reorder between two
/// strided 6-D views, [N,Co,2,2,H,W] over z (dense) and over y (interleaved).
extension DNNLConvolution {
    static func deconvForwardGemm(_ c: Deconv, x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>?,
                                  y: UnsafeMutablePointer<Float>) {
        let ctx = DNNLContext.shared
        let conv = Conv(n: c.n, ci: c.ci, h: c.h, w: c.w, co: 4 * c.co, k: 1, p: 0)
        ctx.locked {
            let gemmKey = DNNLOpKey(kind: .deconvForwardGemm, sizes: c.sizes + [b == nil ? 0 : 1], layout: .plain, threads: ctx.threads)
            let gemm = ctx.op(gemmKey) {
                let what = "convTranspose2x2 \(c.text) (1×1 convolution to \(4 * c.co) channels)"
                var specs: [DNNLArgSpec] = [.input(DNNL_ARG_SRC, conv.x, dnnl_nchw), .input(DNNL_ARG_WEIGHTS, conv.wt, dnnl_iohw)]
                if b != nil { specs.append(.input(DNNL_ARG_BIAS, [conv.co], dnnl_x)) }
                specs.append(.output(DNNL_ARG_DST, conv.y, dnnl_nchw))
                return DNNLOp(what: what, pd: forwardPD(conv, bias: b != nil, fuseReLU: false, layout: .plain, what: what), specs: specs)
            }
            let shuffleKey = DNNLOpKey(kind: .depthToSpace2x2, sizes: [c.n, c.co, c.h, c.w], layout: .plain, threads: ctx.threads)
            let shuffle = ctx.op(shuffleKey) { depthToSpace(c) }
            let z = ctx.staging(bytes: c.n * 4 * c.co * c.h * c.w * MemoryLayout<Float>.stride)
            if let b {
                // Each output channel's bias serves its four window positions.
                let b4 = (0..<(4 * c.co)).map { b[$0 / 4] }
                b4.withUnsafeBufferPointer { bp in
                    gemm.run([UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(mutating: w),
                              UnsafeMutableRawPointer(mutating: bp.baseAddress!), z])
                }
            } else {
                gemm.run([UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(mutating: w), z])
            }
            shuffle.run([z, UnsafeMutableRawPointer(y)])
        }
    }

    /// Reorder z [N, Co·4, H, W] (channel o·4+a·2+b) → y [N, Co, 2H, 2W].
    private static func depthToSpace(_ c: Deconv) -> DNNLOp {
        let ctx = DNNLContext.shared
        let what = "convTranspose2x2 \(c.text) (depth-to-space)"
        let (n, co, h, w) = (c.n, c.co, c.h, c.w)
        let dims: [dnnl_dim_t] = [n, co, 2, 2, h, w].map { dnnl_dim_t($0) }
        let hw = h * w
        let zStrides: [dnnl_dim_t] = [4 * co * hw, 4 * hw, 2 * hw, hw, w, 1].map { dnnl_dim_t($0) }
        let yStrides: [dnnl_dim_t] = [4 * co * hw, 4 * hw, 2 * w, 1, 4 * w, 2].map { dnnl_dim_t($0) }
        var zmd = dnnl_memory_desc_t(), ymd = dnnl_memory_desc_t()
        dnnlCheck(dnnl_memory_desc_init_by_strides(&zmd, 6, dims, dnnl_f32, zStrides), "dnnl_memory_desc_init_by_strides", what)
        dnnlCheck(dnnl_memory_desc_init_by_strides(&ymd, 6, dims, dnnl_f32, yStrides), "dnnl_memory_desc_init_by_strides", what)
        var attr: dnnl_primitive_attr_t?
        dnnlCheck(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create", what)
        defer { dnnl_primitive_attr_destroy(attr) }
        dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "dnnl_primitive_attr_set_scratchpad_mode", what)
        var pd: dnnl_primitive_desc_t?
        dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &zmd, ctx.engine, &ymd, ctx.engine, attr), "dnnl_reorder_primitive_desc_create", what)
        return DNNLOp(what: what, pd: pd!, specs: [.exact(DNNL_ARG_FROM, zmd, isOutput: false), .exact(DNNL_ARG_TO, ymd, isOutput: true)])
    }
}
