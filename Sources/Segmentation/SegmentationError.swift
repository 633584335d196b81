/// Errors of datasets, training and segmentation; each names the file or case concerned.
public struct SegmentationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
