import Foundation
@testable import Phantom
import Support
import Testing

@Suite struct FilterTests {
    @Test func gaussianKernelMatchesTheFormula() {
        let k = gaussianKernel(sigma: 1.5)
        #expect(k.count == 2 * 5 + 1)
        var ref = (-5...5).map { x in exp(-Double(x * x) / (2 * 1.5 * 1.5)) }
        let sum = ref.reduce(0, +)
        ref = ref.map { $0 / sum }
        for (a, b) in zip(k, ref) { #expect(abs(Double(a) - b) < 1e-6) }
    }

    @Test func blurOfADeltaIsTheOuterProductOfTheKernel() {
        let n = 21
        var plane = [Float](repeating: 0, count: n * n)
        var tmp = plane
        plane[10 * n + 10] = 1
        let k = gaussianKernel(sigma: 1.2)
        let r = k.count / 2
        plane.withUnsafeMutableBufferPointer { p in
            tmp.withUnsafeMutableBufferPointer { t in blurPlane(p.baseAddress!, t.baseAddress!, nx: n, ny: n, kernel: k) }
        }
        for y in 0..<n {
            for x in 0..<n {
                let dx = x - 10, dy = y - 10
                let expected: Float = abs(dx) <= r && abs(dy) <= r ? k[dx + r] * k[dy + r] : 0
                #expect(abs(plane[y * n + x] - expected) < 1e-6)
            }
        }
    }

    @Test func blurKeepsAConstantPlaneConstantAtTheEdges() {
        let n = 16
        var plane = [Float](repeating: 42, count: n * n)
        var tmp = plane
        plane.withUnsafeMutableBufferPointer { p in
            tmp.withUnsafeMutableBufferPointer { t in blurPlane(p.baseAddress!, t.baseAddress!, nx: n, ny: n, kernel: gaussianKernel(sigma: 2)) }
        }
        #expect(plane.allSatisfy { abs($0 - 42) < 1e-3 })
    }

    /// The closed-form norm of the difference-of-Gaussians kernel against the explicit 2-D kernel.
    @Test func noiseKernelNormMatchesTheExplicitKernel() {
        let g1 = gaussianKernel(sigma: 0.8), g2 = gaussianKernel(sigma: 2.0)
        let r1 = g1.count / 2, r2 = g2.count / 2
        var sq = 0.0
        for y in -r2...r2 {
            for x in -r2...r2 {
                let a = abs(x) <= r1 && abs(y) <= r1 ? Double(g1[x + r1] * g1[y + r1]) : 0
                let b = Double(g2[x + r2] * g2[y + r2])
                sq += (a - 0.55 * b) * (a - 0.55 * b)
            }
        }
        #expect(abs(Double(NoiseFilter.kernelNorm(g1, g2, 0.55)) - sq.squareRoot()) < 1e-6)
    }

    @Test func noiseHasTheRequestedSigmaAndIsSpatiallyCorrelated() {
        let n = 256
        let f = NoiseFilter(sigmaFine: 0.9, sigmaCoarse: 2.25, alpha: 0.55, sigma: 15)
        var out = [Float](repeating: 0, count: n * n), w = out, t = out
        var rng = SeededRNG(seed: 3)
        out.withUnsafeMutableBufferPointer { o in
            w.withUnsafeMutableBufferPointer { wp in
                t.withUnsafeMutableBufferPointer { tp in
                    f.fill(o.baseAddress!, nx: n, ny: n, rng: &rng, scratch: wp.baseAddress!, tp.baseAddress!)
                }
            }
        }
        // Statistics away from the clamped edges.
        var s = 0.0, q = 0.0, lag = 0.0, cnt = 0.0
        for y in 10..<(n - 10) {
            for x in 10..<(n - 11) {
                let v = Double(out[y * n + x])
                s += v; q += v * v; lag += v * Double(out[y * n + x + 1]); cnt += 1
            }
        }
        let mean = s / cnt, sd = (q / cnt - mean * mean).squareRoot()
        #expect(abs(mean) < 0.5)
        #expect(abs(sd - 15) < 1.0, "std \(sd)")
        let rho = (lag / cnt - mean * mean) / (sd * sd)
        #expect(rho > 0.2 && rho < 0.95, "lag-1 correlation \(rho): CT noise is neither white nor blobby")
    }

    @Test func fastNormalHasUnitVariance() {
        var rng = SeededRNG(seed: 9)
        var s = 0.0, q = 0.0
        let n = 200_000
        for _ in 0..<n { let v = Double(fastNormal(&rng)); s += v; q += v * v }
        #expect(abs(s / Double(n)) < 0.01)
        #expect(abs(q / Double(n) - 1) < 0.02)
    }

    @Test func rasterizedDiscHasTheAreaOfTheCircle() {
        var r = SliceRasterizer(nx: 200, ny: 200, spacing: 0.7, cu: 99.5, cv: 99.5)
        var plane = [UInt8](repeating: 0, count: 200 * 200)
        for step in [Float(0.5), 2, 4] {
            plane = [UInt8](repeating: 0, count: 200 * 200)
            let item = PaintItem(box: Box(cu: 3, cv: -2, ru: 32, rv: 32), step: step, tissue: .liver) { u, v in
                ((u - 3) * (u - 3) + (v + 2) * (v + 2)).squareRoot() - 30
            }
            plane.withUnsafeMutableBufferPointer { r.paint(item, into: $0.baseAddress!) }
            let area = Double(plane.filter { $0 == Tissue.liver.rawValue }.count) * 0.49
            #expect(abs(area - Double.pi * 900) / (Double.pi * 900) < 0.02, "step \(step): area \(area)")
        }
        // Clipping: a second object paints only over the first.
        let clip = TissueSet([Tissue.liver.rawValue])
        let item = PaintItem(box: Box(cu: 30, cv: -2, ru: 20, rv: 20), step: 1, tissue: .spleen, clip: clip) { u, v in
            ((u - 30) * (u - 30) + (v + 2) * (v + 2)).squareRoot() - 15
        }
        plane.withUnsafeMutableBufferPointer { r.paint(item, into: $0.baseAddress!) }
        for row in 0..<200 {
            for col in 0..<200 where plane[row * 200 + col] == Tissue.spleen.rawValue {
                let u = (Float(col) - 99.5) * 0.7, v = (Float(row) - 99.5) * 0.7
                #expect(((u - 3) * (u - 3) + (v + 2) * (v + 2)).squareRoot() < 30.5)
            }
        }
    }
}
