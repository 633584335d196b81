import Foundation
import Testing
@testable import MedicalImage

/// Decoded bytes of a .nii or .nii.gz (through our own gzip reader, which zlib checks).
private func decodedBytes(_ url: URL) throws -> [UInt8] {
    try ByteStream(path: url.path).readToEnd(limit: 1 << 24)
}

private func source(_ rel: String) throws -> Volume<Float> {
    rel.hasPrefix("dicom/") ? try DICOMSeries.read(Fixtures.url(rel)) : try NIfTI.read(Fixtures.url(rel))
}

/// The files in Fixtures/ours were written by `liverseg convert` and verified by the fixture
/// script with nibabel and SimpleITK (same voxels, same affine, qform == sform). Writing the same
/// sources now must produce the same decoded bytes, so that verification still holds.
@Test(arguments: Fixtures.section("ours").keys.sorted())
func writerStillProducesTheNibabelVerifiedFile(_ name: String) throws {
    let e = Fixtures.section("ours")[name]!
    let dir = Fixtures.tempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent(name)
    let type = VoxelType(rawValue: e["datatype"] as! String)!
    if type == .uint8 {
        try NIfTI.write(try NIfTI.readLabels(Fixtures.url(e["source"] as! String)), to: out)
    } else {
        try NIfTI.write(try source(e["source"] as! String), to: out, as: type)
    }
    #expect(try decodedBytes(out) == decodedBytes(Fixtures.url("ours/\(name)")), "\(name)")
    // And what nibabel read from the committed file is what we read from ours.
    let h = try NIfTI.readHeader(out)
    #expect(maxAbsDiff(h.affine, Fixtures.doubles(e["affine"])) < 1e-4)
    #expect(maxAbsDiff(try h.raw.qformAffine(path: name), Fixtures.doubles(e["qform"])) < 1e-4)
    #expect(maxAbsDiff(h.affine, Fixtures.doubles(e["sitk_affine"])) < 1e-4)
    #expect(h.transformCodes == TransformCodes(qform: e["qform_code"] as! Int, sform: e["sform_code"] as! Int))
}

/// read → write → read gives the same voxels and affine, for every NIfTI fixture, in .nii and
/// .nii.gz, float32; and int16 for integer data; codes follow the rule (kept, 0 filled from the other).
@Test(arguments: Fixtures.section("nifti").keys.sorted().filter { !$0.contains("fractional") })
func roundTripKeepsVoxelsAndAffine(_ name: String) throws {
    let dir = Fixtures.tempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let v = try NIfTI.read(Fixtures.url(name))
    for (ext, type) in [("nii", VoxelType.float32), ("nii.gz", .float32), ("nii.gz", .int16)] {
        if type == .int16 && !v.voxels.allSatisfy({ $0 == $0.rounded() && abs($0) < 32768 }) { continue }
        let out = dir.appendingPathComponent("rt.\(ext)")
        try NIfTI.write(v, to: out, as: type)
        let w = try NIfTI.read(out)
        #expect(w.shape == v.shape)
        #expect(w.voxels == v.voxels, "\(name) as \(type) \(ext)")
        #expect(maxAbsDiff(w.geometry.affine, v.geometry.affine) < 1e-4, "\(name)")
        let h = try NIfTI.readHeader(out)
        #expect(maxAbsDiff(try h.raw.qformAffine(path: name), v.geometry.affine) < 1e-4, "\(name): qform")
        let c = v.transformCodes!
        let q = c.qform > 0 ? c.qform : (c.sform > 0 ? c.sform : 1), s = c.sform > 0 ? c.sform : q
        #expect(h.transformCodes == TransformCodes(qform: q, sform: s))
    }
}

@Test func int16WithInterceptStoresRoundedRawValues() throws {
    let g = Geometry(shape: [3, 2, 1], spacing: [1, 1, 1])
    let v = Volume<Float>(geometry: g, voxels: [-1024, -1000.4, 0, 0.6, 3071, 40000])
    let dir = Fixtures.tempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("ct.nii")
    try NIfTI.write(v, to: out, as: .int16, scaling: Scaling(slope: 1, intercept: -1024))
    let bytes = try Data(contentsOf: out)
    let raw = (0..<6).map { k in Int16(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 352 + 2 * k, as: Int16.self) }) }
    // (v + 1024) rounded, clamped to int16.
    #expect(raw == [0, 24, 1024, 1025, 4095, 32767])
    let back = try NIfTI.read(out)
    #expect(back.scaling == Scaling(slope: 1, intercept: -1024))
    #expect(back.voxels == [-1024, -1000, 0, 1, 3071, 31743])
}

@Test func failedWriteLeavesNoFileAndLabelsRoundTrip() throws {
    let dir = Fixtures.tempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let labels = try NIfTI.readLabels(Fixtures.url("nifti/labels_uint8.nii.gz"))
    let out = dir.appendingPathComponent("labels.nii.gz")
    try NIfTI.write(labels, to: out)
    let back = try NIfTI.readLabels(out)
    #expect(back.voxels == labels.voxels && back.geometry == labels.geometry)
    #expect(try NIfTI.readHeader(out).type == .uint8)
    #expect(throws: MedicalImageError.self) {
        try NIfTI.write(Volume<Float>(geometry: labels.geometry, voxels: labels.voxels.map(Float.init)),
                        to: dir.appendingPathComponent("bad.nii"), as: .int16, scaling: Scaling(slope: 0, intercept: 1))
    }
    let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
    #expect(left == ["labels.nii.gz"])
}

@Test func writerRefusesWhatNIfTI1CannotHold() throws {
    let dir = Fixtures.tempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let wide = Volume<UInt8>(geometry: Geometry(shape: [40000, 1, 1], spacing: [1, 1, 1]),
                             voxels: [UInt8](repeating: 0, count: 40000))
    #expect(throws: MedicalImageError.self) { try NIfTI.write(wide, to: dir.appendingPathComponent("w.nii")) }
    var nan = Volume<Float>(geometry: Geometry(shape: [1, 1, 1], spacing: [1, 1, 1]), voxels: [0])
    nan.geometry.affine[3] = .nan
    #expect(throws: MedicalImageError.self) { try NIfTI.write(nan, to: dir.appendingPathComponent("n.nii")) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
}
