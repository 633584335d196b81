import Evaluation
import Foundation
import MedicalImage
import NeuralNet
import Support
import Tensor

/// What `segment` reports for a case.
public struct CaseSummary: Codable, Sendable {
    public var liverML: Double
    public var tumorCount: Int
    public var tumorML: Double
    /// Tumor volume / liver volume (liver including tumor), as LiTS defines tumor burden.
    public var tumorBurden: Double
    /// Seconds per stage: "liver", "tumor", "post".
    public var seconds: [String: Double]

    enum CodingKeys: String, CodingKey {
        case liverML = "liver_ml", tumorCount = "tumor_count", tumorML = "tumor_ml", tumorBurden = "tumor_burden", seconds
    }

    public var line: String {
        String(format: "liver %.1f mL, %d tumor(s) %.2f mL, tumor burden %.2f%%", liverML, tumorCount, tumorML, 100 * tumorBurden)
    }
}

/// Segments whole volumes slice by slice: canonical orientation, resize to the model, the
/// networks in batches (B only on slices where A found liver), back to the scan's grid,
/// post-processing, and the input's own orientation and affine for the output.
/// Memory stays at the volume plus one batch: probabilities are thresholded slice by slice.
/// An ensemble's members see each batch in turn, and their probabilities are averaged.
public final class Predictor {
    public let ensemble: ModelEnsemble
    /// The configuration the members share (the model itself when alone).
    public var model: LiverTumorModel { ensemble.shared }
    /// Slices per pass through the networks. Every batch's activations and oneDNN buffers scale
    /// with it while the time does not (2 cores, 512²×200 with a 256²/F=32 cascade, `bench
    /// segment`, alternating runs: batch 1 peaked at 341 MB in 34–43 s, batch 2 at 437 MB in
    /// 40–50 s), so one slice at a time is the default.
    public var batchSize = 1
    public var keepLargest = true
    /// Bridges between the liver and a neighbour up to 2·`bridgeRadius` voxels thick are cut
    /// before the largest component is kept (`BridgeCut`); 0 keeps the plain largest component.
    public var bridgeRadius = PostProcessing.bridgeRadius
    public var liverThreshold: Float
    public var tumorThreshold: Float
    /// Found lesions reach out to where B's probability is at least this (≤ `tumorThreshold`;
    /// nil: the tumor threshold, no reach). See `PostProcessing.lesions`.
    public var tumorExtentThreshold: Float?
    /// Lesions whose core (probability ≥ `tumorThreshold`) is under this volume (mL) become liver.
    public var minLesionML: Double
    /// Lesions spanning fewer slices become liver.
    public var minLesionSlices: Int
    /// The cascade's kept liver is closed slice by slice with a disk of this radius (mm) before
    /// B looks at it (`LiverClosing`); 0: not closed.
    public var liverClosingMM = LiverClosing.defaultRadiusMM
    /// Found lesions grow up to this many voxels where the CT continues them (`LesionRefinement`); 0: B's labels as they are.
    public var lesionReach = LesionRefinement.defaultReach
    /// Where a lesion's edge lies between the liver's value and the lesion's (`LesionRefinement`).
    public var lesionBoundary = LesionRefinement.defaultBoundary
    /// Whether lesions well clear of the liver's noise lose their edge voxels that the CT calls liver.
    public var lesionTrim = true

    public convenience init(model: LiverTumorModel) {
        // One model is always an ensemble of one.
        try! self.init(ensemble: ModelEnsemble([model]))
    }

    /// The ensemble's operating point (`ModelEnsemble`) unless told otherwise.
    public init(ensemble: ModelEnsemble) {
        self.ensemble = ensemble
        liverThreshold = ensemble.liverThreshold
        tumorThreshold = ensemble.tumorThreshold
        tumorExtentThreshold = ensemble.tumorExtentThreshold
        minLesionML = ensemble.minLesionML
        minLesionSlices = ensemble.minLesionSlices
    }

    /// Labels (0/1/2) on the input's grid, and optionally the tumor probability there.
    public func segment(_ volume: Volume<Float>, tumorProbability: Bool = false,
                        progress: ProgressBar? = nil) throws -> (labels: Volume<UInt8>, probability: Volume<Float>?, summary: CaseSummary) {
        try segment(ScanVolume(volume), tumorProbability: tumorProbability, progress: progress)
    }

