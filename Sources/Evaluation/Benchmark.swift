import Dispatch
import Foundation
import Support

/// Timings of the evaluation engine on synthetic data of real size (run in release builds).
public enum EvaluationBenchmark {
    public struct Timing: Sendable, Codable {
        public var name: String
        public var seconds: Double
        public var detail: String
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// User + system CPU seconds of this process: on a loaded machine wall time says little,
    /// CPU time / cores bounds what an idle machine would take.
    static func cpu() -> Double {
        var u = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        #else
        getrusage(RUSAGE_SELF, &u)
        #endif
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    /// A liver-like ellipsoid with spherical tumors on an nx×ny×nz grid; the prediction is
    /// shifted, slightly enlarged, misses one tumor and adds a false one.
    public static func syntheticPair(shape: [Int]) -> (truth: [UInt8], prediction: [UInt8]) {
        let nx = shape[0], ny = shape[1], nz = shape[2]
        let c = (Double(nx) * 0.45, Double(ny) * 0.5, Double(nz) * 0.5)
        let r = (Double(nx) * 0.3, Double(ny) * 0.24, Double(nz) * 0.3)
        let tumorsT: [(Double, Double, Double, Double)] = [
            (c.0 - r.0 * 0.4, c.1, c.2, r.0 * 0.15), (c.0 + r.0 * 0.3, c.1 + r.1 * 0.3, c.2 - r.2 * 0.2, r.0 * 0.08),
            (c.0, c.1 - r.1 * 0.5, c.2 + r.2 * 0.4, r.0 * 0.05), (c.0 + r.0 * 0.5, c.1 - r.1 * 0.2, c.2 + r.2 * 0.1, r.0 * 0.03),
        ]
        let tumorsP: [(Double, Double, Double, Double)] = [
            (c.0 - r.0 * 0.4 + 2, c.1 + 1, c.2, r.0 * 0.16), (c.0 + r.0 * 0.3 + 1, c.1 + r.1 * 0.3, c.2 - r.2 * 0.2, r.0 * 0.07),
            (c.0 + r.0 * 0.5, c.1 - r.1 * 0.2, c.2 + r.2 * 0.1, r.0 * 0.035), (c.0 - r.0 * 0.2, c.1 + r.1 * 0.5, c.2, r.0 * 0.04),
        ]
        var t = [UInt8](repeating: 0, count: nx * ny * nz), p = t
        func fill(_ out: inout [UInt8], shift: Double, grow: Double, tumors: [(Double, Double, Double, Double)]) {
            out.withUnsafeMutableBufferPointer { ob in
                let o = SharedPointer(ob.baseAddress!)
                Parallel.forEach(nz, costPerItem: nx * ny * 4) { ks in
                    for k in ks { for j in 0..<ny { for i in 0..<nx {
                        let x = Double(i) - c.0 - shift, y = Double(j) - c.1 - shift / 2, z = Double(k) - c.2
                        let d = (x * x) / ((r.0 + grow) * (r.0 + grow)) + (y * y) / ((r.1 + grow) * (r.1 + grow)) + (z * z) / (r.2 * r.2)
                        guard d <= 1 else { continue }
                        var v: UInt8 = 1
                        for tu in tumors {
                            let a = Double(i) - tu.0, b = Double(j) - tu.1, e = Double(k) - tu.2
                            if a * a + b * b + e * e <= tu.3 * tu.3 { v = 2; break }
                        }
                        o[(k * ny + j) * nx + i] = v
                    } } }
                }
            }
        }
        fill(&t, shift: 0, grow: 0, tumors: tumorsT)
        fill(&p, shift: 3, grow: 2, tumors: tumorsP)
        return (t, p)
    }

    /// All metrics of one label pair, and restricted/full AUC over `probabilityCount` values.
    public static func run(shape: [Int] = [512, 512, 500], spacing: [Double] = [0.78, 0.78, 1.0],
                           probabilityCount: Int = 100_000_000, log: (String) -> Void = { print($0) }) throws -> [Timing] {
        var out: [Timing] = []
        var t0 = now()
        let (truth, pred) = syntheticPair(shape: shape)
        log("generated \(shape) label pair in \(fmt(now() - t0)) s (not timed below)")
        t0 = now()
        var c0 = cpu()
        let e = try CaseEvaluator.evaluate(name: "bench", truth: truth, prediction: pred, shape: shape, spacing: spacing)
        let dt = now() - t0
        let dc = cpu() - c0
        let m = e.metrics
        let detail = m.structures.map { "\($0.name) Dice \(fmt($0.dice ?? .nan, 4)) ASSD \(fmt($0.assd ?? .nan, 3)) HD95 \(fmt($0.hd95 ?? .nan, 3)) mm" }.joined(separator: "; ")
            + "; lesions \(m.lesions?.detected ?? 0)/\(m.lesions?.truthLesions ?? 0)"
        out.append(Timing(name: "all metrics \(shape.map(String.init).joined(separator: "x"))", seconds: dt, detail: detail + "; CPU \(fmt(dc)) s"))
        log("all metrics (counts, RI/ARI, surfaces for liver and tumor, lesions): wall \(fmt(dt)) s, CPU \(fmt(dc)) s — \(detail)")
        // Surface distances alone for the liver (the dominant part).
        t0 = now(); c0 = cpu()
        let sd = truth.withUnsafeBufferPointer { tb in
            pred.withUnsafeBufferPointer { pb in
                SurfaceDistances.compute(prediction: pb, predictionLabels: 1...255, truth: tb, truthLabels: 1...255, shape: shape, spacing: spacing)
            }
        }
        let ds = now() - t0, dsc = cpu() - c0
        out.append(Timing(name: "liver surface distances", seconds: ds, detail: "\(sd?.predictionSurfaceVoxels ?? 0)+\(sd?.truthSurfaceVoxels ?? 0) surface voxels; CPU \(fmt(dsc)) s"))
        log("liver surface distances alone: wall \(fmt(ds)) s, CPU \(fmt(dsc)) s (\(sd?.predictionSurfaceVoxels ?? 0) + \(sd?.truthSurfaceVoxels ?? 0) surface voxels)")

        // Probabilities: worst case (every value inside the window) and a realistic one.
        var probs = [Float](repeating: 0, count: probabilityCount)
        var labels = [UInt8](repeating: 0, count: probabilityCount)
        for (scenario, inside) in [("all inside (0.01, 0.99)", 1.0), ("10% inside (0.01, 0.99)", 0.1)] {
            t0 = now()
            probs.withUnsafeMutableBufferPointer { pb in
                labels.withUnsafeMutableBufferPointer { lb in
                    let pp = SharedPointer(pb.baseAddress!), lp = SharedPointer(lb.baseAddress!)
                    Parallel.forEach(probabilityCount, costPerItem: 4) { r in
                        var rng = SeededRNG(seed: 11, stream: UInt64(r.lowerBound))
                        for i in r {
                            let pos = rng.nextDouble() < 0.1
                            let u = rng.nextDouble()
                            var v: Double
                            if rng.nextDouble() < inside {
                                v = 0.0101 + 0.9798 * (pos ? u.squareRoot() : u * u)
                            } else {
                                v = (pos ? 0.995 + 0.005 * u : 0.005 * u)
                            }
                            pp[i] = Float(v); lp[i] = pos ? 2 : 0
                        }
                    }
                }
            }
            log("generated \(probabilityCount) probabilities, \(scenario), in \(fmt(now() - t0)) s (not timed)")
            t0 = now(); c0 = cpu()
            var acc = ROCAccumulator(window: .restricted)
            try probs.withUnsafeBufferPointer { pb in
                try labels.withUnsafeBufferPointer { lb in try acc.add(probabilities: pb, truth: lb, positiveLabels: 2...2) }
            }
            let r = acc.analyze()
            let dr = now() - t0, drc = cpu() - c0
            out.append(Timing(name: "restricted AUC, \(scenario)", seconds: dr,
                              detail: "CPU \(fmt(drc)) s; rAUC \(fmt(r.auc ?? .nan, 6)), \(r.positives + r.negatives) voxels in window, \(r.distinctThresholds) distinct values"))
            log("restricted AUC over \(probabilityCount) probabilities, \(scenario): wall \(fmt(dr)) s, CPU \(fmt(drc)) s — rAUC \(fmt(r.auc ?? .nan, 6)), \(r.positives + r.negatives) in window, \(r.distinctThresholds) distinct values, Youden threshold \(fmt(r.youdenThreshold ?? .nan, 6))")
        }
        return out
    }

    static func fmt(_ v: Double, _ d: Int = 3) -> String { String(format: "%.\(d)f", v) }
}
