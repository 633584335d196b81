import Foundation
import MedicalImage
import Support

/// Writes synthetic cases in the LiTS layout: `volume-i.nii.gz` (CT in HU) and
/// `segmentation-i.nii.gz` (uint8 0 background, 1 liver, 2 tumor) for each case i, plus a
/// `phantom.json` manifest describing every case (geometry, lesions, HU statistics).
public enum PhantomDataset {
    public enum VolumeType: String, Sendable, CaseIterable {
        /// int16 with scl_inter (−1024 for even cases, 0 for odd ones: real archives mix both).
        case int16
        case float32
    }

    public struct Manifest: Codable, Sendable {
        public var generator: String
        public var seed: UInt64
        public var size: Int
        public var slices: [Int]
        public var cases: [PhantomCaseInfo]
    }

    public static func volumeURL(_ dir: URL, _ i: Int) -> URL { dir.appendingPathComponent("volume-\(i).nii.gz") }
    public static func segmentationURL(_ dir: URL, _ i: Int) -> URL { dir.appendingPathComponent("segmentation-\(i).nii.gz") }
    public static func previewURL(_ dir: URL, _ i: Int) -> URL { dir.appendingPathComponent("preview-\(i).png") }
    public static func manifestURL(_ dir: URL) -> URL { dir.appendingPathComponent("phantom.json") }

    /// Writes one case's files.
    public static func write(_ c: PhantomCase, to dir: URL, volumeType: VolumeType = .int16, preview: Bool = false) throws {
        let i = c.info.index
        switch volumeType {
        case .int16:
            let scaling = Scaling(slope: 1, intercept: i % 2 == 0 ? -1024 : 0)
            try NIfTI.write(c.image, to: volumeURL(dir, i), as: .int16, scaling: scaling)
        case .float32:
            try NIfTI.write(c.image, to: volumeURL(dir, i), as: .float32)
        }
        try NIfTI.write(c.labels, to: segmentationURL(dir, i))
        if preview {
            try PhantomPreview.montage(image: c.image, labels: c.labels).write(to: previewURL(dir, i))
        }
    }

    /// Generates and writes cases `indices` with `seed`; train and test sets come from
    /// different seeds or disjoint index ranges. Returns the cases' descriptions and merges
    /// them into the folder's manifest. `progress` is called after each case.
    @discardableResult
    public static func write(to dir: URL, cases indices: Range<Int>, seed: UInt64, config: PhantomConfig = PhantomConfig(),
                             volumeType: VolumeType = .int16, preview: Bool = false, jobs: Int = 1,
                             progress: ((PhantomCaseInfo, CaseTiming) -> Void)? = nil) throws -> [PhantomCaseInfo] {
        let gen = PhantomGenerator(config)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw PhantomError("cannot create output folder \(dir.path): \(error.localizedDescription)")
        }
        let list = Array(indices)
        // Cases are independent (each depends only on seed and index), so workers may take
        // them in any order; results are collected by position and reported under a lock.
        let results = ResultBox(count: list.count, progress: progress)
        let work: @Sendable (Int) -> Void = { n in
            if results.failed { return }
            do {
                let t0 = CaseTiming.threadCPUSeconds()
                let c = try gen.makeCase(index: list[n], seed: seed)
                let t1 = CaseTiming.threadCPUSeconds()
                try write(c, to: dir, volumeType: volumeType, preview: preview)
                let t2 = CaseTiming.threadCPUSeconds()
                results.finish(n, c.info, CaseTiming(generateCPU: t1 - t0, writeCPU: t2 - t1))
            } catch {
                results.fail(error)
            }
        }
        if jobs > 1 {
            DispatchQueue.concurrentPerform(iterations: list.count, execute: work)
        } else {
            for n in 0..<list.count { work(n) }
        }
        if let e = results.error { throw e }
        let infos = results.infos.compactMap { $0 }
        try mergeManifest(dir: dir, seed: seed, config: config, infos: infos)
        return infos
    }

    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        var infos: [PhantomCaseInfo?]
        var error: Error?
        var failed: Bool { lock.lock(); defer { lock.unlock() }; return error != nil }

        /// Called only under the lock, so the caller's closure needs no synchronization of its own.
        let progress: ((PhantomCaseInfo, CaseTiming) -> Void)?

        init(count: Int, progress: ((PhantomCaseInfo, CaseTiming) -> Void)?) {
            infos = Array(repeating: nil, count: count)
            self.progress = progress
        }

        func finish(_ n: Int, _ info: PhantomCaseInfo, _ t: CaseTiming) {
            lock.lock(); defer { lock.unlock() }
            infos[n] = info
            progress?(info, t)
        }

        func fail(_ e: Error) {
            lock.lock(); defer { lock.unlock() }
            if error == nil { error = e }
        }
    }

    static func mergeManifest(dir: URL, seed: UInt64, config: PhantomConfig, infos: [PhantomCaseInfo]) throws {
        let url = manifestURL(dir)
        var byIndex: [Int: PhantomCaseInfo] = [:]
        if let data = try? Data(contentsOf: url), let old = try? JSONDecoder().decode(Manifest.self, from: data), old.seed == seed {
            for c in old.cases { byIndex[c.index] = c }
        }
        for c in infos { byIndex[c.index] = c }
        let manifest = Manifest(generator: "liverseg synth", seed: seed, size: config.size,
                                slices: [config.slices.lowerBound, config.slices.upperBound],
                                cases: byIndex.keys.sorted().map { byIndex[$0]! })
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(enc.encode(manifest), to: url)
    }
}

