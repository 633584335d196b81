import ArgumentParser
import Foundation
import MedicalImage
import Segmentation
import Support
import Tensor

struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Segment liver (1) and tumor (2) in CT: a NIfTI file, a DICOM folder, or a folder of NIfTI files.",
        discussion: "The label map is uint8 on the input's grid with the input's affine, so it overlays the CT exactly.")

    @Argument(help: "NIfTI file, DICOM folder/file, or a folder of NIfTI files.") var input: String
    @Option(help: "Run directory of a trained model. Given more than once (runs of one configuration, e.g. other seeds), the models' probabilities are averaged and their operating points too.")
    var model: [String]
    @Option(help: "Output label map (.nii or .nii.gz), or a folder for a batch of inputs.") var out: String
    @Option(help: "Also write the tumor probability (float32 NIfTI) here (single input only).") var prob: String?
    @Option(help: "Liver threshold (default: the model's).") var thresholdLiver: Float?
    @Option(help: "Tumor threshold (default: the model's).") var thresholdTumor: Float?
    @Option(help: "Found lesions reach out to where the tumor probability is at least this (hysteresis; default: the model's, chosen on its validation cases; a value ≥ the tumor threshold: no reach).")
    var thresholdTumorExtent: Float?
    @Flag(inversion: .prefixedNo, help: "Keep only the largest 3-D liver component.") var keepLargest = true
    @Option(help: "Before keeping the largest liver component, cut bridges to neighbouring structures up to 2·N voxels thick (0: the plain largest component).")
    var bridgeRadius: Int = PostProcessing.bridgeRadius
    @Option(help: "Lesions whose core (tumor probability ≥ the tumor threshold) is smaller than this (mL) become liver (default: the model's, chosen on its validation cases; 0 keeps all).")
    var minLesionMl: Double?
    @Option(help: "Lesions spanning fewer slices become liver (default: the model's; 1 keeps all).")
    var minLesionSlices: Int?
    @Option(help: "Before network B looks at the cascade's liver, close it slice by slice with a disk of this radius (mm), so lesions the liver network cut off at the surface are inside (0: not closed).")
    var liverClosingMm: Double = LiverClosing.defaultRadiusMM
    @Option(help: "Found lesions grow up to this many in-plane voxels (and as many millimetres into the slices next to them) over the liver where the CT continues them (0: the networks' lesions as they are).")
    var lesionReach: Int = LesionRefinement.defaultReach
    @Option(help: "Within that reach a voxel's 3×3 mean is lesion once it lies this far (0…1) from the liver's value around the lesion toward the lesion's (0.5: nearer the lesion's).")
    var lesionBoundary: Float = LesionRefinement.defaultBoundary
    @Flag(inversion: .prefixedNo, help: "Lesions whose contrast stands 3 noise spreads clear of the liver give their edge voxels short of that boundary back to the liver.")
    var lesionTrim = true
    @Option(help: "DICOM series to read when the folder holds several.") var series: String?
    @Option(help: "Slices per batch through the networks (1: the least memory, no slower on 2 cores than larger batches).") var batch: Int = 1
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Precision of the networks' 3×3 convolutions: fp32 or bf16 (faster where the CPU has AVX512-BF16 or AMX; falls back to fp32 elsewhere).")
    var precision: KernelPrecision = .fp32

    /// The options alone, before any model is loaded (a run directory of several members takes seconds).
    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        try ThreadsOption.check(threads)
        guard bridgeRadius >= 0 else { throw ValidationError("--bridge-radius must be ≥ 0, got \(bridgeRadius)") }
        if let e = thresholdTumorExtent, !(0...1).contains(e) { throw ValidationError("--threshold-tumor-extent must be in [0, 1], got \(e)") }
        if let v = minLesionMl, !(v >= 0 && v.isFinite) { throw ValidationError("--min-lesion-ml must be ≥ 0, got \(v)") }
        if let n = minLesionSlices, n < 1 { throw ValidationError("--min-lesion-slices must be ≥ 1, got \(n)") }
        guard (0...LesionRefinement.maxReach).contains(lesionReach) else {
            throw ValidationError("--lesion-reach must be 0…\(LesionRefinement.maxReach), got \(lesionReach)")
        }
        guard lesionBoundary > 0 && lesionBoundary < 1 else { throw ValidationError("--lesion-boundary must lie strictly between 0 and 1, got \(lesionBoundary)") }
        guard liverClosingMm >= 0 && liverClosingMm.isFinite else { throw ValidationError("--liver-closing-mm must be ≥ 0, got \(liverClosingMm)") }
    }

    func run() throws {
        try ThreadsOption.apply(threads)
        Kernels.setInferencePrecision(precision)
        let members = try model.map { try RunDirectory(URL(fileURLWithPath: $0)).loadModel().0 }
        let predictor = Predictor(ensemble: try ModelEnsemble(members, names: model))
        predictor.batchSize = batch
        predictor.keepLargest = keepLargest
        predictor.bridgeRadius = bridgeRadius
        if let thresholdLiver { predictor.liverThreshold = thresholdLiver }
        if let thresholdTumor { predictor.tumorThreshold = thresholdTumor }
        if let thresholdTumorExtent { predictor.tumorExtentThreshold = thresholdTumorExtent }
        if let minLesionMl { predictor.minLesionML = minLesionMl }
        if let minLesionSlices { predictor.minLesionSlices = minLesionSlices }
        predictor.lesionReach = lesionReach
        predictor.lesionBoundary = lesionBoundary
        predictor.lesionTrim = lesionTrim
        predictor.liverClosingMM = liverClosingMm
        let inputURL = URL(fileURLWithPath: input)
        let jobs = try Self.jobs(input: inputURL, out: URL(fileURLWithPath: out))
        if jobs.count > 1 && prob != nil { throw ValidationError("--prob works with a single input") }
        FileHandle.standardError.write(Data("model: \(predictor.model.kind.rawValue), \(predictor.model.size)²\(model.count > 1 ? ", ensemble of \(model.count)" : ""), thresholds liver \(predictor.liverThreshold), tumor \(predictor.tumorThreshold)\(predictor.tumorExtentThreshold.map { ", lesions reaching to \($0)" } ?? "")\n".utf8))
        var failures = 0
        for (src, dst) in jobs {
            do {
                let t0 = ProcessStats.now()
                let volume = try MedicalImageReader.readScan(src, seriesUID: series)
                let tRead = ProcessStats.now() - t0
                let bar = ProgressBar(total: volume.shape[2], label: src.lastPathComponent)
                let (labels, probability, summary) = try predictor.segment(volume, tumorProbability: prob != nil, progress: bar)
                bar.finish()
                let t1 = ProcessStats.now()
                try NIfTI.write(labels, to: dst)
                if let prob, let probability { try NIfTI.write(probability, to: URL(fileURLWithPath: prob)) }
                let tWrite = ProcessStats.now() - t1
                let s = summary.seconds
                print("\(src.lastPathComponent): \(summary.line) → \(dst.path)  [read \(String(format: "%.1f", tRead)) s, liver net \(String(format: "%.1f", s["liver"] ?? 0)) s, tumor net \(String(format: "%.1f", s["tumor"] ?? 0)) s, post \(String(format: "%.1f", s["post"] ?? 0)) s, write \(String(format: "%.1f", tWrite)) s]")
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("error: \(src.path): \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// (input, output) pairs: one file or DICOM series, or every NIfTI file of a folder.
    static func jobs(input: URL, out: URL) throws -> [(URL, URL)] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: input.path, isDirectory: &isDir) else { throw ValidationError("\(input.path): no such file or folder") }
        if isDir.boolValue {
            var niftis = try fm.contentsOfDirectory(atPath: input.path).filter { $0.hasSuffix(".nii") || $0.hasSuffix(".nii.gz") }.sorted()
            // A LiTS folder holds label maps beside the CT: segment only the volumes.
            if niftis.contains(where: { $0.hasPrefix("volume-") }) { niftis = niftis.filter { $0.hasPrefix("volume-") } }
            niftis = niftis.filter { !$0.hasPrefix("segmentation-") && !$0.hasPrefix("probability-") }
            if !niftis.isEmpty {
                try fm.createDirectory(at: out, withIntermediateDirectories: true)
                return niftis.map { name in
                    let stem = name.hasSuffix(".nii.gz") ? String(name.dropLast(7)) : String(name.dropLast(4))
                    let outName = stem.hasPrefix("volume-") ? "segmentation-" + stem.dropFirst(7) : stem + "_seg"
                    return (input.appendingPathComponent(name), out.appendingPathComponent(outName + ".nii.gz"))
                }
            }
        }
        guard out.path.hasSuffix(".nii") || out.path.hasSuffix(".nii.gz") else {
            throw ValidationError("--out must end in .nii or .nii.gz for a single input")
        }
        return [(input, out)]
    }
}
