import Evaluation

/// Clean-up of a label map, as nnU-Net and TotalSegmentator do for organs: the liver is one
/// organ, so only its largest 3-D component (26-connected, tumor included) is kept, and a tumor
/// exists only inside the kept liver.
public enum PostProcessing {
    public static func apply(_ labels: inout [UInt8], shape: [Int], keepLargest: Bool) {
        guard keepLargest else { return }
        let components = labels.withUnsafeBufferPointer { Components($0, labels: 1...2, shape: shape) }
        components.clearAllButLargest(&labels, shape: shape)
    }

    /// Tumor components (26-connected) under `minML` become liver: on a short-trained model
    /// most false lesions are a few voxels, and in a case without tumor one of them costs the
    /// whole per-case Dice. The size is chosen on the validation cases (`TumorOperatingPoint`).
    public static func removeLesions(smallerThan minML: Double, _ labels: inout [UInt8], shape: [Int], voxelML: Double) {
        guard minML > 0 else { return }
        let lesions = labels.withUnsafeBufferPointer { Components($0, labels: 2...2, shape: shape) }
        lesions.relabel(&labels, shape: shape, to: 1) { !keepsLesion(voxels: $0, voxelML: voxelML, minML: minML) }
    }

    /// Whether a tumor component of `voxels` voxels survives `removeLesions(smallerThan: minML)`.
    public static func keepsLesion(voxels: Int, voxelML: Double, minML: Double) -> Bool { Double(voxels) * voxelML >= minML }
}
