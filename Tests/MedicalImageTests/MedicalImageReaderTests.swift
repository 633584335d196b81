import Foundation
import Testing
@testable import MedicalImage

@Test func readerDispatchesOnContentNotName() throws {
    let dir = Fixtures.tempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    // A gzipped NIfTI named .nii, and a DICOM file named .nii: both read by content.
    let gz = dir.appendingPathComponent("looks-plain.nii")
    try FileManager.default.copyItem(at: Fixtures.url("nifti/scaled.nii.gz"), to: gz)
    #expect(try MedicalImageReader.read(gz).voxels == NIfTI.read(Fixtures.url("nifti/scaled.nii.gz")).voxels)
    let files = try DICOMSeries.scan(Fixtures.url("dicom/implicit_le"))[0].files
    let dcm = dir.appendingPathComponent("slice.nii")
    try FileManager.default.copyItem(at: URL(fileURLWithPath: files[0]), to: dcm)
    #expect(try MedicalImageReader.format(of: dcm) == .dicom)
    #expect(try MedicalImageReader.read(dcm).shape[2] == 1)

    let folder = try MedicalImageReader.readWithSource(Fixtures.url("dicom/deflated"))
    guard case .dicom(let r) = folder.source else { Issue.record("not DICOM"); return }
    #expect(r.transferSyntaxes == [DICOMTransferSyntax.deflatedExplicitLittle])
    #expect(folder.volume.voxels == (try DICOMSeries.read(Fixtures.url("dicom/deflated"))).voxels)
    #expect(throws: MedicalImageError.self) { try MedicalImageReader.readLabels(Fixtures.url("dicom/deflated")) }
    #expect(throws: MedicalImageError.self) { try MedicalImageReader.read(dir.appendingPathComponent("missing.nii")) }
}

/// A folder with one broken slice fails naming that slice, rather than yielding a volume with a hole.
@Test func brokenSliceInFolderIsNamed() throws {
    let dir = Fixtures.tempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    for f in try DICOMSeries.scan(Fixtures.url("dicom/explicit_le"))[0].files {
        try FileManager.default.copyItem(at: URL(fileURLWithPath: f), to: dir.appendingPathComponent((f as NSString).lastPathComponent))
    }
    try FileManager.default.copyItem(at: Fixtures.url("dicom/malformed/lying_length.dcm"), to: dir.appendingPathComponent("zz.dcm"))
    try Data("not an image".utf8).write(to: dir.appendingPathComponent("README.txt"))
    do {
        _ = try DICOMSeries.read(dir)
        Issue.record("broken slice accepted")
    } catch let e as MedicalImageError {
        #expect(e.path.hasSuffix("zz.dcm"), "\(e)")
    }
}
