import Foundation
import MedicalImage

/// One case of a dataset on disk: truth, prediction (nil when missing) and optional extras.
public struct CaseFiles: Sendable, Equatable {
    public var name: String
    public var truth: URL
    public var prediction: URL?
    public var probabilities: URL?
    public var ct: URL?
}

/// Scores NIfTI files or folders of them, as `liverseg evaluate` does.
public enum DatasetEvaluator {
    /// Pairs truth and prediction files. Files are paired directly; folders by LiTS names:
    /// truth `segmentation-N` ↔ prediction `segmentation-N` or `test-segmentation-N`, with
    /// probabilities `*-N` and CT `volume-N` in their folders; other names pair by equal file name.
    public static func pair(truth: URL, prediction: URL, probabilities: URL? = nil, ct: URL? = nil) throws -> [CaseFiles] {
        let fm = FileManager.default
        func isDir(_ u: URL) throws -> Bool {
            var d: ObjCBool = false
            guard fm.fileExists(atPath: u.path, isDirectory: &d) else { throw EvaluationError("\(u.path): no such file or folder") }
            return d.boolValue
        }
        let tDir = try isDir(truth), pDir = try isDir(prediction)
        if let probabilities { _ = try isDir(probabilities) }
        if let ct { _ = try isDir(ct) }
        guard tDir == pDir else {
            throw EvaluationError("--truth \(truth.path) and --pred \(prediction.path) must both be files or both be folders")
        }
        if !tDir {
            return [CaseFiles(name: stem(truth), truth: truth, prediction: prediction, probabilities: probabilities, ct: ct)]
        }
        func niftis(_ d: URL?) throws -> [URL] {
            guard let d else { return [] }
            return try fm.contentsOfDirectory(at: d, includingPropertiesForKeys: nil)
                .filter { $0.lastPathComponent.hasSuffix(".nii") || $0.lastPathComponent.hasSuffix(".nii.gz") }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        let truths = try niftis(truth)
        guard !truths.isEmpty else { throw EvaluationError("\(truth.path): no .nii or .nii.gz files") }
        let preds = try niftis(prediction), probs = try niftis(probabilities), cts = try niftis(ct)
        let lits = truths.contains { litsNumber(stem($0), prefixes: ["segmentation-"]) != nil }
        var out: [CaseFiles] = []
        for t in truths {
            let name = stem(t)
            if lits {
                guard let n = litsNumber(name, prefixes: ["segmentation-"]) else { continue }
                let p = preds.first { litsNumber(stem($0), prefixes: ["segmentation-", "test-segmentation-"]) == n }
                let pr = probs.first { caseNumber(stem($0)) == n }
                let c = cts.first { litsNumber(stem($0), prefixes: ["volume-", "test-volume-"]) == n }
                out.append(CaseFiles(name: name, truth: t, prediction: p, probabilities: pr, ct: c))
            } else {
                let p = preds.first { stem($0) == name }
                let pr = probs.first { stem($0) == name }
                let c = cts.first { stem($0) == name }
                out.append(CaseFiles(name: name, truth: t, prediction: p, probabilities: pr, ct: c))
            }
        }
        return out.sorted { (caseNumber($0.name) ?? Int.max, $0.name) < (caseNumber($1.name) ?? Int.max, $1.name) }
    }

    static func stem(_ u: URL) -> String {
        var n = u.lastPathComponent
        for s in [".nii.gz", ".nii"] where n.hasSuffix(s) { n.removeLast(s.count); break }
        return n
    }
    static func litsNumber(_ s: String, prefixes: [String]) -> Int? {
        for p in prefixes where s.hasPrefix(p) { if let n = Int(s.dropFirst(p.count)) { return n } }
        return nil
    }
    /// The trailing number of names like `prob-12`, `probability-12`, `segmentation-12`.
    static func caseNumber(_ s: String) -> Int? {
        guard let dash = s.lastIndex(of: "-") else { return nil }
        return Int(s[s.index(after: dash)...])
    }

    /// Checks that two volumes share one grid; the error names both files.
    public static func checkSameGrid(_ a: Geometry, _ aName: String, _ b: Geometry, _ bName: String) throws {
        guard a.shape == b.shape else {
            throw EvaluationError("\(bName) has shape \(b.shape) but \(aName) has \(a.shape)")
        }
        // Headers store the affine in float32: allow its rounding, nothing more.
        let worst = zip(a.affine, b.affine).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
        guard worst <= 1e-4 else {
            func rows(_ m: [Double]) -> String {
                (0..<3).map { r in "[" + (0..<4).map { Figures.fmt(m[4 * r + $0], 3) }.joined(separator: " ") + "]" }.joined()
            }
            throw EvaluationError("\(bName) has a different affine (voxel→world) from \(aName): \(rows(b.affine)) vs \(rows(a.affine))")
        }
    }

    /// Scores every case; a case that fails (missing prediction, unreadable, mismatched) is
    /// recorded by name and the rest are still scored. With `figures`, writes a contour
    /// overlay and an overlap map per case (at the slice with the most tumor or foreground)
    /// into that folder, file names relative to it.
    ///
    /// `structures: .automatic` scores LiTS-named cases (`segmentation-N`) as LiTS label maps
    /// even when a case has no tumor, so every case of a dataset has the same structures.
    public static func evaluate(_ files: [CaseFiles], label: String, figures: URL? = nil,
                                structures: StructureSet = .automatic,
                                progress: ((String) -> Void)? = nil) -> DatasetEvaluation {
        var acc = DatasetAccumulator()
        var refs: [FigureReference] = []
        for f in files {
            guard let predURL = f.prediction else {
                acc.fail(f.name, "no prediction for truth \(f.truth.lastPathComponent)")
                progress?("\(f.name): no prediction")
                continue
            }
            do {
                let t = try NIfTI.readLabels(f.truth)
                let p = try NIfTI.readLabels(predURL)
                try checkSameGrid(t.geometry, "truth \(f.truth.lastPathComponent)", p.geometry, "prediction \(predURL.lastPathComponent)")
                var probs: Volume<Float>? = nil
                if let pu = f.probabilities {
                    let v = try NIfTI.read(pu)
                    try checkSameGrid(t.geometry, "truth \(f.truth.lastPathComponent)", v.geometry, "probabilities \(pu.lastPathComponent)")
                    probs = v
                }
                let spacing = t.geometry.spacing
                let set: StructureSet = structures == .automatic && litsNumber(f.name, prefixes: ["segmentation-"]) != nil
                    ? .lits : structures
                let e = try CaseEvaluator.evaluate(name: f.name, truth: t.voxels, prediction: p.voxels, shape: t.shape,
                                                   spacing: spacing, probabilities: probs?.voxels, structures: set)
                let positive = e.metrics.structures.count == 2 ? Structure.tumor.labels : Structure.foreground.labels
                if let probs {
                    try probs.voxels.withUnsafeBufferPointer { pb in
                        try t.voxels.withUnsafeBufferPointer { tb in
                            try acc.add(e.metrics, probabilities: pb, truth: tb, positiveLabels: positive)
                        }
                    }
                } else {
                    acc.add(e.metrics)
                }
                if let figures {
                    refs += try caseFigures(f, truth: t, prediction: p, metrics: e.metrics, labels: positive, into: figures)
                }
                let last = e.metrics.structures.last!
                progress?("\(f.name): \(last.name) Dice \(last.dice.map { Figures.fmt($0, 4) } ?? "n/a")")
            } catch {
                acc.fail(f.name, "\(error)")
                progress?("\(f.name): \(error)")
            }
        }
        return acc.finish(label: label, figures: refs)
    }

    static func caseFigures(_ f: CaseFiles, truth tFile: Volume<UInt8>, prediction pFile: Volume<UInt8>, metrics: CaseMetrics,
                            labels: ClosedRange<UInt8>, into dir: URL) throws -> [FigureReference] {
        // Radiological view whatever the file's axis order: in LAS order `axialSlice` puts the
        // patient's right on the image's left and anterior at the top (LPS and RAS files differ).
        let t = try tFile.reoriented(to: "LAS").volume, p = try pFile.reoriented(to: "LAS").volume
        let shape = t.shape
        let k = Figures.mostInformativeSlice(truth: t.voxels, prediction: p.voxels, shape: shape, labels: labels)
        var ct = [Float](repeating: 0.15, count: shape[0] * shape[1])
        if let cu = f.ct, let file = try? NIfTI.read(cu), file.shape == tFile.shape, let v = try? file.reoriented(to: "LAS").volume {
            // Abdominal window, HU −100…400 → [0, 1], as the networks see it.
            ct = Figures.axialSlice(v.voxels, shape: shape, k: k).map { min(1, max(0, ($0 + 100) / 500)) }
        }
        let ts = Figures.axialSlice(t.voxels, shape: shape, k: k), ps = Figures.axialSlice(p.voxels, shape: shape, k: k)
        var out: [FigureReference] = []
        let scale = max(1, min(4, 512 / max(shape[0], shape[1])))
        for s in metrics.structures {
            let structure = s.name == "tumor" ? Structure.tumor : s.name == "liver" ? Structure.liver : Structure.foreground
            let pm = ps.map { structure.labels.contains($0) }, tm = ts.map { structure.labels.contains($0) }
            let contour = try Figures.contourOverlay(slice: ct, width: shape[0], height: shape[1], prediction: pm, truth: tm, scale: scale)
            let overlap = try Figures.overlapMap(slice: ct, width: shape[0], height: shape[1], prediction: pm, truth: tm, scale: scale)
            let c1 = "\(f.name)-\(s.name)-contour.png", c2 = "\(f.name)-\(s.name)-overlap.png"
            try contour.write(to: dir.appendingPathComponent(c1))
            try overlap.write(to: dir.appendingPathComponent(c2))
            let dice = s.dice.map { Figures.fmt($0, 3) } ?? "n/a"
            out.append(FigureReference(file: c1, caption: "\(f.name), slice \(k): \(s.name) prediction (red) vs truth (blue), Dice \(dice)", kind: "contour", caseName: f.name))
            out.append(FigureReference(file: c2, caption: "\(f.name), slice \(k): \(s.name) overlap, TP yellow, FP red, FN blue", kind: "overlap", caseName: f.name))
        }
        return out
    }
}
