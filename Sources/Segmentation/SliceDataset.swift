import Foundation
import MedicalImage
import Support
import Tensor

/// Training slices kept compactly: HU as Int16 and labels as UInt8 at the model's input
/// size (2 + 1 bytes a pixel instead of 4 + 4), so LiTS-sized datasets fit in memory without
/// holding any volume as float longer than it takes to cut its slices. Windows are applied
/// when a batch is made, so the liver and tumor networks share one cache.
public final class SliceDataset {
    public let size: Int
    public private(set) var hu: [Int16] = []
    public private(set) var labels: [UInt8] = []
    /// With `keepsCoverage`: the share of each pixel's footprint on the scan that is liver
    /// (label ≥ 1), and tumor (label 2), in 1/255 (`SliceResize.coverage`): the networks' soft targets.
    public private(set) var liverCoverage: [UInt8] = []
    public private(set) var tumorCoverage: [UInt8] = []
    public let keepsCoverage: Bool
    /// Index into `caseNames` of each slice's case.
    public private(set) var caseOfSlice: [Int] = []
    /// Each slice's index along the case's (RAS) z axis.
    public private(set) var sliceInCase: [Int] = []
    public private(set) var caseNames: [String] = []
    /// The cascade's liver mask M from network A for each slice (set before training B).
    public var predictedLiver: [UInt8]?
    /// Neighbours kept on each side of every slice along z, for network A's input
    /// (`TrainingConfig.liverContext`).
    public let context: Int
    /// For slice i, its 2·`context` neighbours (−context…−1, 1…context, clamped at the
    /// volume's ends): a slice index when the neighbour is itself one of the slices (liver
    /// slices are contiguous, so nearly always), else −(n + 1) for slice n of `extraHU`.
    private var neighbours: [Int] = []
    /// Neighbours that are not slices themselves, HU as Int16.
    private var extraHU: [Int16] = []

    public var count: Int { caseOfSlice.count }

    /// Indices of slices whose predicted liver mask is not empty (all slices before masks exist).
    public var slicesWithPredictedLiver: [Int] {
        guard let m = predictedLiver else { return Array(0..<count) }
        return (0..<count).filter { i in m[range(i)].contains { $0 > 0 } }
    }
    var pixels: Int { size * size }

    /// Mean and spread of `window`(HU) over the liver (label ≥ 1) of all slices.
    func standardization(window: IntensityWindow) -> Standardization? {
        Standardization.of(zip(hu, labels).lazy.filter { $0.1 >= 1 }.map { window(Float($0.0)) })
    }

    public init(size: Int, context: Int = 0, coverage: Bool = false) {
        precondition(size > 0 && context >= 0, "SliceDataset: size must be positive and context not negative")
        self.size = size
        self.context = context
        keepsCoverage = coverage
    }

    /// Reads, checks and slices `cases`. Slices with liver are all kept (the seed trains on
    /// those); slices without liver are sampled at `nonLiverFraction` of that number so the
    /// model also learns to answer "no liver".
    /// With `bodyCrop` each case's slices are cut to its body's square (`SliceRegion.body`).
    /// With `context`, each slice also keeps that many neighbours on each side; with
    /// `coverage`, the liver's and the tumor's coverage of each pixel.
    public convenience init(cases: [CaseFiles], size: Int, nonLiverFraction: Double, bodyCrop: Bool = false, context: Int = 0,
                            coverage: Bool = false, seed: UInt64, progressLabel: String? = nil) throws {
        self.init(size: size, context: context, coverage: coverage)
        let bar = progressLabel.map { ProgressBar(total: cases.count, label: $0) }
        for (ci, c) in cases.enumerated() {
            try add(c, nonLiverFraction: nonLiverFraction, bodyCrop: bodyCrop, rng: SeededRNG(seed: seed, stream: UInt64(ci)))
            bar?.advance(status: c.name)
        }
        bar?.finish()
    }

