import ArgumentParser
import Foundation
import Phantom

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Synthetic abdominal CT with liver and tumor labels, in the LiTS layout.",
        discussion: "Writes volume-i.nii.gz (CT in HU, int16 with scl_inter, or float32) and segmentation-i.nii.gz "
            + "(uint8: 0 background, 1 liver, 2 tumor) for i in FIRST ..< FIRST+N, plus phantom.json describing each case. "
            + "Case i depends only on (--seed, i, --size, --slices): use another seed or a disjoint --first range for a "
            + "test set. Portal venous phase; in-plane spacing 0.6–0.9 mm at 512 (scaled for other sizes), slice "
            + "thickness 0.7–5 mm, LPS and RAS axis orders, 0–10 lesions per case.")

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Number of cases.")
    var cases: Int

    @Option(help: "Random seed.")
    var seed: UInt64

    @Option(help: "Index of the first case.")
    var first: Int = 0

    @Option(help: "In-plane size in pixels (square).")
    var size: Int = 512

    @Option(help: "Number of slices: a range A...B drawn per case, or one number.")
    var slices: String = "64...128"

    @Option(help: "Lesions per case: a range A...B or one number (default: 0–10, ~15% without).")
    var tumors: String?

    @Option(help: ArgumentHelp("Scale each lesion's contrast to the liver by a factor drawn per lesion from A...B "
        + "(e.g. 0.3...1; default 1).", discussion: "The factors have a random stream of their own: a case keeps the "
        + "anatomy, lesions and noise it has without the option, only its lesions are fainter or stronger."))
    var tumorContrast: String?

    @Option(help: "On-disk type of the CT volumes: int16 or float32.")
    var type: String = "int16"

    @Option(help: "Cases generated in parallel (each case stays single-threaded and deterministic).")
    var jobs: Int = 1

    @Flag(help: "Add mild beam-hardening streaks near the spine.")
    var streaks = false

    @Flag(help: "Write preview-i.png montages (axial slices, liver outlined green, tumors red).")
    var preview = false

    @Flag(help: "Print HU statistics per label and tissue, lesion count and tumor fraction histograms.")
    var stats = false

    /// A range A...B or one number; `a <= a` turns away NaN, which no range can hold.
    static func parseRange<T: LosslessStringConvertible & Comparable>(_ s: String, _ name: String) throws -> ClosedRange<T> {
        let parts = s.components(separatedBy: "...").map { T($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 1, let a = parts[0], a <= a { return a...a }
        if parts.count == 2, let a = parts[0], let b = parts[1], a <= b { return a...b }
        throw ValidationError("\(name) '\(s)' is not a number or a range A...B with A ≤ B")
    }

    func run() throws {
        guard cases >= 1 else { throw ValidationError("--cases must be at least 1") }
        guard first >= 0 else { throw ValidationError("--first must be ≥ 0") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard let vt = PhantomDataset.VolumeType(rawValue: type) else {
            throw ValidationError("--type must be int16 or float32, not '\(type)'")
        }
        let config = PhantomConfig(size: size, slices: try Self.parseRange(slices, "--slices"), streaks: streaks,
                                   tumorCount: try tumors.map { try Self.parseRange($0, "--tumors") },
                                   tumorContrast: try tumorContrast.map { try Self.parseRange($0, "--tumor-contrast") })
        let dir = URL(fileURLWithPath: out)
        var summary = PhantomSummary()
        let start = Date()
        var done = 0
        var genCPU = 0.0, writeCPU = 0.0
        try PhantomDataset.write(to: dir, cases: first..<(first + cases), seed: seed, config: config,
                                 volumeType: vt, preview: preview, jobs: jobs) { info, timing in
            done += 1
            summary.add(info)
            genCPU += timing.generateCPU
            writeCPU += timing.writeCPU
            print(String(format: "[%d/%d] case %d: %d×%d×%d, %.2f×%.2f×%.2f mm, %@, noise σ %.1f HU, %d lesion(s), tumor %.2f%% of liver (cpu: generate %.2f s, write %.2f s)",
                         done, cases, info.index, info.shape[0], info.shape[1], info.shape[2],
                         info.spacing[0], info.spacing[1], info.spacing[2], info.axisCodes as NSString,
                         info.noiseSigmaHU, info.visibleTumors, 100 * info.tumorFraction, timing.generateCPU, timing.writeCPU))
            fflush(stdout)
        }
        let total = Date().timeIntervalSince(start)
        print(String(format: "wrote %d case(s) to %@ in %.1f s wall; one core: %.2f s/case generating, %.2f s/case writing (%.2f cases/s)",
                      cases, dir.path as NSString, total, genCPU / Double(cases), writeCPU / Double(cases),
                      Double(cases) / (genCPU + writeCPU)))
        if stats { print(summary.report(), terminator: "") }
    }
}
