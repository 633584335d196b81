import Tensor

extension Ops {
    /// Batch normalization over N, H, W per channel. In training it normalizes with the
    /// batch's statistics and updates the running ones (PyTorch semantics: biased variance
    /// to normalize, unbiased in the running estimate); in evaluation it uses the running ones.
    /// Channels run in parallel: each is its own sums over N·H·W (one thread per channel
    /// range; the batch's statistics, the running ones and the gradients are written per
    /// channel only).
    public static func batchNorm(_ x: Variable, gamma: Variable, beta: Variable,
                                 runningMean: Variable, runningVar: Variable,
                                 training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Variable {
        let s = x.value.shape
        precondition(s.count == 4 && gamma.value.shape == [s[1]],
                     "batchNorm: input \(s) needs gamma of shape [\(s.count == 4 ? s[1] : -1)], got \(gamma.value.shape)")
        let (n, c, hw) = (s[0], s[1], s[2] * s[3])
        let m = n * hw
        // Enough channels per chunk that a chunk is worth a thread (parallelFor's unit is work items).
        let minChannels = max(1, (1 << 16) / max(1, m))
        let stats = Tensor(uninitializedShape: [2, c])       // mean, then 1/σ
        let mean = stats.writePointer, invStd = stats.writePointer + c
        let src = x.value.readPointer
        if training {
            precondition(m > 1, "batchNorm: training needs more than one value per channel, got input \(s)")
            runningMean.value.makeUnique(); runningVar.value.makeUnique()
            let rm = runningMean.value.writePointer, rv = runningVar.value.writePointer
            parallelFor(c, minChunk: minChannels) { r in
                for ch in r {
                    var sum = 0.0, sq = 0.0
                    for b in 0..<n {
                        let base = src + (b * c + ch) * hw
                        for i in 0..<hw { let v = Double(base[i]); sum += v; sq += v * v }
                    }
                    let mu = sum / Double(m)
                    let variance = max(sq / Double(m) - mu * mu, 0)
                    mean[ch] = Float(mu)
                    invStd[ch] = Float(1 / (variance + Double(eps)).squareRoot())
                    rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(mu)
                    rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(variance * Double(m) / Double(m - 1))
                }
            }
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean.value[flat: ch]
                invStd[ch] = 1 / (runningVar.value[flat: ch] + eps).squareRoot()
            }
        }
        let y = Tensor(uninitializedShape: s)
        let xhat = Tensor(uninitializedShape: s)
        let g = gamma.value.readPointer, bt = beta.value.readPointer
        let dst = y.writePointer, xh = xhat.writePointer
        parallelFor(c, minChunk: minChannels) { r in
            for ch in r {
                let mu = mean[ch], inv = invStd[ch], gg = g[ch], bb = bt[ch]
                for b in 0..<n {
                    let o = (b * c + ch) * hw
                    for i in 0..<hw {
                        let h = (src[o + i] - mu) * inv
                        xh[o + i] = h
                        dst[o + i] = gg * h + bb
                    }
                }
            }
        }
        let gammaValue = gamma.value
        return Variable(y, parents: [x, gamma, beta]) { [xhat, stats] gy in
            let gp = gy.readPointer, xh = xhat.readPointer, invStd = stats.readPointer + c
            let dgamma = Tensor(shape: [c]), dbeta = Tensor(shape: [c])
            let dg = dgamma.writePointer, db = dbeta.writePointer
            let gx = Tensor(uninitializedShape: s)
            let gxp = gx.writePointer, gam = gammaValue.readPointer
            parallelFor(c, minChunk: minChannels) { r in
                for ch in r {
                    var sg = 0.0, sgx = 0.0
                    for b in 0..<n {
                        let o = (b * c + ch) * hw
                        for i in 0..<hw { sg += Double(gp[o + i]); sgx += Double(gp[o + i]) * Double(xh[o + i]) }
                    }
                    db[ch] = Float(sg); dg[ch] = Float(sgx)
                    let k = gam[ch] * invStd[ch]
                    for b in 0..<n {
                        let o = (b * c + ch) * hw
                        if training {
                            // dx = γ/σ · (gy − mean(gy) − x̂·mean(gy·x̂))
                            let mg = db[ch] / Float(m), mgx = dg[ch] / Float(m)
                            for i in 0..<hw { gxp[o + i] = k * (gp[o + i] - mg - xh[o + i] * mgx) }
                        } else {
                            for i in 0..<hw { gxp[o + i] = k * gp[o + i] }
                        }
                    }
                }
            }
            return [gx, dgamma, dbeta]
        }
    }
}
