import ArgumentParser
import Foundation
import NeuralNet
import Support
@_spi(KernelTuning) import Tensor

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Timings and memory of the engine and pipelines (release builds only give meaningful numbers).",
        subcommands: [BenchUNet.self, EvaluateBenchCommand.self, BenchSegment.self]
    )
}

/// Median forward (inference) and training-step times of the seed's U-Net, with the
/// convolution FLOPs counted exactly (UNetConfig.forwardFLOPs; a training step is 3× the
/// forward: forward, backward-data, backward-weights).
struct BenchUNet: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unet", abstract: "Time U-Net inference and training steps.")

    @Option(help: "Input height and width.") var size = 256
    @Option(help: "Filters of the first level.") var filters = 32
    @Option(help: "Batch size.") var batch = 4
    @Option(help: "Number of poolings.") var depth = 4
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Timed repetitions of each measurement (median reported).") var iterations = 5
    @Flag(help: "Batch normalization after each convolution.") var batchNorm = false
    @Option(help: "Time only this: inference or train (default: both).") var only: BenchPart?
    @Option(help: "Precision of the inference convolutions: fp32 or bf16 (bf16 needs AVX512-BF16 or AMX; training stays fp32).")
    var precision: KernelPrecision = .fp32
    @Flag(help: ArgumentHelp("Run the two convolutions of each block as separate calls at inference (no blocked intermediate), to measure what keeping it blocked saves.", visibility: .hidden))
    var noConvPairs = false
    @Flag(help: ArgumentHelp("Run inference and training layer by layer instead of as compiled graphs with blocked activations, to measure what the graphs save.", visibility: .hidden))
    var noGraph = false
    @Flag(help: ArgumentHelp("Run the compiled graphs' 3×3 convolutions as direct convolutions instead of Winograd F(4×4, 3×3), to measure what Winograd saves.", visibility: .hidden))
    var noWinograd = false
    @Flag(help: ArgumentHelp("List the oneDNN implementation of each primitive of the compiled inference and training graphs.", visibility: .hidden))
    var listKernels = false
    @Flag(help: "Print JSON instead of text.") var json = false

    func validate() throws {
        guard size > 0, size % (1 << depth) == 0 else {
            throw ValidationError("--size \(size) must be a positive multiple of 2^depth = \(1 << depth)")
        }
        guard filters > 0, batch > 0, depth >= 0, iterations > 0 else { throw ValidationError("sizes must be positive") }
        try ThreadsOption.check(threads)
    }

    func run() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let nThreads = threads ?? cores
        Kernels.setThreads(nThreads)
        ProcessInfoCores.count = nThreads
        let effective = Kernels.setInferencePrecision(precision)
        let config = UNetConfig(inChannels: 1, classes: 1, filters: filters, depth: depth, dropout: 0.4, batchNorm: batchNorm)
        let net = UNet(config, seed: 1)
        var rng = SeededRNG(seed: 2)
        let x = Variable(Tensor.uniform([batch, 1, size, size], 0, 1, rng: &rng))
        let y = Tensor.uniform([batch, 1, size, size], 0, 1, rng: &rng).map { $0 > 0.8 ? 1 : 0 }
        let opt = SGD(net.parameters, learningRate: 1e-3, momentum: 0.9)

        func inference() {
            KernelTuning.$convPairs.withValue(!noConvPairs) {
                KernelTuning.$inferenceGraphs.withValue(!noGraph) { _ = Autograd.withoutGradients { net(x, training: false) } }
            }
        }
        func trainStep() {
            net.zeroGradients()
            KernelTuning.$trainingGraphs.withValue(!noGraph) {
                let loss = Losses.binaryCrossEntropy(logits: net(x, training: true), targets: y)
                loss.backward()
            }
            opt.step()
        }
        /// Median wall and process CPU seconds (CPU time tells the work apart from waiting for a
        /// core on a shared machine).
        func median(_ f: () -> Void) -> (wall: Double, cpu: Double) {
            f()   // warm-up: primitive creation, first-touch of buffers
            var t: [Double] = [], c: [Double] = []
            for _ in 0..<iterations {
                let s = ProcessStats.now(), cs = ProcessStats.cpuSeconds()
                f()
                t.append(ProcessStats.now() - s)
                c.append(ProcessStats.cpuSeconds() - cs)
            }
            return (t.sorted()[t.count / 2], c.sorted()[c.count / 2])
        }
        let (inferTimes, trainTimes) = KernelTuning.$winograd.withValue(!noWinograd) {
            (only == .train ? nil : median(inference), only == .inference ? nil : median(trainStep))
        }
        let flops = config.forwardFLOPs(batch: batch, height: size, width: size)
        var result: [String: Any] = [
            "size": size, "filters": filters, "batch": batch, "depth": depth, "threads": nThreads,
            "batch_norm": batchNorm, "parameters": net.parameterCount, "precision": effective.rawValue,
            "forward_gflop": flops / 1e9, "train_gflop": 3 * flops / 1e9,
            "peak_rss_mb": Double(ProcessStats.peakRSSBytes() ?? 0) / 1_048_576,
        ]
        if let inferTimes {
            result["inference_seconds"] = inferTimes.wall
            result["inference_cpu_seconds"] = inferTimes.cpu
            result["inference_gflops"] = flops / inferTimes.wall / 1e9
        }
        if let trainTimes {
            result["train_step_seconds"] = trainTimes.wall
            result["train_step_cpu_seconds"] = trainTimes.cpu
            result["train_gflops"] = 3 * flops / trainTimes.wall / 1e9
        }
        if listKernels { (net.inferenceGraphImplementations + net.trainingGraphImplementations).forEach { print($0) } }
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            func f(_ v: Double, _ d: Int = 3) -> String { String(format: "%.\(d)f", v) }
            print("U-Net depth \(depth), F=\(filters), \(size)×\(size), batch \(batch), \(nThreads) thread(s), \(net.parameterCount) parameters\(batchNorm ? ", batch norm" : "")")
            if let inferSeconds = inferTimes?.wall {
                print("  inference   \(f(inferSeconds)) s  (\(f(flops / 1e9, 1)) GFLOP, \(f(flops / inferSeconds / 1e9, 1)) GFLOP/s, \(effective.rawValue))")
            }
            if let trainSeconds = trainTimes?.wall {
                print("  train step  \(f(trainSeconds)) s  (\(f(3 * flops / 1e9, 1)) GFLOP, \(f(3 * flops / trainSeconds / 1e9, 1)) GFLOP/s)")
            }
            print("  peak RSS    \(f(result["peak_rss_mb"] as! Double, 0)) MB")
        }
    }
}

enum BenchPart: String, ExpressibleByArgument, CaseIterable {
    case inference, train
}

extension KernelPrecision: ExpressibleByArgument {}
