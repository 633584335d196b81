import Foundation
import Testing
@testable import MedicalImage

/// Reorienting to RAS gives nibabel's `as_closest_canonical` (voxels and affine), and reverting
/// restores the original bit for bit.
@Test(arguments: Fixtures.section("canonical").keys.sorted())
func canonicalMatchesNibabel(_ name: String) throws {
    let e = Fixtures.section("canonical")[name]!
    let v = try NIfTI.read(Fixtures.url(name))
    let (c, r) = try v.reoriented(to: "RAS")
    #expect(c.shape == Fixtures.ints(e["shape"]))
    #expect(maxAbsDiff(c.geometry.affine, Fixtures.doubles(e["affine"])) < 1e-4, "\(name): \(c.geometry.affine)")
    #expect(maxRelDiff(c.voxels, Fixtures.doubles(e["values"])) < 1e-6)
    #expect(c.geometry.axisCodes == "RAS")
    let back = r.revert(c)
    #expect(back.voxels == v.voxels && back.geometry == v.geometry)
    // Plane by plane, read straight from the input (what `segment` does), the same voxels.
    let plane = c.shape[0] * c.shape[1]
    var buf = [Float](repeating: .nan, count: plane)
    let scan = try NIfTI.readScan(Fixtures.url(name))
    for k in 0..<c.shape[2] {
        v.voxels.withUnsafeBufferPointer { src in buf.withUnsafeMutableBufferPointer { r.targetSlice(k, of: src, into: $0) } }
        #expect(buf == Array(c.voxels[(k * plane)..<((k + 1) * plane)]), "\(name): plane \(k)")
        // The same from the file as stored (int16 stays int16 until this plane is read).
        buf = [Float](repeating: .nan, count: plane)
        buf.withUnsafeMutableBufferPointer { scan.plane(k, of: r, into: $0) }
        #expect(buf == Array(c.voxels[(k * plane)..<((k + 1) * plane)]), "\(name): scan plane \(k)")
    }
}

@Test func reorientToLPSAndWorldPositionsAreKept() throws {
    let v = try NIfTI.read(Fixtures.url("nifti/oblique_qform.nii"))
    let (l, _) = try v.reoriented(to: "LPS")
    #expect(l.geometry.axisCodes == "LPS")
    // Every voxel keeps its value at the same world position.
    let r = try Reorientation(from: v.geometry, to: "LPS")
    for k in 0..<v.shape[2] { for j in 0..<v.shape[1] { for i in 0..<v.shape[0] {
        let w = v.geometry.world(Double(i), Double(j), Double(k))
        let idx = l.geometry.voxel(ofWorld: w)!.map { Int($0.rounded()) }
        #expect(l[idx[0], idx[1], idx[2]] == v[i, j, k])
    } } }
    #expect(!r.isIdentity)
    #expect(throws: MedicalImageError.self) { try Reorientation(from: v.geometry, to: "RRS") }
}

/// Trilinear (images) and nearest (labels) resampling onto a rotated, zoomed, shifted grid equal
/// scipy.ndimage.map_coordinates; target voxels off the source grid get the fill value.
@Test(arguments: Fixtures.section("resample").keys.sorted())
func resamplingMatchesScipy(_ name: String) throws {
    let e = Fixtures.section("resample")[name]!
    let target = Geometry(shape: Fixtures.ints(e["shape"]), affine: Fixtures.doubles(e["target_affine"]))
    let expected = Fixtures.doubles(e["values"])
    if (e["order"] as! Int) == 1 {
        let v = try NIfTI.read(Fixtures.url(name))
        let r = try Resample.image(v, to: target, outside: Float(e["fill"] as! Double))
        // Float arithmetic against scipy's double: relative to the data's magnitude.
        let scale = expected.map(abs).max()!
        #expect(maxAbsDiff(r.voxels.map(Double.init), expected) < 1e-6 * scale, "\(name)")
    } else {
        let v = try NIfTI.readLabels(Fixtures.url(name))
        let r = try Resample.labels(v, to: target)
        #expect(r.voxels.map(Double.init) == expected)
    }
    #expect(expected.count > (e["inside"] as! Int), "the test grid should reach outside the source")
}

@Test func resamplingToOwnGridIsIdentityAndSpacingChangeKeepsExtent() throws {
    let v = try NIfTI.read(Fixtures.url("nifti/lps.nii.gz"))
    #expect(try Resample.image(v, to: v.geometry).voxels == v.voxels)
    let g = v.geometry.withSpacing([1.5, 1.5, 1.0])
    #expect(g.shape == [3, 3, 14])
    #expect(maxAbsDiff(g.spacing, [1.5, 1.5, 1.0]) < 1e-12)
    // Corner of the grid (voxel −½) stays at the same world point.
    #expect(maxAbsDiff(g.world(-0.5, -0.5, -0.5), v.geometry.world(-0.5, -0.5, -0.5)) < 1e-9)
}

@Test func windowMapsToUnitInterval() {
    let g = Geometry(shape: [5, 1, 1], spacing: [1, 1, 1])
    let v = Volume<Float>(geometry: g, voxels: [-1000, -100, 150, 400, .nan]).window(low: -100, high: 400)
    #expect(v.voxels == [0, 0, 0.5, 1, 0])
}

@Test func axisCodesFollowIoOrientationOnShearedAffine() {
    // Columns nearly 45° apart: nibabel removes the shear before picking axes.
    let g = Geometry(shape: [2, 2, 2], affine: [1, 0.9, 0, 0, 0.2, 1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1])
    #expect(g.axisCodes == "RAI")
    #expect(Geometry(shape: [1, 1, 1], affine: [0, 0, 2, 0, -3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]).axisCodes == "PSR")
}
