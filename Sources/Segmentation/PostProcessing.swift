import Evaluation

/// Clean-up of a label map, as nnU-Net and TotalSegmentator do for organs: the liver is one
/// organ, so only its largest 3-D component (26-connected, tumor included) is kept, and a tumor
/// exists only inside the kept liver. Bridges up to 2·`bridgeRadius` voxels thick are cut first
/// (`BridgeCut`), so a neighbouring organ joined to the liver by a thin neck goes too.
public enum PostProcessing {
    /// The default bridge radius: 1 voxel (bridges of up to 2 voxels are cut).
    public static let bridgeRadius = 1

    public static func apply(_ labels: inout [UInt8], shape: [Int], keepLargest: Bool, bridgeRadius: Int = bridgeRadius) {
        guard keepLargest else { return }
        BridgeCut.keepLargest(&labels, range: 1...2, shape: shape, radius: bridgeRadius)
    }

    /// Label of a voxel whose tumor probability lies between the extent and the tumor threshold
    /// (`lesions`): tumor if it joins a lesion, liver otherwise. Never in a finished label map.
    public static let tumorExtent: UInt8 = 3

    /// A liver voxel's label before `lesions`, from B's tumor probability `p` (`hasTumor`: B
    /// looked at its slice): 2 from the tumor threshold on, `tumorExtent` from the extent
    /// threshold (≤ the tumor threshold) on, else 1.
    @inline(__always)
    public static func liverLabel(tumorProbability p: Float, hasTumor: Bool = true, threshold t: Float, extent e: Float) -> UInt8 {
        !hasTumor || p < e ? 1 : p >= t ? 2 : tumorExtent
    }

    /// Lesions by hysteresis, from a label map whose tumor (2) marks B's probability ≥ the tumor
    /// threshold and `tumorExtent` (3) marks it between the extent threshold and that:
    /// - a lesion is found where a core (a 26-connected component of 2) holds at least `minML`:
    ///   on a short-trained model most false lesions are a few voxels, and in a case without
    ///   tumor one of them costs the whole per-case Dice;
    /// - and where its region spans at least `minSlices` slices: a lesion is a 3-D object, and
    ///   the 2-D network's typical false lesion is a patch on one slice, most often on the
    ///   liver's first or last slices, where partial volume darkens the liver;
    /// - a found lesion reaches over the component of 2 and 3 around its core: B's
    ///   probabilities fall off inside a lesion's rim, so one threshold either misses rims or
    ///   finds more false lesions (Canny's edge hysteresis, for the same reason);
    /// - all else of 2 and 3 becomes liver.
    /// Without 3 these are the components of 2 under `minML` turned to liver. Both thresholds and
    /// the size are chosen on the validation cases (`TumorOperatingPoint`).
    public static func lesions(_ labels: inout [UInt8], shape: [Int], minML: Double, minSlices: Int = 1, voxelML: Double) {
        let regions = LesionRegions(labels, shape: shape)
        regions.extents.relabelComponents(&labels, shape: shape) { regions.found($0, minML: minML, minSlices: minSlices, voxelML: voxelML) ? 2 : 1 }
    }

    /// Whether a lesion core of `voxels` voxels is kept by `lesions(minML:)`.
    public static func keepsLesion(voxels: Int, voxelML: Double, minML: Double) -> Bool { Double(voxels) * voxelML >= minML }
}

/// The regions of `PostProcessing.lesions`: components of tumor and extent voxels, each with
/// the size of the largest core it holds and the slices it spans.
struct LesionRegions {
    let extents: Components
    /// By component of `extents`: voxels of its largest component of tumor (2).
    let largestCore: [Int]
    /// By component of `extents`: slices (planes of the third axis) it spans.
    let slices: [Int]

    init(_ labels: [UInt8], shape: [Int]) {
        (extents, largestCore) = labels.withUnsafeBufferPointer { v in
            let extents = Components(v, labels: 2...PostProcessing.tumorExtent, shape: shape)
            return (extents, extents.largestInside(Components(v, labels: 2...2, shape: shape), shape: shape))
        }
        slices = extents.sliceSpans()
    }

    /// Whether region n (0-based) is a lesion: its largest core holds at least `minML` and it
    /// spans at least `minSlices` slices.
    func found(_ n: Int, minML: Double, minSlices: Int, voxelML: Double) -> Bool {
        largestCore[n] > 0 && slices[n] >= minSlices && PostProcessing.keepsLesion(voxels: largestCore[n], voxelML: voxelML, minML: minML)
    }
}