    /// Loads a case's image and labels in canonical (RAS) orientation, checking they belong together.
    public static func loadCase(_ c: CaseFiles) throws -> (image: Volume<Float>, labels: Volume<UInt8>) {
        guard let labelURL = c.labels else { throw SegmentationError("case \(c.name): no label map") }
        let image = try MedicalImageReader.read(c.image)
        let labels = try MedicalImageReader.readLabels(labelURL)
        guard image.shape == labels.shape else {
            throw SegmentationError("case \(c.name): image \(c.image.lastPathComponent) has shape \(image.shape) but labels \(labelURL.lastPathComponent) have \(labels.shape)")
        }
        let maxAffineDiff = zip(image.geometry.affine, labels.geometry.affine).map { abs($0 - $1) }.max() ?? 0
        guard maxAffineDiff < 1e-3 else {
            throw SegmentationError("case \(c.name): image and labels have different affines (largest difference \(maxAffineDiff) mm)")
        }
        if let bad = labels.voxels.first(where: { $0 > 2 }) {
            throw SegmentationError("case \(c.name): label value \(bad) in \(labelURL.lastPathComponent); expected 0 background, 1 liver, 2 tumor")
        }
        if let bad = image.voxels.first(where: { !$0.isFinite }) {
            throw SegmentationError("case \(c.name): \(c.image.lastPathComponent) holds a non-finite intensity (\(bad))")
        }
        let ri = try image.reoriented(to: "RAS").volume
        let rl = try labels.reoriented(to: "RAS").volume
        return (ri, rl)
    }

    func add(_ c: CaseFiles, nonLiverFraction: Double, bodyCrop: Bool, rng: SeededRNG) throws {
        var rng = rng
        let (image, lab) = try Self.loadCase(c)
        let (nx, ny, nz) = (image.shape[0], image.shape[1], image.shape[2])
        let region = SliceRegion.view(bodyCrop: bodyCrop, of: image)
        let plane = nx * ny
        var liverSlices: [Int] = [], otherSlices: [Int] = []
        for k in 0..<nz {
            let hasLiver = lab.voxels[(k * plane)..<((k + 1) * plane)].contains { $0 >= 1 }
            if hasLiver { liverSlices.append(k) } else { otherSlices.append(k) }
        }
        guard !liverSlices.isEmpty else {
            throw SegmentationError("case \(c.name): \(c.labels!.lastPathComponent) contains no liver (label 1 or 2); every training case needs one")
        }
        for i in stride(from: otherSlices.count - 1, to: 0, by: -1) { otherSlices.swapAt(i, rng.below(i + 1)) }
        let extra = min(otherSlices.count, Int((Double(liverSlices.count) * nonLiverFraction).rounded()))
        let chosen = (liverSlices + otherSlices.prefix(extra)).sorted()
        let caseIndex = caseNames.count
        caseNames.append(c.name)
        var fbuf = [Float](repeating: 0, count: pixels)
        var lbuf = [UInt8](repeating: 0, count: pixels)
        var cbuf = [Float](repeating: 0, count: keepsCoverage ? pixels : 0)
        func resized(_ k: Int) -> [Int16] {
            image.voxels.withUnsafeBufferPointer { src in
                fbuf.withUnsafeMutableBufferPointer { dst in
                    SliceResize.bilinear(UnsafeBufferPointer(rebasing: src[(k * plane)..<((k + 1) * plane)]), width: nx, height: ny,
                                         region: region, to: dst, width: size, height: size)
                }
            }
            return fbuf.map(Self.int16)
        }
        let first = count
        hu.reserveCapacity(hu.count + chosen.count * pixels)
        labels.reserveCapacity(labels.count + chosen.count * pixels)
        for k in chosen {
            lab.voxels.withUnsafeBufferPointer { src in
                lbuf.withUnsafeMutableBufferPointer { dst in
                    SliceResize.nearest(UnsafeBufferPointer(rebasing: src[(k * plane)..<((k + 1) * plane)]), width: nx, height: ny,
                                        region: region, to: dst, width: size, height: size)
                }
            }
            if keepsCoverage {
                for tumor in [false, true] {
                    lab.voxels.withUnsafeBufferPointer { src in
                        cbuf.withUnsafeMutableBufferPointer { dst in
                            SliceResize.coverage(UnsafeBufferPointer(rebasing: src[(k * plane)..<((k + 1) * plane)]), width: nx, height: ny,
                                                 region: region, to: dst, width: size, height: size) { tumor ? $0 == 2 : $0 >= 1 }
                        }
                    }
                    let q = cbuf.map(Self.share255)
                    if tumor { tumorCoverage.append(contentsOf: q) } else { liverCoverage.append(contentsOf: q) }
                }
            }
            hu.append(contentsOf: resized(k))
            labels.append(contentsOf: lbuf)
            caseOfSlice.append(caseIndex)
            sliceInCase.append(k)
        }
        guard context > 0 else { return }
        let slot = Dictionary(uniqueKeysWithValues: chosen.enumerated().map { ($1, first + $0) })
        var extraSlot: [Int: Int] = [:]
        for k in chosen {
            for o in SliceContext.offsets(context) {
                let z = SliceContext.neighbour(k, o, depth: nz)
                if let i = slot[z] {
                    neighbours.append(i)
                } else if let e = extraSlot[z] {
                    neighbours.append(-(e + 1))
                } else {
                    let e = extraHU.count / pixels
                    extraSlot[z] = e
                    extraHU.append(contentsOf: resized(z))
                    neighbours.append(-(e + 1))
                }
            }
        }
    }

