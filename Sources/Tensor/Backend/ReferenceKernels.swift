/// Plain-Swift loops with the semantics of `Kernels` (PyTorch's conventions), accumulating in Double.
/// They are the independent reference the oneDNN kernels are tested against, and they work where
/// oneDNN is unavailable. Slow: meant for small shapes.
public enum ReferenceKernels {
    public static func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, padding: Int, fuseReLU: Bool = false, reluSlope: Float = 0) -> Tensor {
        let ys = KernelShapes.conv2d(x: x.shape, w: w.shape, b: b?.shape, padding: padding)
        let (n, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, k, ho, wo) = (ys[1], w.shape[2], ys[2], ys[3])
        let y = Tensor(uninitializedShape: ys)
        let xp = x.readPointer, wp = w.readPointer, yp = y.writePointer
        let bp = b?.readPointer
        for in_ in 0..<n {
            for o in 0..<co {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var acc = Double(bp?[o] ?? 0)
                        for c in 0..<ci {
                            for ky in 0..<k {
                                let iy = oy + ky - padding
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<k {
                                    let ix = ox + kx - padding
                                    if ix < 0 || ix >= wd { continue }
                                    acc += Double(xp[((in_ * ci + c) * h + iy) * wd + ix])
                                        * Double(wp[((o * ci + c) * k + ky) * k + kx])
                                }
                            }
                        }
                        if fuseReLU && acc < 0 { acc *= Double(reluSlope) }
                        yp[((in_ * co + o) * ho + oy) * wo + ox] = Float(acc)
                    }
                }
            }
        }
        return y
    }

    public static func conv2dBackwardData(_ gy: Tensor, _ w: Tensor, inputShape: [Int], padding: Int) -> Tensor {
        KernelShapes.conv2dBackwardData(gy: gy.shape, w: w.shape, inputShape: inputShape, padding: padding)
        let (n, ci, h, wd) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (co, k, ho, wo) = (w.shape[0], w.shape[2], gy.shape[2], gy.shape[3])
        var acc = [Double](repeating: 0, count: n * ci * h * wd)
        let gp = gy.readPointer, wp = w.readPointer
        for in_ in 0..<n {
            for o in 0..<co {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let g = Double(gp[((in_ * co + o) * ho + oy) * wo + ox])
                        for c in 0..<ci {
                            for ky in 0..<k {
                                let iy = oy + ky - padding
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<k {
                                    let ix = ox + kx - padding
                                    if ix < 0 || ix >= wd { continue }
                                    acc[((in_ * ci + c) * h + iy) * wd + ix] += g * Double(wp[((o * ci + c) * k + ky) * k + kx])
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: inputShape, values: acc.map { Float($0) })
    }

    public static func conv2dBackwardWeights(_ x: Tensor, _ gy: Tensor, kernel: Int, padding: Int) -> (dw: Tensor, db: Tensor) {
        let ws = KernelShapes.conv2dBackwardWeights(x: x.shape, gy: gy.shape, kernel: kernel, padding: padding)
        let (n, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, k, ho, wo) = (ws[0], kernel, gy.shape[2], gy.shape[3])
        var dw = [Double](repeating: 0, count: co * ci * k * k)
        var db = [Double](repeating: 0, count: co)
        let xp = x.readPointer, gp = gy.readPointer
        for in_ in 0..<n {
            for o in 0..<co {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let g = Double(gp[((in_ * co + o) * ho + oy) * wo + ox])
                        db[o] += g
                        for c in 0..<ci {
                            for ky in 0..<k {
                                let iy = oy + ky - padding
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<k {
                                    let ix = ox + kx - padding
                                    if ix < 0 || ix >= wd { continue }
                                    dw[((o * ci + c) * k + ky) * k + kx] += g * Double(xp[((in_ * ci + c) * h + iy) * wd + ix])
                                }
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(shape: ws, values: dw.map { Float($0) }), Tensor(shape: [co], values: db.map { Float($0) }))
    }

    /// y[n,o,2i+a,2j+b] = bias[o] + Σ_c x[n,c,i,j] · w[c,o,a,b] (windows do not overlap at stride 2).
    public static func convTranspose2x2(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
        let ys = KernelShapes.convTranspose2x2(x: x.shape, w: w.shape, b: b?.shape)
        let (n, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let co = ys[1]
        let y = Tensor(uninitializedShape: ys)
        let xp = x.readPointer, wp = w.readPointer, yp = y.writePointer
        let bp = b?.readPointer
        for in_ in 0..<n {
            for o in 0..<co {
                for i in 0..<h {
                    for j in 0..<wd {
                        for a in 0..<2 {
                            for bb in 0..<2 {
                                var acc = Double(bp?[o] ?? 0)
                                for c in 0..<ci {
                                    acc += Double(xp[((in_ * ci + c) * h + i) * wd + j]) * Double(wp[((c * co + o) * 2 + a) * 2 + bb])
                                }
                                yp[((in_ * co + o) * 2 * h + 2 * i + a) * 2 * wd + 2 * j + bb] = Float(acc)
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    public static func convTranspose2x2BackwardData(_ gy: Tensor, _ w: Tensor, inputShape: [Int]) -> Tensor {
        KernelShapes.convTranspose2x2BackwardData(gy: gy.shape, w: w.shape, inputShape: inputShape)
        let (n, ci, h, wd) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let co = w.shape[1]
        let gx = Tensor(uninitializedShape: inputShape)
        let gp = gy.readPointer, wp = w.readPointer, xp = gx.writePointer
        for in_ in 0..<n {
            for c in 0..<ci {
                for i in 0..<h {
                    for j in 0..<wd {
                        var acc = 0.0
                        for o in 0..<co {
                            for a in 0..<2 {
                                for bb in 0..<2 {
                                    acc += Double(gp[((in_ * co + o) * 2 * h + 2 * i + a) * 2 * wd + 2 * j + bb]) * Double(wp[((c * co + o) * 2 + a) * 2 + bb])
                                }
                            }
                        }
                        xp[((in_ * ci + c) * h + i) * wd + j] = Float(acc)
                    }
                }
            }
        }
        return gx
    }

    public static func convTranspose2x2BackwardWeights(_ x: Tensor, _ gy: Tensor) -> (dw: Tensor, db: Tensor) {
        let ws = KernelShapes.convTranspose2x2BackwardWeights(x: x.shape, gy: gy.shape)
        let (n, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let co = ws[1]
        var dw = [Double](repeating: 0, count: ci * co * 4)
        var db = [Double](repeating: 0, count: co)
        let xp = x.readPointer, gp = gy.readPointer
        for in_ in 0..<n {
            for o in 0..<co {
                for i in 0..<h {
                    for j in 0..<wd {
                        for a in 0..<2 {
                            for bb in 0..<2 {
                                let g = Double(gp[((in_ * co + o) * 2 * h + 2 * i + a) * 2 * wd + 2 * j + bb])
                                db[o] += g
                                for c in 0..<ci {
                                    dw[((c * co + o) * 2 + a) * 2 + bb] += g * Double(xp[((in_ * ci + c) * h + i) * wd + j])
                                }
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(shape: ws, values: dw.map { Float($0) }), Tensor(shape: [co], values: db.map { Float($0) }))
    }

    /// Ties go to the first maximum in raster order of the window (as PyTorch).
    public static func maxPool2x2(_ x: Tensor) -> (y: Tensor, state: MaxPoolState) {
        let ys = KernelShapes.maxPool2x2(x: x.shape)
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (ho, wo) = (ys[2], ys[3])
        let y = Tensor(uninitializedShape: ys)
        var argmax = [Int](repeating: 0, count: n * c * ho * wo)
        let xp = x.readPointer, yp = y.writePointer
        for plane in 0..<(n * c) {
            for i in 0..<ho {
                for j in 0..<wo {
                    var best = plane * h * wd + 2 * i * wd + 2 * j
                    for (a, bb) in [(0, 1), (1, 0), (1, 1)] {
                        let idx = plane * h * wd + (2 * i + a) * wd + 2 * j + bb
                        // NaN propagates, as in PyTorch.
                        if xp[idx] > xp[best] || xp[idx].isNaN && !xp[best].isNaN { best = idx }
                    }
                    let o = (plane * ho + i) * wo + j
                    yp[o] = xp[best]
                    argmax[o] = best
                }
            }
        }
        return (y, MaxPoolState(inputShape: x.shape, outputShape: ys, record: .argmax(argmax)))
    }

    public static func maxPool2x2Backward(_ gy: Tensor, state: MaxPoolState) -> Tensor {
        KernelShapes.maxPool2x2Backward(gy: gy.shape, state: state)
        guard case .argmax(let argmax) = state.record else {
            fatalError("maxPool2x2Backward: state \(KernelShapes.fmt(state.inputShape)) comes from Kernels.maxPool2x2, not ReferenceKernels.maxPool2x2")
        }
        var gx = Tensor(shape: state.inputShape, repeating: 0)
        let gp = gy.readPointer
        gx.withUnsafeMutableBufferPointer { p in
            for o in 0..<argmax.count { p[argmax[o]] += gp[o] }
        }
        return gx
    }
}
