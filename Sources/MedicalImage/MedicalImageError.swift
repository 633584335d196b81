/// Why a medical image could not be read or written. Every case names the file, so a user
/// with a folder of hundreds of DICOM files learns which one is broken and how.
public struct MedicalImageError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The file could not be opened or read at the OS level.
        case io
        /// Not the format we were asked to read (bad magic, not Part-10, ...).
        case notRecognized
        /// Header fields that are inconsistent or out of range.
        case badHeader
        /// Fewer bytes than the header promises.
        case truncated
        /// A valid file that uses something this reader does not implement.
        case unsupported
        /// Compressed stream that zlib or the RLE decoder rejects.
        case badCompression
        /// Several DICOM series and none was chosen, or the chosen one is missing.
        case seriesSelection
        /// Values that cannot be stored as asked (e.g. a label map with 3.5 in it).
        case badValue
    }

    public let path: String
    public let kind: Kind
    public let defect: String

    public init(_ kind: Kind, _ path: String, _ defect: String) {
        self.kind = kind
        self.path = path
        self.defect = defect
    }

    public var description: String { "\(path): \(defect)" }
}
