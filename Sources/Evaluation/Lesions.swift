/// Connected components (26-connected in 3-D) of the voxels whose label is in a range.
public struct Components: Sendable {
    /// Component sizes in voxels, numbered like scipy.ndimage.label on an (x, y, z) array.
    public var sizes: [Int]
    /// For each voxel of the bounding box, its component (1-based) or 0.
    var labels: [Int32]
    var box: BoundingBox?

    /// Labels the components of `labels ∈ range` in a label map of the given shape.
    public init(_ v: UnsafeBufferPointer<UInt8>, labels range: ClosedRange<UInt8>, shape: [Int]) {
        self.init(v, labels: range, shape: shape, box: LabelBoxes(v, shape: shape).box(range))
    }

    init(_ v: UnsafeBufferPointer<UInt8>, labels range: ClosedRange<UInt8>, shape: [Int], box: BoundingBox?) {
        guard let box else {
            sizes = []; labels = []; self.box = nil; return
        }
        self.box = box
        let mask = box.crop(v, labels: range, shape: shape)
        let nx = box.size[0], ny = box.size[1], nz = box.size[2]
        var parent: [Int32] = [0]
        var lab = [Int32](repeating: 0, count: mask.count)
        func find(_ x: Int32) -> Int32 {
            var r = x
            while parent[Int(r)] != r { r = parent[Int(r)] }
            var y = x
            while parent[Int(y)] != r { let nxt = parent[Int(y)]; parent[Int(y)] = r; y = nxt }
            return r
        }
        // Raster scan over the 13 already visited neighbours of the 26.
        for k in 0..<nz {
            for j in 0..<ny {
                for i in 0..<nx {
                    let idx = (k * ny + j) * nx + i
                    guard mask[idx] else { continue }
                    var current: Int32 = 0
                    for dk in -1...0 {
                        let kk = k + dk
                        if kk < 0 { continue }
                        for dj in -1...1 {
                            let jj = j + dj
                            if jj < 0 || jj >= ny || (dk == 0 && dj > 0) { continue }
                            for di in -1...1 {
                                let ii = i + di
                                if ii < 0 || ii >= nx || (dk == 0 && dj == 0 && di >= 0) { continue }
                                let l = lab[(kk * ny + jj) * nx + ii]
                                if l == 0 { continue }
                                if current == 0 { current = find(l) } else {
                                    let a = find(l), b = current
                                    if a != b { parent[Int(max(a, b))] = min(a, b); current = min(a, b) }
                                }
                            }
                        }
                    }
                    if current == 0 { current = Int32(parent.count); parent.append(current) }
                    lab[idx] = current
                }
            }
        }
        // Renumber as scipy.ndimage.label numbers the array nibabel returns (axes x, y, z in C
        // order): by each component's lexicographically first (i, j, k) voxel.
        var firstKey = [Int](repeating: Int.max, count: parent.count)
        for idx in 0..<lab.count where lab[idx] != 0 {
            let r = Int(find(lab[idx]))
            let i = idx % nx, j = (idx / nx) % ny, k = idx / (nx * ny)
            firstKey[r] = min(firstKey[r], (i * ny + j) * nz + k)
        }
        let roots = (0..<parent.count).filter { firstKey[$0] != Int.max }.sorted { firstKey[$0] < firstKey[$1] }
        var final = [Int32](repeating: 0, count: parent.count)
        for (n, r) in roots.enumerated() { final[r] = Int32(n + 1) }
        var sizes = [Int](repeating: 0, count: roots.count)
        for idx in 0..<lab.count where lab[idx] != 0 {
            let f = final[Int(find(lab[idx]))]
            lab[idx] = f
            sizes[Int(f) - 1] += 1
        }
        self.sizes = sizes
        self.labels = lab
    }

    public var count: Int { sizes.count }

