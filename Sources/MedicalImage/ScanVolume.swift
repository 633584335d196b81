import Foundation

/// A CT held as compactly as its file allows, for code that reads it a plane at a time
/// (segmentation). CT is stored as 16-bit integers (LiTS, most DICOM-to-NIfTI converters), and
/// a Float copy doubles what the scan costs in memory: at 512²×200 that is 200 MB instead of
/// 100 MB, as much as the networks and the label map together. Integer data that fits 16 bits
/// stays raw here and becomes HU plane by plane, with the same arithmetic as `NIfTI.read`, so
/// every plane equals the one of the Float volume bit for bit.
public struct ScanVolume: Sendable {
    public enum Storage: Sendable {
        /// Raw stored values; intensity = slope · raw + intercept (`scaling`), or raw without it.
        case int16([Int16], scaling: Scaling?)
        /// Intensities, scaling already applied.
        case float([Float])
    }

    public var geometry: Geometry
    public var storage: Storage
    public var onDiskType: VoxelType?
    public var transformCodes: TransformCodes?

    public init(geometry: Geometry, storage: Storage, onDiskType: VoxelType? = nil, transformCodes: TransformCodes? = nil) {
        let count: Int
        switch storage {
        case .int16(let v, _): count = v.count
        case .float(let v): count = v.count
        }
        precondition(count == geometry.voxelCount, "ScanVolume: \(count) voxels do not fill shape \(geometry.shape)")
        self.geometry = geometry
        self.storage = storage
        self.onDiskType = onDiskType
        self.transformCodes = transformCodes
    }

    /// Wraps a decoded volume (no copy: the array is shared).
    public init(_ volume: Volume<Float>) {
        self.init(geometry: volume.geometry, storage: .float(volume.voxels), onDiskType: volume.onDiskType,
                  transformCodes: volume.transformCodes)
    }

    public var shape: [Int] { geometry.shape }

    /// Bytes the voxels take here (against 4 per voxel for a Float volume).
    public var storedBytes: Int {
        switch storage {
        case .int16(let v, _): return v.count * 2
        case .float(let v): return v.count * 4
        }
    }

    /// The first intensity that is NaN or infinite, if any (integer storage has none).
    public var firstNonFinite: Float? {
        switch storage {
        case .int16: return nil
        case .float(let v): return v.first { !$0.isFinite }
        }
    }

    /// Plane `k` of `reorientation`'s target grid as intensities, read from this volume on the
    /// reorientation's source grid (see `Reorientation.targetSlice`).
    public func plane(_ k: Int, of reorientation: Reorientation, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(reorientation.source.shape == shape, "ScanVolume.plane: the reorientation starts from \(reorientation.source.shape), not \(shape)")
        switch storage {
        case .float(let v):
            v.withUnsafeBufferPointer { reorientation.gatherSlice(k, of: $0, into: out) { $0 } }
        case .int16(let v, let scaling?):
            v.withUnsafeBufferPointer { reorientation.gatherSlice(k, of: $0, into: out) { scaling(Double($0)) } }
        case .int16(let v, nil):
            v.withUnsafeBufferPointer { reorientation.gatherSlice(k, of: $0, into: out) { Float($0) } }
        }
    }

    /// All intensities as a Float volume (tools that need the whole array at once).
    public func decoded() -> Volume<Float> {
        let voxels: [Float]
        var scaling: Scaling?
        switch storage {
        case .float(let v): voxels = v
        case .int16(let v, let s?):
            voxels = v.map { s(Double($0)) }
            scaling = s
        case .int16(let v, nil): voxels = v.map { Float($0) }
        }
        return Volume(geometry: geometry, voxels: voxels, onDiskType: onDiskType, scaling: scaling, transformCodes: transformCodes)
    }
}
