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
}