    /// The component (1-based) at voxel (i, j, k) of the full grid, 0 for none.
    @inline(__always) func label(_ i: Int, _ j: Int, _ k: Int) -> Int {
        guard let box else { return 0 }
        let li = i - box.lower[0], lj = j - box.lower[1], lk = k - box.lower[2]
        let s = box.size
        guard li >= 0, lj >= 0, lk >= 0, li < s[0], lj < s[1], lk < s[2] else { return 0 }
        return Int(labels[(lk * s[1] + lj) * s[0] + li])
    }

    /// Each component's bounding box (inclusive voxel indices of the full grid), by component.
    public func boxes() -> [(lower: [Int], upper: [Int])] {
        var boxes = Array(repeating: (lower: [Int.max, Int.max, Int.max], upper: [-1, -1, -1]), count: sizes.count)
        forEachVoxel { c, i, j, k in
            func widen(_ a: Int, _ v: Int) {
                boxes[c - 1].lower[a] = min(boxes[c - 1].lower[a], v)
                boxes[c - 1].upper[a] = max(boxes[c - 1].upper[a], v)
            }
            widen(0, i); widen(1, j); widen(2, k)
        }
        return boxes
    }

    /// Calls `body(component, i, j, k)` for every labelled voxel (full-grid coordinates).
    func forEachVoxel(_ body: (Int, Int, Int, Int) -> Void) {
        guard let box else { return }
        let s = box.size
        for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] {
            let l = labels[(k * s[1] + j) * s[0] + i]
            if l != 0 { body(Int(l), i + box.lower[0], j + box.lower[1], k + box.lower[2]) }
        } } }
    }

    /// Calls `body(component, globalIndex)` for every labelled voxel.
    public func forEachVoxel(shape: [Int], _ body: (Int, Int) -> Void) {
        guard let box else { return }
        let s = box.size
        for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] {
            let l = labels[(k * s[1] + j) * s[0] + i]
            if l != 0 { body(Int(l), ((k + box.lower[2]) * shape[1] + j + box.lower[1]) * shape[0] + i + box.lower[0]) }
        } } }
    }
}

/// Lesion-level scores the LiTS way: connected tumor components (26-connected), a reference
/// lesion counts as detected when some predicted lesion overlaps it with IoU > 0.5 (so the
/// match is one-to-one), and tumor burden is tumor voxels over liver voxels.
public struct LesionMetrics: Sendable, Codable, Equatable {
    public var truthLesions: Int
    public var predictedLesions: Int
    /// Reference lesions matched by a predicted lesion with IoU > 0.5.
    public var detected: Int
    /// Predicted lesions matched by a reference lesion with IoU > 0.5.
    public var correctPredictions: Int
    /// detected / truthLesions; nil without reference lesions.
    public var detectionRecall: Double?
    /// correctPredictions / predictedLesions; nil without predicted lesions.
    public var detectionPrecision: Double?
    /// Lesion volumes in mL, numbered like scipy.ndimage.label on the (x, y, z) array.
    public var truthVolumesML: [Double]
    public var predictedVolumesML: [Double]
    /// Tumor voxels / liver voxels (liver = label ≥ 1); nil without liver.
    public var truthBurden: Double?
    public var predictedBurden: Double?
    /// predictedBurden − truthBurden.
    public var burdenError: Double?

    enum CodingKeys: String, CodingKey {
        case truthLesions = "truth_lesions", predictedLesions = "predicted_lesions", detected
        case correctPredictions = "correct_predictions", detectionRecall = "detection_recall"
        case detectionPrecision = "detection_precision", truthVolumesML = "truth_volumes_ml"
        case predictedVolumesML = "predicted_volumes_ml", truthBurden = "truth_burden"
        case predictedBurden = "predicted_burden", burdenError = "burden_error"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(truthLesions, forKey: .truthLesions)
        try c.encode(predictedLesions, forKey: .predictedLesions)
        try c.encode(detected, forKey: .detected)
        try c.encode(correctPredictions, forKey: .correctPredictions)
        try c.encode(detectionRecall, forKey: .detectionRecall)
        try c.encode(detectionPrecision, forKey: .detectionPrecision)
        try c.encode(truthVolumesML, forKey: .truthVolumesML)
        try c.encode(predictedVolumesML, forKey: .predictedVolumesML)
        try c.encode(truthBurden, forKey: .truthBurden)
        try c.encode(predictedBurden, forKey: .predictedBurden)
        try c.encode(burdenError, forKey: .burdenError)
    }

