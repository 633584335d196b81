// Kernel benchmark: GFLOP/s of the oneDNN kernels through the public NCHW API.
// 3×3 convolution forward / backward-data / backward-weights with NCHW primitives vs blocked
// primitives + reorders, on each thread count; then transposed convolution and max pooling.
//   swift run -c release --scratch-path .build-NAME KernelBench [N C H W] [--reps R] [--threads 1,2]
//       [--only conv|deconv|pool|alloc] [--co Cout] [--k 3|1]   (conv: C → Cout channels, kernel k)
@_spi(KernelTuning) import Tensor
import Support
import CDNNL
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

var args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    let v = args[i + 1]; args.removeSubrange(i...(i + 1)); return v
}
func flag(_ name: String) -> Bool {
    guard let i = args.firstIndex(of: name) else { return false }
    args.remove(at: i); return true
}
let reps = Int(option("--reps") ?? "") ?? 5
let threadList = (option("--threads") ?? "1,2").split(separator: ",").compactMap { Int($0) }
let only = option("--only")
let coOption = Int(option("--co") ?? "")
let kOption = Int(option("--k") ?? "")
let dims = args.compactMap { Int($0) }
let (n, c, h, w) = dims.count >= 4 ? (dims[0], dims[1], dims[2], dims[3]) : (4, 32, 256, 256)
let k = kOption ?? 3, p = k / 2
let co = coOption ?? c
var rng = SeededRNG(seed: 1)
func random(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform(-1, 1)) })
}

/// Process CPU seconds: on a shared machine a kernel's CPU time divided by its threads is about what
/// it would take on idle cores, while wall time includes waiting for them.
func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Median wall seconds of `body` after one warm-up call (which creates the primitives), median
/// CPU seconds, and the mean split of wall time into primitives and reorders.
func median(_ body: () -> Void) -> (Double, Double, Double, Double) {
    body()
    KernelTuning.resetProfile()
    var t: [Double] = [], c: [Double] = []
    for _ in 0..<reps {
        let t0 = now(), c0 = cpuNow()
        body()
        c.append(cpuNow() - c0); t.append(now() - t0)
    }
    let prof = KernelTuning.profile
    return (t.sorted()[reps / 2], c.sorted()[reps / 2], prof.primitive / Double(reps), prof.reorder / Double(reps))
}

func label(_ policy: KernelLayoutPolicy) -> String {
    switch policy {
    case .nchw: return "nchw           "
    case .blocked: return "blocked+reorder"
    case .auto: return "auto (default) "
    }
}

func report(_ threads: Int, _ layout: String, _ name: String, _ flop: Double, _ r: (Double, Double, Double, Double)) {
    let (t, cpu, prim, reo) = r
    print(String(format: "%d thr  %@  %@ %8.2f ms %6.1f GFLOP/s | cpu %8.2f ms = %6.1f GFLOP/s on idle cores | primitive %7.2f ms, reorders %6.2f ms",
                 threads, layout, name, t * 1e3, flop / t / 1e9, cpu * 1e3, flop * Double(threads) / cpu / 1e9, prim * 1e3, reo * 1e3))
}

KernelTuning.profiling = true
print("N=\(n) C=\(c)→\(co) \(h)×\(w), median of \(reps)\(only.map { ", only \($0)" } ?? "")")
for threads in threadList {
    Kernels.setThreads(threads)
    if only == nil || only == "conv" {
        let x = random([n, c, h, w]), wt = random([co, c, k, k]), b = random([co]), gy = random([n, co, h, w])
        let flop = 2.0 * Double(n * c * h * w * co * k * k)
        for policy in [KernelLayoutPolicy.nchw, .blocked, .auto] {
            KernelTuning.$convLayout.withValue(policy) {
            let layout = label(policy)
            report(threads, layout, "conv\(k)x\(k) forward      ", flop, median { _ = Kernels.conv2d(x, wt, b, padding: p) })
            report(threads, layout, "conv\(k)x\(k) forward+ReLU ", flop, median { _ = Kernels.conv2d(x, wt, b, padding: p, fuseReLU: true) })
            report(threads, layout, "conv\(k)x\(k) backward-data", flop, median { _ = Kernels.conv2dBackwardData(gy, wt, inputShape: x.shape, padding: p) })
            report(threads, layout, "conv\(k)x\(k) backward-wts ", flop, median { _ = Kernels.conv2dBackwardWeights(x, gy, kernel: k, padding: p) })
            report(threads, layout, "conv\(k)x\(k) backward both", 2 * flop, median { _ = Kernels.conv2dBackward(x, gy, wt, padding: p) })
            }
        }
    }
    if only == nil || only == "deconv" {
        // The U-Net's up-sampling into this level: C channels at half size → C/2 channels.
        let half = random([n, c, h / 2, w / 2]), wd = random([c, c / 2, 2, 2]), bd = random([c / 2])
        let up = random([n, c / 2, h, w])
        let flop = 2.0 * Double(n * c * (h / 2) * (w / 2) * (c / 2) * 4)
        for policy in [KernelLayoutPolicy.nchw, .blocked, .auto] {
            KernelTuning.$transposedConvLayout.withValue(policy) {
            let layout = label(policy)
            report(threads, layout, "convT2x2 forward     ", flop, median { _ = Kernels.convTranspose2x2(half, wd, bd) })
            report(threads, layout, "convT2x2 backward-dat", flop, median { _ = Kernels.convTranspose2x2BackwardData(up, wd, inputShape: half.shape) })
            report(threads, layout, "convT2x2 backward-wts", flop, median { _ = Kernels.convTranspose2x2BackwardWeights(half, up) })
            }
        }
    }
    if only == nil || only == "pool" {
        let x = random([n, c, h, w])
        let bytes = Double(x.count * 4)
        for policy in [KernelLayoutPolicy.nchw, .blocked] {
            KernelTuning.$poolLayout.withValue(policy) {
                let layout = policy == .blocked ? "blocked+reorder" : "nchw           "
                let (pooled, state) = Kernels.maxPool2x2(x)
                for (name, body) in [("maxpool forward      ", { _ = Kernels.maxPool2x2(x) }),
                                     ("maxpool backward     ", { _ = Kernels.maxPool2x2Backward(pooled, state: state) })] as [(String, () -> Void)] {
                    let (t, cpu, prim, reo) = median(body)
                    print(String(format: "%d thr  %@  %@ %8.2f ms  (%.1f GB/s of input-sized traffic) | cpu %8.2f ms | primitive %7.2f ms, reorders %6.2f ms",
                                 threads, layout, name, t * 1e3, bytes / t / 1e9, cpu * 1e3, prim * 1e3, reo * 1e3))
                }
            }
        }
    }
}
if only == "alloc" {
    // What an output tensor costs before a kernel writes it: pages of a tensor of the same size
    // that died before (BufferPool), against fresh pages faulted in on first touch.
    let count = n * c * h * w
    for fresh in [false, true] {
        let (t, cpu, _, _) = median {
            if fresh { BufferPool.trim() }
            let y = Tensor(uninitializedShape: [n, c, h, w])
            memset(y.writePointer, 0, count * 4)
        }
        print((fresh ? "fresh " : "pooled") + String(format: " tensor %.1f MB + first write: %8.2f ms | cpu %8.2f ms",
                                                     Double(count * 4) / 1e6, t * 1e3, cpu * 1e3))
    }
}
print("implementations:")
for s in KernelTuning.implementations { print("  " + s) }