    /// HU of slices `idx` as a float batch [n, 2·context + 1, S, S]: the slice itself in the
    /// middle channel and its neighbours in z order around it (network A's input; [n, 1, S, S]
    /// without context).
    func stack(_ idx: [Int]) -> Tensor {
        let p = pixels, c = 2 * context + 1
        let t = Tensor(uninitializedShape: [idx.count, c, size, size])
        let w = t.writePointer
        for (n, i) in idx.enumerated() {
            for (ch, src) in contextHU(i).enumerated() {
                let dst = w + (n * c + ch) * p
                src.withUnsafeBufferPointer { s in for j in 0..<p { dst[j] = Float(s[j]) } }
            }
        }
        return t
    }

    /// HU of slice i and its neighbours, in z order (the slice alone without context).
    func contextHU(_ i: Int) -> [ArraySlice<Int16>] {
        guard context > 0 else { return [hu[range(i)]] }
        let refs = neighbours[(i * 2 * context)..<((i + 1) * 2 * context)]
        let around = refs.map { r in r >= 0 ? hu[range(r)] : extraHU[range(-r - 1)] }
        return Array(around.prefix(context)) + [hu[range(i)]] + Array(around.suffix(context))
    }

    /// Appends one slice already at the model size (B's crops from the scan are built this
    /// way; they train on their labels, not on coverage).
    func append(hu h: UnsafeBufferPointer<Float>, labels l: UnsafeBufferPointer<Float>, caseName: String, slice k: Int) {
        precondition(h.count == pixels && l.count == pixels, "SliceDataset.append: slice is not \(size)×\(size)")
        precondition(context == 0 && !keepsCoverage, "SliceDataset.append: slices appended one by one have no neighbours or coverage")
        if caseNames.last != caseName { caseNames.append(caseName) }
        hu.append(contentsOf: h.map(Self.int16))
        labels.append(contentsOf: l.map { UInt8($0) })
        caseOfSlice.append(caseNames.count - 1)
        sliceInCase.append(k)
    }

    /// A share in [0, 1] as stored: in 1/255.
    static func share255(_ v: Float) -> UInt8 { UInt8(max(0, min(255, (v * 255).rounded()))) }

    /// HU as stored: rounded and clamped to Int16.
    static func int16(_ v: Float) -> Int16 { Int16(max(-32768, min(32767, v.rounded()))) }

    /// Whether slice `i` holds tumor (label 2).
    func hasTumor(_ i: Int) -> Bool { labels[range(i)].contains(2) }

    /// Pixel range of slice `i`.
    @inline(__always) func range(_ i: Int) -> Range<Int> { (i * pixels)..<((i + 1) * pixels) }
}

extension Array {
    /// The elements that satisfy `belongs` and those that do not, each in their original order.
    func partitioned(by belongs: (Element) -> Bool) -> (matching: [Element], rest: [Element]) {
        var a: [Element] = [], b: [Element] = []
        for e in self { if belongs(e) { a.append(e) } else { b.append(e) } }
        return (a, b)
    }
}
