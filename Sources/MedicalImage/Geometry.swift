/// Where voxels sit in the patient: the grid shape and the voxel→world affine in RAS+
/// millimetres, nibabel's convention (+x points to the patient's Right, +y Anterior,
/// +z Superior; DICOM's LPS negates x and y).
///
/// Voxel (i, j, k) maps to world `affine * [i, j, k, 1]`. Voxels are stored with i fastest
/// (NIfTI order): linear index = i + nx * (j + ny * k).
public struct Geometry: Sendable, Equatable, Codable {
    /// Grid size (nx, ny, nz).
    public var shape: [Int]
    /// 4×4 voxel→world matrix, row-major, RAS+ mm.
    public var affine: [Double]

    public init(shape: [Int], affine: [Double]) {
        precondition(shape.count == 3, "Geometry needs a 3-D shape, got \(shape)")
        precondition(affine.count == 16, "Geometry needs a 4×4 affine (16 values), got \(affine.count)")
        self.shape = shape
        self.affine = affine
    }

    /// Axis-aligned RAS geometry with the given spacing and origin.
    public init(shape: [Int], spacing: [Double], origin: [Double] = [0, 0, 0]) {
        self.init(shape: shape, affine: [
            spacing[0], 0, 0, origin[0],
            0, spacing[1], 0, origin[1],
            0, 0, spacing[2], origin[2],
            0, 0, 0, 1,
        ])
    }

    public var voxelCount: Int { shape[0] * shape[1] * shape[2] }

    /// Voxel size in mm along i, j, k: the lengths of the affine's first three columns.
    public var spacing: [Double] {
        (0..<3).map { c in
            let x = affine[c], y = affine[4 + c], z = affine[8 + c]
            return (x * x + y * y + z * z).squareRoot()
        }
    }

    /// Element (row, column) of the affine.
    @inline(__always) public func a(_ r: Int, _ c: Int) -> Double { affine[r * 4 + c] }

    /// World position (RAS+ mm) of a voxel index (fractional indices allowed).
    public func world(_ i: Double, _ j: Double, _ k: Double) -> [Double] {
        (0..<3).map { r in a(r, 0) * i + a(r, 1) * j + a(r, 2) * k + a(r, 3) }
    }

    /// Axis codes as nibabel's `aff2axcodes`: for each voxel axis, the world direction it
    /// points to most ("R"/"L", "A"/"P", "S"/"I"). "RAS" is the canonical order.
    public var axisCodes: String {
        let pos: [Character] = ["R", "A", "S"], neg: [Character] = ["L", "P", "I"]
        var used = Set<Int>()
        var out = ""
        for c in 0..<3 {
            var best = -1
            var bestMag = -1.0
            for r in 0..<3 where !used.contains(r) {
                let m = abs(a(r, c))
                if m > bestMag { bestMag = m; best = r }
            }
            used.insert(best)
            out.append(a(best, c) >= 0 ? pos[best] : neg[best])
        }
        return out
    }
}
