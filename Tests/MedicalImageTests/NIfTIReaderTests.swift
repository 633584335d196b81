import Foundation
import Testing
@testable import MedicalImage

/// Every NIfTI fixture nibabel wrote, read by us: same shape, voxels, affine, scaling, codes.
@Test(arguments: Fixtures.section("nifti").keys.sorted())
func niftiMatchesNibabel(_ name: String) throws {
    let e = Fixtures.section("nifti")[name]!
    let v = try NIfTI.read(Fixtures.url(name))
    #expect(v.shape == Fixtures.ints(e["shape"]), "\(name)")
    #expect(maxAbsDiff(v.geometry.affine, Fixtures.doubles(e["affine"])) < 1e-4, "\(name): affine \(v.geometry.affine)")
    #expect(maxRelDiff(v.voxels, Fixtures.doubles(e["values"])) < 1e-6, "\(name): voxels")
    #expect(v.onDiskType?.rawValue == (e["datatype"] as! String), "\(name)")
    #expect(v.geometry.axisCodes == (e["axcodes"] as! String), "\(name): axis codes")
    if let s = e["scaling"], !(s is NSNull) {
        let sd = Fixtures.doubles(s)
        #expect(v.scaling == Scaling(slope: sd[0], intercept: sd[1]), "\(name)")
    } else {
        #expect(v.scaling == nil, "\(name): scaling \(String(describing: v.scaling))")
    }
    #expect(v.transformCodes == TransformCodes(qform: e["qform_code"] as! Int, sform: e["sform_code"] as! Int))
}

/// The same fixtures read as stored (`readScan`): 8/16-bit integers stay 16-bit in memory, and
/// the intensities they stand for are nibabel's, equal bit for bit to the Float reader's.
@Test(arguments: Fixtures.section("nifti").keys.sorted())
func niftiScanMatchesNibabel(_ name: String) throws {
    let e = Fixtures.section("nifti")[name]!
    let scan = try NIfTI.readScan(Fixtures.url(name))
    let compact = ["int8", "uint8", "int16"].contains(e["datatype"] as! String)
    switch scan.storage {
    case .int16: #expect(compact, "\(name) should be decoded to Float")
    case .float: #expect(!compact, "\(name) should stay 16-bit")
    }
    let v = scan.decoded()
    #expect(maxRelDiff(v.voxels, Fixtures.doubles(e["values"])) < 1e-6, "\(name): voxels")
    #expect(v.voxels == (try NIfTI.read(Fixtures.url(name))).voxels, "\(name)")
    #expect(scan.geometry.axisCodes == (e["axcodes"] as! String) && scan.onDiskType?.rawValue == (e["datatype"] as! String))
}

@Test func headerReportsVersionOrderAndAffineSource() throws {
    let n2 = try NIfTI.readHeader(Fixtures.url("nifti/nifti2_bigendian.nii.gz"))
    #expect(n2.version == 2 && n2.bigEndian && n2.isGzip)
    #expect(n2.type.rawValue == Fixtures.section("nifti")["nifti/nifti2_bigendian.nii.gz"]!["datatype"] as! String)
    #expect(try NIfTI.readHeader(Fixtures.url("nifti/sform_vs_qform.nii")).affineSource == "sform")
    #expect(try NIfTI.readHeader(Fixtures.url("nifti/qfac_neg.nii")).affineSource == "qform")
    #expect(try NIfTI.readHeader(Fixtures.url("nifti/no_transform.nii")).affineSource == "none")
    let ext = try NIfTI.readHeader(Fixtures.url("nifti/extension.nii"))
    #expect(ext.dataOffset > 352 && ext.extensionBytes > 0)
}

@Test func labelMapsReadAsUInt8() throws {
    for name in ["nifti/labels_uint8.nii.gz", "nifti/labels_float.nii"] {
        let e = Fixtures.section("nifti")[name]!
        let v = try NIfTI.readLabels(Fixtures.url(name))
        #expect(v.voxels.map(Double.init) == Fixtures.doubles(e["values"]), "\(name)")
        #expect(maxAbsDiff(v.geometry.affine, Fixtures.doubles(e["affine"])) < 1e-4)
    }
    #expect {
        try NIfTI.readLabels(Fixtures.url("nifti/labels_fractional.nii"))
    } throws: { error in
        let e = error as! MedicalImageError
        return e.kind == .badValue && e.description.contains("labels_fractional.nii") && e.description.contains("(1, 2, 3)")
    }
}

/// Each malformed file gives the error kind the script recorded, naming the file; none traps.
@Test(arguments: Fixtures.malformed.keys.sorted())
func malformedNIfTIIsRefused(_ name: String) throws {
    let kind = Fixtures.malformed[name]!
    let url = Fixtures.url("malformed/\(name)")
    do {
        _ = try NIfTI.read(url)
        Issue.record("\(name) was accepted")
    } catch let e as MedicalImageError {
        #expect(e.kind.rawValue == kind, "\(name): \(e)")
        #expect(e.description.contains(name), "\(e)")
    }
}
