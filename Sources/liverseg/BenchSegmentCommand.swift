import ArgumentParser
import Foundation
import MedicalImage
import NeuralNet
import Phantom
import Segmentation
import Support
@_spi(KernelTuning) import Tensor
#if canImport(Glibc)
import Glibc
#endif

/// Whole-volume segmentation as `liverseg segment` runs it: read a NIfTI volume, the cascade
/// through `Predictor` (A on every slice, B on the slices where A found liver, post-processing),
/// write the label map. Inputs are 512×512×N phantoms written to a scratch folder first.
struct BenchSegment: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Time whole-volume segmentation (NIfTI read, cascade A+B, post-processing, NIfTI write) of phantoms.",
        discussion: """
            For each --slices N: writes a phantom of --size²×N (int16 .nii.gz, as LiTS-style archives) to a \
            scratch folder (not timed), then times reading it, Predictor.segment (per stage: liver net A, tumor \
            net B, post-processing) and writing the uint8 label map, and reports slices/s and the peak RSS of \
            that run against the decoded float volume.

            Which slices network B sees decides much of the cost. With --model RUN_DIR the trained model and its \
            thresholds run as in `liverseg segment`. Without it the cascade is untrained (random weights, F = \
            --filters, model size --model-size), and A's liver mask means nothing; to keep the work fair the \
            liver threshold is then calibrated per volume so that B runs on the share of slices that hold liver \
            in the phantom's ground truth (or on --liver-share): A runs once, untimed, on up to 32 evenly spaced \
            slices, and the threshold is the quantile of their per-slice maximum liver probability. The mask \
            inside those slices is still arbitrary, so the liver's largest component is not kept (it would \
            leave B a few slices) and the lesion post-processing costs what it costs on that mask, not on a \
            real liver.
            """)

    @Option(help: "Slice counts to time, comma-separated.") var slices: String = "100,200,400"
    @Option(help: "In-plane size of the phantoms.") var size = 512
    @Option(help: "Run directory of a trained model (default: an untrained cascade, see above).") var model: String?
    @Option(help: "Model input size of the untrained cascade.") var modelSize = 256
    @Option(help: "Filters of the untrained cascade's U-Nets.") var filters = 32
    @Option(help: "Share of slices B should run on with an untrained model (default: the phantom's liver slices).")
    var liverShare: Double?
    @Option(help: "Slices per batch (the default of `segment`).") var batch = 1
    @Option(help: "Bridge radius of the liver's largest component, as in `segment` (trained models only).")
    var bridgeRadius: Int = PostProcessing.bridgeRadius
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Precision of the networks' 3×3 convolutions: fp32 or bf16.") var precision: KernelPrecision = .fp32
    @Option(help: "Phantom seed.") var seed: UInt64 = 8
    @Option(help: "Scratch folder for the phantoms and label maps (default: a temporary folder, removed at the end).")
    var scratch: String?
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(inversion: .prefixedNo, help: "Run both networks once on every batch size 1…--batch before timing, so the timings leave out oneDNN's primitive creation (which a fresh `liverseg segment` process pays once).")
    var warmUp = true
    @Flag(help: ArgumentHelp("Run the networks layer by layer instead of as compiled graphs, to measure what the graphs save.", visibility: .hidden))
    var noGraph = false
    @Flag(help: ArgumentHelp("Run the graphs' 3×3 convolutions as direct convolutions instead of Winograd, to measure what Winograd saves.", visibility: .hidden))
    var noWinograd = false

    func validate() throws {
        guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 && $0 <= 2000 }) else {
            throw ValidationError("--slices must list counts in 1...2000, e.g. 100,200,400")
        }
        guard batch >= 1, filters >= 1, modelSize >= 16, modelSize % 16 == 0 else {
            throw ValidationError("--batch and --filters must be positive, --model-size a multiple of 16")
        }
        if let s = liverShare, !(0...1).contains(s) { throw ValidationError("--liver-share must lie in 0...1") }
        try ThreadsOption.check(threads)
    }

    var counts: [Int] { slices.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    struct Row: Codable {
        var slices: Int
        var readSeconds: Double, liverSeconds: Double, tumorSeconds: Double, postSeconds: Double, writeSeconds: Double
        var totalSeconds: Double
        var slicesPerSecond: Double
        /// Slices B should run on: the phantom's liver slices (or --liver-share) when calibrated.
        var tumorNetSlicesTarget: Int?
        var labelledLiverSlices: Int
        var liverThreshold: Float
        var peakRSSMB: Double
        /// RSS before reading the volume: the networks, oneDNN's primitives and the runtime.
        var startRSSMB: Double
        var floatVolumeMB: Double
        var summary: String
    }

    func run() throws {
        guard bridgeRadius >= 0 else { throw ValidationError("--bridge-radius must be ≥ 0, got \(bridgeRadius)") }
        try KernelTuning.$inferenceGraphs.withValue(!noGraph) { try KernelTuning.$winograd.withValue(!noWinograd) { try timeVolumes() } }
    }

    private func timeVolumes() throws {
        let nThreads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        Kernels.setThreads(nThreads)
        ProcessInfoCores.count = nThreads
        let effective = Kernels.setInferencePrecision(precision)

        let liverTumor: LiverTumorModel
        var describe: String
        if let model {
            let (m, manifest) = try RunDirectory(URL(fileURLWithPath: model)).loadModel()
            liverTumor = m
            describe = "trained \(manifest.training.kind.rawValue) model \(model), \(m.size)², F=\(manifest.training.unet.filters)"
        } else {
            let unet = UNetConfig(inChannels: 1, classes: 1, filters: filters, depth: 4, dropout: 0.4)
            // As a model trained with the defaults: A sees its slice's neighbours, and the
            // networks see the body's square, so the timing includes the pass over the scan that finds it.
            liverTumor = LiverTumorModel(kind: .cascade, size: modelSize, unet: unet, liverContext: TrainingConfig().liverContext ?? 0, seed: 1)
            liverTumor.bodyCrop = TrainingConfig().bodyCrop ?? false
            describe = "untrained cascade, \(modelSize)², F=\(filters), liver threshold calibrated to "
                + (liverShare.map { String(format: "%.0f%% of slices", 100 * $0) } ?? "the phantom's liver slices")
        }
        guard liverTumor.kind != .oneStep else { throw ValidationError("bench segment times the cascade; \(model ?? "") is one-step") }

        let fm = FileManager.default
        let dir = scratch.map { URL(fileURLWithPath: $0) }
            ?? fm.temporaryDirectory.appendingPathComponent("liverseg-bench-segment-\(getpid())")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if scratch == nil { try? fm.removeItem(at: dir) } }

        if !json {
            print("whole-volume segmentation: \(describe); \(nThreads) thread(s), batch \(batch), \(effective.rawValue)")
        }
        if warmUp {
            let t = ProcessStats.now()
            let s = liverTumor.size
            Autograd.withoutGradients {
                for b in 1...batch {
                    // A sees each slice with its neighbours (`liverContext`), B the slice alone.
                    _ = liverTumor.netA(Variable(Tensor.zeros([b, 2 * liverTumor.liverContext + 1, s, s])), training: false)
                    _ = liverTumor.netB?(Variable(Tensor.zeros([b, 1, s, s])), training: false)
                }
            }
            if !json { print(String(format: "warm-up (both nets, batch sizes 1…%d): %.1f s", batch, ProcessStats.now() - t)) }
        }
        var rows: [Row] = []
        for n in counts {
            // Setup (not timed): the phantom on disk, as a scan would arrive.
            let generator = PhantomGenerator(PhantomConfig(size: size, slices: n...n))
            // The phantom is dropped before timing so that its arrays do not count in the peak RSS.
            let liverSlices = try {
                let phantom = try generator.makeCase(index: n, seed: seed)
                try PhantomDataset.write(phantom, to: dir, volumeType: .int16)
                return Self.slicesWithLiver(phantom.labels)
            }()
            let volumeURL = PhantomDataset.volumeURL(dir, n)
            let outURL = dir.appendingPathComponent("segmentation-bench-\(n).nii.gz")

            let predictor = Predictor(model: liverTumor)
            predictor.batchSize = batch
            predictor.bridgeRadius = bridgeRadius
            var target: Int?
            if model == nil {
                let share = liverShare ?? Double(liverSlices) / Double(n)
                target = Int((share * Double(n)).rounded())
                let calibration = try MedicalImageReader.read(volumeURL)
                predictor.liverThreshold = Self.calibratedThreshold(liverTumor, calibration, share: share, batch: batch)
                // The random mask is no organ: keeping its largest component would leave B a
                // few slices of it, not the calibrated share.
                predictor.keepLargest = false
            }

            Self.resetPeakRSS()
            let startRSS = Double(ProcessStats.rssBytes() ?? 0) / 1_048_576
            let t0 = ProcessStats.now()
            let volume = try MedicalImageReader.readScan(volumeURL)
            let tRead = ProcessStats.now() - t0
            let (labels, _, summary) = try predictor.segment(volume)
            let t1 = ProcessStats.now()
            try NIfTI.write(labels, to: outURL)
            let tWrite = ProcessStats.now() - t1
            let total = ProcessStats.now() - t0
            let s = summary.seconds
            rows.append(Row(slices: n, readSeconds: tRead, liverSeconds: s["liver"] ?? 0, tumorSeconds: s["tumor"] ?? 0,
                            postSeconds: s["post"] ?? 0, writeSeconds: tWrite, totalSeconds: total,
                            slicesPerSecond: Double(n) / total, tumorNetSlicesTarget: target,
                            labelledLiverSlices: Self.slicesWithLiver(labels),
                            liverThreshold: predictor.liverThreshold,
                            peakRSSMB: Double(ProcessStats.peakRSSBytes() ?? 0) / 1_048_576, startRSSMB: startRSS,
                            floatVolumeMB: Double(volume.geometry.voxelCount * 4) / 1_048_576, summary: summary.line))
            try? fm.removeItem(at: volumeURL)
            try? fm.removeItem(at: PhantomDataset.segmentationURL(dir, n))
            try? fm.removeItem(at: outURL)
            if !json {
                let r = rows.last!
                print(String(format: "%4d slices: read %.2f s, liver %.2f s, tumor %.2f s, post %.2f s, write %.2f s, total %.2f s, %.2f slices/s; peak RSS %.0f MB (%.0f MB before reading; float volume %.0f MB, %.1f×); phantom liver on %d slices%@; %@",
                             r.slices, r.readSeconds, r.liverSeconds, r.tumorSeconds, r.postSeconds, r.writeSeconds, r.totalSeconds,
                             r.slicesPerSecond, r.peakRSSMB, r.startRSSMB, r.floatVolumeMB, r.peakRSSMB / r.floatVolumeMB, liverSlices,
                             (target.map { String(format: ", B calibrated to ~%d (threshold %.4g)", $0, r.liverThreshold) } ?? "") as NSString,
                             r.summary as NSString))
                fflush(stdout)
            }
        }
        if json {
            let enc = JSONEncoder()
            enc.keyEncodingStrategy = .convertToSnakeCase
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(rows), as: UTF8.self))
        }
    }

    /// Slices (last axis) with any label ≥ 1.
    static func slicesWithLiver(_ labels: Volume<UInt8>) -> Int {
        let s = labels.shape, plane = s[0] * s[1]
        return (0..<s[2]).filter { k in labels.voxels[(k * plane)..<((k + 1) * plane)].contains { $0 >= 1 } }.count
    }

    /// The liver threshold at which A's mask is non-empty on `share` of the slices: A runs on up to
    /// 32 evenly spaced slices, and the threshold is the matching quantile of their maximum
    /// probabilities on the scan's grid (a mask voxel is probability ≥ threshold there).
    static func calibratedThreshold(_ model: LiverTumorModel, _ volume: Volume<Float>, share: Double, batch: Int) -> Float {
        let (nx, ny, nz) = (volume.shape[0], volume.shape[1], volume.shape[2])
        let plane = nx * ny, s = model.size, sp = s * s
        let picks = Array(Set((0..<min(32, nz)).map { $0 * nz / min(32, nz) })).sorted()
        let region = SliceRegion.view(bodyCrop: model.bodyCrop, of: volume)
        let hu = volume.voxels.withUnsafeBufferPointer { src in
            SliceContext.stack(picks, radius: model.liverContext, depth: nz, size: s) { k, out in
                SliceResize.bilinear(UnsafeBufferPointer(rebasing: src[(k * plane)..<((k + 1) * plane)]), width: nx, height: ny,
                                     region: region, to: out, width: s, height: s)
            }
        }
        let c = hu.shape[1]
        var maxima: [Float] = []
        // In the timed run's batch size: a larger one would leave larger scratch buffers and
        // primitives behind and count them in the timed run's memory.
        var native = [Float](repeating: 0, count: plane)   // a probability on the scan's grid
        for start in stride(from: 0, to: picks.count, by: batch) {
            let m = min(batch, picks.count - start)
            let part = Tensor(uninitializedShape: [m, c, s, s])
            (part.writePointer).update(from: hu.readPointer + start * c * sp, count: m * c * sp)
            let p = model.logitsA(part).sigmoid()
            // On the scan's grid, where the predictor thresholds A's probability.
            for i in 0..<m {
                native.withUnsafeMutableBufferPointer {
                    SliceResize.bilinear(UnsafeBufferPointer(start: p.readPointer + i * sp, count: sp), width: s, height: s,
                                         to: $0, width: nx, height: ny, region: region)
                }
                maxima.append(native.max()!)
            }
        }
        let sorted = maxima.sorted(by: >)
        let k = Int((share * Double(sorted.count)).rounded())
        if k <= 0 { return sorted[0].nextUp }            // no slice reaches it
        if k >= sorted.count { return sorted.last! }      // every slice does
        return (sorted[k - 1] + sorted[k]) / 2 > sorted[k] ? (sorted[k - 1] + sorted[k]) / 2 : sorted[k - 1]
    }

    /// Frees retained heap pages and resets the peak RSS (VmHWM) to the current RSS, so each
    /// volume's peak is its own (Linux ≥ 4.0: /proc/self/clear_refs, value 5).
    static func resetPeakRSS() {
        BufferPool.trim()
        #if canImport(Glibc)
        _ = liversegMallocTrim(0)
        #endif
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}

#if canImport(Glibc)
/// glibc's malloc_trim (not exported by Swift's Glibc module).
@_silgen_name("malloc_trim") func liversegMallocTrim(_ pad: Int) -> Int32
#endif