    /// Lesion scores of label maps (tumor = `tumorLabels`, liver = `liverLabels`);
    /// `voxelVolumeML` is one voxel's volume in mL (mm³ / 1000).
    public static func compute(prediction: UnsafeBufferPointer<UInt8>, truth: UnsafeBufferPointer<UInt8>, shape: [Int],
                               voxelVolumeML: Double, tumorLabels: ClosedRange<UInt8> = 2...2,
                               liverLabels: ClosedRange<UInt8> = 1...255,
                               liverCounts: (truth: Int, prediction: Int), tumorCounts: (truth: Int, prediction: Int)) -> LesionMetrics {
        compute(prediction: prediction, truth: truth, shape: shape, voxelVolumeML: voxelVolumeML, tumorLabels: tumorLabels,
                liverLabels: liverLabels, liverCounts: liverCounts, tumorCounts: tumorCounts,
                boxes: (LabelBoxes(prediction, shape: shape), LabelBoxes(truth, shape: shape)))
    }

    static func compute(prediction: UnsafeBufferPointer<UInt8>, truth: UnsafeBufferPointer<UInt8>, shape: [Int],
                        voxelVolumeML: Double, tumorLabels: ClosedRange<UInt8>, liverLabels: ClosedRange<UInt8>,
                        liverCounts: (truth: Int, prediction: Int), tumorCounts: (truth: Int, prediction: Int),
                        boxes: (LabelBoxes, LabelBoxes)) -> LesionMetrics {
        let ct = Components(truth, labels: tumorLabels, shape: shape, box: boxes.1.box(tumorLabels))
        let cp = Components(prediction, labels: tumorLabels, shape: shape, box: boxes.0.box(tumorLabels))
        // Intersections of (truth component, predicted component) pairs.
        var inter: [Int: Int] = [:]  // key = t * (count_p + 1) + p
        let stride = cp.count + 1
        ct.forEachVoxel { c, i, j, k in
            let p = cp.label(i, j, k)
            if p != 0 { inter[c * stride + p, default: 0] += 1 }
        }
        var truthFound = Set<Int>(), predFound = Set<Int>()
        for (key, i) in inter {
            let t = key / stride, p = key % stride
            let union = ct.sizes[t - 1] + cp.sizes[p - 1] - i
            if 2 * i > union { truthFound.insert(t); predFound.insert(p) }  // IoU > 0.5, exactly
        }
        func burden(_ tumor: Int, _ liver: Int) -> Double? { liver == 0 ? nil : Double(tumor) / Double(liver) }
        let tb = burden(tumorCounts.truth, liverCounts.truth), pb = burden(tumorCounts.prediction, liverCounts.prediction)
        return LesionMetrics(
            truthLesions: ct.count, predictedLesions: cp.count, detected: truthFound.count,
            correctPredictions: predFound.count,
            detectionRecall: ct.count == 0 ? nil : Double(truthFound.count) / Double(ct.count),
            detectionPrecision: cp.count == 0 ? nil : Double(predFound.count) / Double(cp.count),
            truthVolumesML: ct.sizes.map { Double($0) * voxelVolumeML },
            predictedVolumesML: cp.sizes.map { Double($0) * voxelVolumeML },
            truthBurden: tb, predictedBurden: pb, burdenError: (tb != nil && pb != nil) ? pb! - tb! : nil)
    }
}
