import Foundation
import Testing
@testable import MedicalImage

/// Every DICOM series pydicom wrote (one per transfer syntax, oblique, feet-first, uneven, two
/// series in a folder), read by us: the voxels pydicom decodes and the affine SimpleITK builds.
@Test(arguments: Fixtures.section("dicom").keys.sorted())
func dicomSeriesMatchesPydicomAndSimpleITK(_ key: String) throws {
    let e = Fixtures.section("dicom")[key]!
    let folder = String(key.split(separator: "#")[0])
    let uid = e["series_uid"] as! String
    let (v, report) = try DICOMSeries.readWithReport(Fixtures.url("dicom/\(folder)"),
                                                     seriesUID: key.contains("#") ? uid : nil)
    #expect(v.shape == Fixtures.ints(e["shape"]), "\(key)")
    #expect(maxAbsDiff(v.geometry.affine, Fixtures.doubles(e["affine"])) < 1e-4, "\(key): \(v.geometry.affine)")
    #expect(maxRelDiff(v.voxels, Fixtures.doubles(e["values"])) < 1e-6, "\(key): voxels")
    #expect(v.geometry.axisCodes == (e["axcodes"] as! String), "\(key)")
    #expect(report.seriesUID == uid)
    #expect(report.sliceCount == (e["slice_count"] as! Int))
    #expect(report.transferSyntaxes == [e["transfer_syntax"] as! String])
    if let gaps = e["gaps"] {
        #expect(report.unevenSpacing)
        #expect(maxAbsDiff(report.sliceGaps, Fixtures.doubles(gaps)) < 1e-4)
        #expect(report.warnings.contains { $0.contains("uneven") })
    } else {
        #expect(!report.unevenSpacing, "\(key): \(report.sliceGaps)")
    }
    if let d = e["description"] as? String { #expect(report.description == d) }
}

@Test func twoSeriesWithoutChoiceListsBoth() throws {
    let dicom = Fixtures.section("dicom")
    let a = dicom["two_series#a"]!, b = dicom["two_series#b"]!
    do {
        _ = try DICOMSeries.read(Fixtures.url("dicom/two_series"))
        Issue.record("two series read without a choice")
    } catch let e as MedicalImageError {
        #expect(e.kind == .seriesSelection)
        for s in [a, b] {
            #expect(e.description.contains(s["series_uid"] as! String))
            #expect(e.description.contains("\(s["slice_count"] as! Int) slices"))
            #expect(e.description.contains(s["description"] as! String))
        }
    }
    let scan = try DICOMSeries.scan(Fixtures.url("dicom/two_series"))
    #expect(Set(scan.map(\.sliceCount)) == [a["slice_count"] as! Int, b["slice_count"] as! Int])
    #expect(throws: MedicalImageError.self) { try DICOMSeries.read(Fixtures.url("dicom/two_series"), seriesUID: "1.2.3") }
}

@Test func singleFileReadsAsOneSlice() throws {
    let e = Fixtures.section("dicom")["explicit_le"]!
    let files = try DICOMSeries.scan(Fixtures.url("dicom/explicit_le"))[0].files
    let vols = try files.map { try DICOMSeries.read(URL(fileURLWithPath: $0)) }
    #expect(vols.allSatisfy { $0.shape == [Fixtures.ints(e["shape"])[0], Fixtures.ints(e["shape"])[1], 1] })
    // The lowest slice equals the first k-plane of the full series.
    let full = Fixtures.doubles(e["values"])
    let plane = Fixtures.ints(e["shape"])[0] * Fixtures.ints(e["shape"])[1]
    let lowest = vols.min { $0.geometry.affine[11] < $1.geometry.affine[11] }!
    #expect(lowest.voxels.map(Double.init) == Array(full[0..<plane]))
}

/// Broken DICOM files (cut, lying lengths, no pixels, JPEG) give the recorded error, naming the file.
@Test(arguments: (Fixtures.expected["dicom_malformed"] as! [String: String]).keys.sorted())
func malformedDICOMIsRefused(_ name: String) throws {
    let kind = (Fixtures.expected["dicom_malformed"] as! [String: String])[name]!
    let url = Fixtures.url("dicom/\(name)")
    do {
        _ = try DICOMSeries.read(url)
        Issue.record("\(name) was accepted")
    } catch let e as MedicalImageError {
        #expect(e.kind.rawValue == kind, "\(name): \(e)")
        #expect(e.description.contains(url.lastPathComponent), "\(e)")
        if name.contains("jpeg") { #expect(e.description.contains("JPEG Baseline")) }
    }
}
