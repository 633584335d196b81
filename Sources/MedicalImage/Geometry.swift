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

    /// One voxel's volume in mL (mm³ / 1000), from the spacing.
    public var voxelML: Double { spacing.reduce(1, *) / 1000 }

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
        return String(orientation.map { $0.sign > 0 ? pos[$0.worldAxis] : neg[$0.worldAxis] })
    }

    /// nibabel's `io_orientation`: the world axis (0 = x/R, 1 = y/A, 2 = z/S) and sign each voxel
    /// axis follows. Columns are normalized and shears removed (nearest orthogonal matrix) before
    /// axes are claimed in voxel-axis order, each world axis once, ties to the lower axis.
    public var orientation: [(worldAxis: Int, sign: Int)] {
        var r = [Double](repeating: 0, count: 9)
        for c in 0..<3 {
            var n = 0.0
            for row in 0..<3 { n += a(row, c) * a(row, c) }
            n = n == 0 ? 1 : n.squareRoot()
            for row in 0..<3 { r[row * 3 + c] = a(row, c) / n }
        }
        r = QForm.orthogonalize(r)
        var out: [(worldAxis: Int, sign: Int)] = []
        var free = [true, true, true]
        for c in 0..<3 {
            var best = -1
            var bestMag = -1.0
            for row in 0..<3 where free[row] {
                let m = abs(r[row * 3 + c])
                if m > bestMag { bestMag = m; best = row }
            }
            free[best] = false
            out.append((best, r[best * 3 + c] >= 0 ? 1 : -1))
        }
        return out
    }

    /// The world→voxel matrix (inverse affine), row-major 4×4. Nil if the affine is singular.
    public var inverseAffine: [Double]? {
        let m = affine
        let a00 = m[0], a01 = m[1], a02 = m[2], a10 = m[4], a11 = m[5], a12 = m[6], a20 = m[8], a21 = m[9], a22 = m[10]
        let c00 = a11 * a22 - a12 * a21, c01 = a12 * a20 - a10 * a22, c02 = a10 * a21 - a11 * a20
        let det = a00 * c00 + a01 * c01 + a02 * c02
        guard det != 0, det.isFinite else { return nil }
        let inv: [Double] = [
            c00 / det, (a02 * a21 - a01 * a22) / det, (a01 * a12 - a02 * a11) / det,
            c01 / det, (a00 * a22 - a02 * a20) / det, (a02 * a10 - a00 * a12) / det,
            c02 / det, (a01 * a20 - a00 * a21) / det, (a00 * a11 - a01 * a10) / det,
        ]
        var out = [Double](repeating: 0, count: 16)
        for r in 0..<3 {
            for c in 0..<3 { out[r * 4 + c] = inv[r * 3 + c] }
            out[r * 4 + 3] = -(inv[r * 3] * m[3] + inv[r * 3 + 1] * m[7] + inv[r * 3 + 2] * m[11])
        }
        out[15] = 1
        return out
    }

    /// Fractional voxel index of a world point (RAS+ mm).
    public func voxel(ofWorld p: [Double]) -> [Double]? {
        guard let inv = inverseAffine else { return nil }
        return (0..<3).map { r in inv[r * 4] * p[0] + inv[r * 4 + 1] * p[1] + inv[r * 4 + 2] * p[2] + inv[r * 4 + 3] }
    }

    /// A grid covering the same extent with the same axes and another voxel size, e.g. to
    /// resample to isotropic 1 mm. The first voxel's corner stays put.
    public func withSpacing(_ newSpacing: [Double]) -> Geometry {
        let old = spacing
        var m = affine
        var shape = self.shape
        for c in 0..<3 {
            let f = newSpacing[c] / (old[c] == 0 ? 1 : old[c])
            for r in 0..<3 { m[r * 4 + c] = affine[r * 4 + c] * f }
            shape[c] = max(1, Int((Double(self.shape[c]) * old[c] / newSpacing[c]).rounded()))
        }
        // Keep the outer corner (−½ voxel) fixed: centre of new voxel 0 moves by (f − 1)/2 old voxels.
        for r in 0..<3 {
            var t = affine[r * 4 + 3]
            for c in 0..<3 {
                let f = newSpacing[c] / (old[c] == 0 ? 1 : old[c])
                t += affine[r * 4 + c] * (f - 1) / 2
            }
            m[r * 4 + 3] = t
        }
        return Geometry(shape: shape, affine: m)
    }
}
