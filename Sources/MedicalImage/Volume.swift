/// Scalar types a volume can have on disk (NIfTI datatypes / DICOM pixel representations).
public enum VoxelType: String, Sendable, Codable, CaseIterable {
    case uint8, int8, int16, uint16, int32, uint32, float32, float64

    public var byteSize: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64: return 8
        }
    }
}

/// Linear intensity scaling stored with the file: value = slope * raw + intercept.
public struct Scaling: Sendable, Equatable, Codable {
    public var slope: Double
    public var intercept: Double
    public init(slope: Double, intercept: Double) { self.slope = slope; self.intercept = intercept }

    /// The intensity a stored value stands for (in Double, as nibabel scales, then to Float).
    @inline(__always) public func callAsFunction(_ raw: Double) -> Float { Float(raw * slope + intercept) }
}

/// NIfTI `qform_code` / `sform_code` of the file a volume came from (0 unknown, 1 scanner,
/// 2 aligned, 3 Talairach, 4 MNI, 5 template), kept so a rewritten file says the same thing
/// about its coordinates as the original did.
public struct TransformCodes: Sendable, Equatable, Codable {
    public var qform: Int
    public var sform: Int
    public init(qform: Int, sform: Int) { self.qform = qform; self.sform = sform }
}

/// A 3-D image: voxels in NIfTI order (i fastest) plus where they sit in the patient.
/// `Volume<Float>` holds intensities (HU after scaling), `Volume<UInt8>` label maps.
public struct Volume<Scalar: Sendable>: Sendable {
    public var geometry: Geometry
    public var voxels: [Scalar]
    /// The type the voxels had on disk, kept so tools can report and rewrite it.
    public var onDiskType: VoxelType?
    /// The scaling that was applied on reading (nil: none).
    public var scaling: Scaling?
    /// NIfTI transform codes of the source file (nil: not from NIfTI, or unknown).
    public var transformCodes: TransformCodes?

    public init(geometry: Geometry, voxels: [Scalar], onDiskType: VoxelType? = nil, scaling: Scaling? = nil,
                transformCodes: TransformCodes? = nil) {
        precondition(voxels.count == geometry.voxelCount,
                     "Volume: \(voxels.count) voxels do not fill shape \(geometry.shape)")
        self.geometry = geometry
        self.voxels = voxels
        self.onDiskType = onDiskType
        self.scaling = scaling
        self.transformCodes = transformCodes
    }

    /// The same grid and metadata with other voxels (e.g. a label map for an image).
    public func withVoxels<T>(_ voxels: [T]) -> Volume<T> {
        Volume<T>(geometry: geometry, voxels: voxels, onDiskType: nil, scaling: nil, transformCodes: transformCodes)
    }

    public var shape: [Int] { geometry.shape }

    @inline(__always) public func index(_ i: Int, _ j: Int, _ k: Int) -> Int {
        i + geometry.shape[0] * (j + geometry.shape[1] * k)
    }

    @inline(__always) public subscript(i: Int, j: Int, k: Int) -> Scalar {
        get { voxels[index(i, j, k)] }
        set { voxels[index(i, j, k)] = newValue }
    }
}

public typealias ImageVolume = Volume<Float>
public typealias LabelVolume = Volume<UInt8>