    /// Same for a scan as it was stored (`MedicalImageReader.readScan`): 16-bit CT stays 16-bit
    /// in memory and becomes HU one batch of planes at a time.
    public func segment(_ volume: ScanVolume, tumorProbability: Bool = false,
                        progress: ProgressBar? = nil) throws -> (labels: Volume<UInt8>, probability: Volume<Float>?, summary: CaseSummary) {
        guard batchSize >= 1 else { throw SegmentationError("the batch size must be at least 1 slice, got \(batchSize)") }
        if let bad = volume.firstNonFinite {
            throw SegmentationError("the input holds a non-finite intensity (\(bad)); cannot segment")
        }
        // The networks see canonical (RAS) slices; each batch's planes are read from the input
        // as they are needed, so no reoriented copy of the volume is ever held.
        let reo = try Reorientation(from: volume.geometry, to: "RAS")
        let canon = reo.target
        let (nx, ny, nz) = (canon.shape[0], canon.shape[1], canon.shape[2])
        let plane = nx * ny, s = model.size, sp = s * s
        let voxelCount = canon.voxelCount
        var labels = [UInt8](repeating: 0, count: voxelCount)
        var prob: [Float]? = tumorProbability ? [Float](repeating: 0, count: voxelCount) : nil
        // The batch's scan planes, for B's crops from the scan.
        var planes = [Float](repeating: 0, count: model.tumorCropFromScan ? batchSize * plane : 0)
        var times = ["liver": 0.0, "tumor": 0.0, "post": 0.0]
        let extent = min(tumorExtentThreshold ?? tumorThreshold, tumorThreshold)
        var native = [Float](repeating: 0, count: plane)
        var tumorNative = [Float](repeating: 0, count: plane)
        let tRegion = ProcessStats.now()
        let region = model.region(width: nx, height: ny, depth: nz, spacing: (canon.spacing[0], canon.spacing[1])) { k, out in volume.plane(k, of: reo, into: out) }
        times["liver"]! += ProcessStats.now() - tRegion

        // Slice k at the model size, and as the scan stores it when B's crops come from the scan.
        func readSlice(_ k: Int, scan: Bool) -> (view: [Float], scan: [Float]?) {
            var view = [Float](repeating: 0, count: sp)
            native.withUnsafeMutableBufferPointer { buf in
                volume.plane(k, of: reo, into: buf)
                view.withUnsafeMutableBufferPointer {
                    SliceResize.bilinear(UnsafeBufferPointer(buf), width: nx, height: ny, region: region, to: $0, width: s, height: s)
                }
            }
            return (view, scan ? native : nil)
        }
        // A's slices, read and resized once however many of its stacks they are in: with
        // neighbours each slice is in up to 2·liverContext + 1 of them.
        var cache: [Int: [Float]] = [:]
        func view(_ k: Int) -> [Float] {
            if let c = cache[k] { return c }
            let v = readSlice(k, scan: false).view
            cache[k] = v
            return v
        }

        // The batch's tumor probabilities back on the scan's grid, as labels of the slices'
        // liver voxels (and as the probability output).
        func placeTumor(_ ks: [Int], tumor: (Int) -> [Float]?) {
            for (n, k) in ks.enumerated() {
                let base = k * plane
                guard let t = tumor(n) else { continue }
                for j in 0..<plane where labels[base + j] == 1 {
                    labels[base + j] = PostProcessing.liverLabel(tumorProbability: t[j], threshold: tumorThreshold, extent: extent)
                }
                if prob != nil { for j in 0..<plane { prob![base + j] = t[j] } }
            }
        }
        func hasLiver(_ k: Int) -> Bool { labels[(k * plane)..<((k + 1) * plane)].contains { $0 != 0 } }
        func toNative(_ t: Tensor, _ n: Int, into out: inout [Float]) {
            SliceResize.bilinear(UnsafeBufferPointer(start: t.readPointer + n * sp, count: sp), width: s, height: s,
                                 to: out.withUnsafeMutableBufferPointer { $0 }, width: nx, height: ny, region: region)
        }

        // Pass 1: A (or the one-step network) on every slice, in batches.
        var pending = nz    // slices the progress bar has yet to count
        for start in stride(from: 0, to: nz, by: batchSize) {
            let ks = Array(start..<min(nz, start + batchSize))
            cache = cache.filter { $0.key >= start - model.liverContext }
            // A's input: the slices with their neighbours along z (the slices alone without context).
            let huA = SliceContext.stack(ks, radius: model.liverContext, depth: nz, size: s) { k, out in
                view(k).withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: sp) }
            }
            let t0 = ProcessStats.now()
            let liverProb: Tensor
            var tumorProb: Tensor? = nil
            if model.kind == .oneStep {
                // The one-step network's two outputs come from one pass: each member runs once.
                let both = ensemble.models.map { $0.predict(hu: huA) }
                liverProb = ModelEnsemble.mean(both.map(\.liver))
                tumorProb = ModelEnsemble.mean(both.map(\.tumor))
            } else {
                liverProb = ensemble.mean { $0.logitsA(huA).sigmoid() }
            }
            times["liver"]! += ProcessStats.now() - t0
            let tp = ProcessStats.now()
            for (n, k) in ks.enumerated() {
                toNative(liverProb, n, into: &native)
                for j in 0..<plane where native[j] >= liverThreshold { labels[k * plane + j] = 1 }
            }
            if let tumorProb {
                placeTumor(ks) { n in toNative(tumorProb, n, into: &tumorNative); return tumorNative }
            }
            times["post"]! += ProcessStats.now() - tp
            // The cascade's slices with liver are done once B has seen them (pass 2).
            let done = model.kind == .oneStep ? ks.count : ks.filter { !hasLiver($0) }.count
            progress?.advance(done)
            pending -= done
        }
        cache = [:]

        if model.kind != .oneStep {
            // The liver is one organ before B looks at it: B sees the kept component only, so
            // a neighbouring organ A took for liver neither shifts B's per-slice centring nor
            // gets lesions of its own (docs/experiments.md, session 13).
            var t0 = ProcessStats.now()
            PostProcessing.apply(&labels, shape: canon.shape, keepLargest: keepLargest, bridgeRadius: bridgeRadius)
            LiverClosing.apply(&labels, shape: canon.shape, spacing: (canon.spacing[0], canon.spacing[1]), radiusMM: liverClosingMM)
            times["post"]! += ProcessStats.now() - t0
            // Pass 2: B on the slices with liver, the kept liver as its mask M (the kept
            // component resized to the model, M where ≥ 0.5).
            let withLiver = (0..<nz).filter(hasLiver)
            progress?.advance(pending - withLiver.count)   // slices whose liver the clean-up removed
            var maskNative = [Float](repeating: 0, count: plane)
            for start in stride(from: 0, to: withLiver.count, by: batchSize) {
                let ks = Array(withLiver[start..<min(withLiver.count, start + batchSize)])
                // B's slices with its neighbours along z (`tumorContext`), or the scan's planes.
                cache = cache.filter { $0.key >= ks[0] - model.tumorContext }
                let hu = model.tumorCropFromScan ? nil : SliceContext.stack(ks, radius: model.tumorContext, depth: nz, size: s) { k, out in
                    view(k).withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: sp) }
                }
                let mask = Tensor(uninitializedShape: [ks.count, 1, s, s])
                for (n, k) in ks.enumerated() {
                    if model.tumorCropFromScan { planes.replaceSubrange((n * plane)..<((n + 1) * plane), with: readSlice(k, scan: true).scan!) }
                    for j in 0..<plane { maskNative[j] = labels[k * plane + j] != 0 ? 1 : 0 }
                    let m = UnsafeMutableBufferPointer(start: mask.writePointer + n * sp, count: sp)
                    maskNative.withUnsafeBufferPointer { SliceResize.bilinear($0, width: nx, height: ny, region: region, to: m, width: s, height: s) }
                    // B's crops from the scan resample M again and threshold it there, so its
                    // edge follows the scan's, not the model's pixels: it gets M unthresholded.
                    if !model.tumorCropFromScan { for j in 0..<sp { m[j] = m[j] >= 0.5 ? 1 : 0 } }
                }
                // A liver of a few voxels can vanish at the model's size: nothing for B to see.
                guard UnsafeBufferPointer(start: mask.readPointer, count: mask.count).contains(where: { $0 >= 0.5 }) else {
                    progress?.advance(ks.count)
                    continue
                }
                t0 = ProcessStats.now()
                if model.tumorCropFromScan {
                    // B sees the liver square cut from the scan at its own resolution, and
                    // its answer goes straight back to the scan's grid.
                    let inputs = planes.withUnsafeBufferPointer { v in
                        model.tumorInputsFromScan(scan: ks.indices.map { UnsafeBufferPointer(rebasing: v[($0 * plane)..<(($0 + 1) * plane)]) },
                                                  width: nx, height: ny, liver: mask, threshold: 0.5)
                    }
                    let pb = ensemble.mean { $0.tumorProbability(crops: inputs.hu, mask: inputs.mask) }
                    var scanTumor: [Int: [Float]] = [:]
                    for (j, n) in inputs.slices.enumerated() {
                        var t = [Float](repeating: 0, count: plane)
                        t.withUnsafeMutableBufferPointer { inputs.crops[j].uncrop(UnsafeBufferPointer(start: pb.readPointer + j * sp, count: sp), into: $0, width: nx, height: ny) }
                        scanTumor[n] = t
                    }
                    times["tumor"]! += ProcessStats.now() - t0
                    t0 = ProcessStats.now()
                    placeTumor(ks) { scanTumor[$0] }
                } else {
                    let pb = ensemble.mean { $0.tumorProbability(hu: hu!, mask: mask) }
                    times["tumor"]! += ProcessStats.now() - t0
                    t0 = ProcessStats.now()
                    placeTumor(ks) { n in toNative(pb, n, into: &tumorNative); return tumorNative }
                }
                times["post"]! += ProcessStats.now() - t0
                progress?.advance(ks.count)
            }
        }
        // The networks' buffers wait for the next batch of the same sizes; none comes before
        // the next case, and post-processing needs memory of its own.
        BufferPool.trim()
        let t0 = ProcessStats.now()
        let voxelML = canon.voxelML
        // Lesions first: the liver's components count extent voxels (3) only once they are 1 or 2.
        PostProcessing.lesions(&labels, shape: canon.shape, minML: minLesionML, minSlices: minLesionSlices, voxelML: voxelML)
        // The cascade's liver was cleaned before B, and lesions lie inside it.
        if model.kind == .oneStep { PostProcessing.apply(&labels, shape: canon.shape, keepLargest: keepLargest, bridgeRadius: bridgeRadius) }
        LesionRefinement.apply(&labels, shape: canon.shape, spacing: canon.spacing, reach: lesionReach,
                                boundary: lesionBoundary, trim: lesionTrim) { k, out in volume.plane(k, of: reo, into: out) }
        if prob != nil { for i in labels.indices where labels[i] == 0 { prob![i] = 0 } }
        let liverVoxels = labels.reduce(0) { $0 + ($1 >= 1 ? 1 : 0) }
        let tumorVoxels = labels.reduce(0) { $0 + ($1 == 2 ? 1 : 0) }
        let tumorCount = labels.withUnsafeBufferPointer { Components($0, labels: 2...2, shape: canon.shape).count }
        let outLabels = reo.revert(Volume<UInt8>(geometry: canon, voxels: labels, transformCodes: volume.transformCodes))
        let outProb = prob.map { reo.revert(Volume<Float>(geometry: canon, voxels: $0, transformCodes: volume.transformCodes)) }
        times["post"]! += ProcessStats.now() - t0
        let summary = CaseSummary(liverML: Double(liverVoxels) * voxelML, tumorCount: tumorCount, tumorML: Double(tumorVoxels) * voxelML,
                                  tumorBurden: liverVoxels == 0 ? 0 : Double(tumorVoxels) / Double(liverVoxels), seconds: times)
        return (outLabels, outProb, summary)
    }
}