/// CPU time (this thread) spent on one case: the machine may be shared, so wall time
/// would say more about the neighbours than about the generator.
public struct CaseTiming: Sendable {
    public var generateCPU: Double
    public var writeCPU: Double

    public static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// Statistics over many cases, for `liverseg synth --stats`.
public struct PhantomSummary: Sendable {
    public private(set) var cases = 0
    private var sums: [String: (n: Int, s: Double, q: Double, caseMeans: [Double])] = [:]
    public private(set) var lesionCounts: [Int] = []
    public private(set) var tumorFractions: [Double] = []
    public private(set) var kinds: [TumorKind: Int] = [:]
    public private(set) var diameters: [Double] = []

    public init() {}

    public mutating func add(_ info: PhantomCaseInfo) {
        cases += 1
        for (k, st) in info.stats where st.count > 0 {
            var e = sums[k] ?? (0, 0, 0, [])
            e.n += st.count
            e.s += st.mean * Double(st.count)
            e.q += (st.std * st.std + st.mean * st.mean) * Double(st.count)
            e.caseMeans.append(st.mean)
            sums[k] = e
        }
        lesionCounts.append(info.visibleTumors)
        tumorFractions.append(info.tumorFraction)
        for t in info.tumors where t.voxels > 0 {
            kinds[t.kind, default: 0] += 1
            diameters.append(t.diameterMM)
        }
    }

    /// A plain-text report: HU per label and tissue, lesion count and tumor fraction histograms.
    public func report() -> String {
        var out = "HU statistics over \(cases) case(s) (voxel-weighted mean ± std; range of per-case means):\n"
        let order = ["background", "body background", "liver", "liver parenchyma", "liver vessels", "tumor", "spleen",
                     "kidney cortex", "aorta", "ivc", "muscle", "fat", "gallbladder", "bone marrow", "cortical bone", "air"]
        out += "  " + "label/tissue".padding(toLength: 18, withPad: " ", startingAt: 0) + "      voxels      mean      std   case means\n"
        for k in order {
            guard let e = sums[k], e.n > 0 else { continue }
            let m = e.s / Double(e.n)
            let sd = max(0, e.q / Double(e.n) - m * m).squareRoot()
            let lo = e.caseMeans.min() ?? 0, hi = e.caseMeans.max() ?? 0
            out += "  " + k.padding(toLength: 18, withPad: " ", startingAt: 0)
                + String(format: "%12d %9.1f %8.1f   %.0f…%.0f\n", e.n, m, sd, lo, hi)
        }
        out += "Visible lesions per case (histogram):\n"
        let maxC = lesionCounts.max() ?? 0
        for c in 0...max(maxC, 0) {
            let n = lesionCounts.filter { $0 == c }.count
            out += String(format: "  %2d: %4d %@\n", c, n, String(repeating: "#", count: min(n, 60)) as NSString)
        }
        out += "Tumor volume fraction of the liver region (histogram):\n"
        let edges: [Double] = [0, 0.0001, 0.001, 0.01, 0.03, 0.1, 0.3, 1.0001]
        let names = ["0", "<0.01%", "0.01–0.1%", "0.1–1%", "1–3%", "3–10%", "10–30%", ">30%"]
        for b in 0..<names.count {
            let n: Int
            if b == 0 { n = tumorFractions.filter { $0 == 0 }.count } else {
                n = tumorFractions.filter { $0 > 0 && $0 >= edges[b - 1] && $0 < edges[b] }.count
            }
            out += "  " + names[b].padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "%4d %@\n", n, String(repeating: "#", count: min(n, 60)) as NSString)
        }
        if !diameters.isEmpty {
            let sorted = diameters.sorted()
            out += String(format: "Lesion diameters (mm): min %.1f, median %.1f, max %.1f; kinds: ", sorted.first!, sorted[sorted.count / 2], sorted.last!)
            out += TumorKind.allCases.map { "\($0.rawValue) \(kinds[$0] ?? 0)" }.joined(separator: ", ") + "\n"
        }
        return out
    }
}
