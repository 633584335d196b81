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

/// `readScan` keeps every fixture series as 16-bit stored values with its one rescale, and
/// what it decodes equals `read` bit for bit (and pydicom's values).
@Test(arguments: Fixtures.section("dicom").keys.sorted())
func dicomScanStays16BitAndMatchesTheFloatRead(_ key: String) throws {
    let e = Fixtures.section("dicom")[key]!
    let url = Fixtures.url("dicom/\(String(key.split(separator: "#")[0]))")
    let uid = key.contains("#") ? e["series_uid"] as? String : nil
    let scan = try DICOMSeries.readScan(url, seriesUID: uid)
    guard case .int16 = scan.storage else { Issue.record("\(key): not kept as 16-bit"); return }
    let v = try DICOMSeries.read(url, seriesUID: uid)
    #expect(scan.decoded().voxels == v.voxels, "\(key)")
    #expect(scan.decoded().scaling == v.scaling && scan.geometry == v.geometry && scan.onDiskType == v.onDiskType)
    #expect(maxRelDiff(scan.decoded().voxels, Fixtures.doubles(e["values"])) < 1e-6, "\(key): voxels")
}

/// Series that 16 bits cannot hold fall back to Float with the same values as `read`: one
/// slice with another RescaleIntercept (-1000 instead of -1024), and one unsigned pixel of
/// 65535. Both are patched into copies of the unsigned `implicit_le` series.
@Test func dicomScanFallsBackToFloatWhen16BitsCannotHoldTheSeries() throws {
    for patch in ["intercept", "pixel"] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dicom-scan-\(patch)-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.copyItem(at: Fixtures.url("dicom/implicit_le"), to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try #require(try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "dcm" }.sorted { $0.path < $1.path }.first)
        var bytes = [UInt8](try Data(contentsOf: file))
        if patch == "intercept" {
            let old = Array("-1024".utf8), new = Array("-1000".utf8)
            let at = try #require((0...(bytes.count - old.count)).first { Array(bytes[$0..<($0 + old.count)]) == old })
            bytes.replaceSubrange(at..<(at + old.count), with: new)
        } else {
            bytes[bytes.count - 1] = 0xFF; bytes[bytes.count - 2] = 0xFF   // the last pixel (native, little endian)
        }
        try Data(bytes).write(to: file)
        let scan = try DICOMSeries.readScan(dir)
        guard case .float(let voxels) = scan.storage else { Issue.record("\(patch): kept as 16-bit"); continue }
        let v = try DICOMSeries.read(dir)
        #expect(voxels == v.voxels, "\(patch)")
        if patch == "pixel" { #expect(voxels.contains(65535 - 1024)) } else { #expect(v.scaling == nil) }
    }
}
