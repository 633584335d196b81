import Foundation

/// Where a volume came from, for reports and for writing results back in kind.
public enum ImageSource: Sendable {
    case nifti(NIfTI.Header)
    case dicom(DICOMSeriesReport)
}

/// One entry point for "a CT the user gave us": a NIfTI file (.nii, .nii.gz, gzip detected by
/// content), a DICOM Part-10 file, or a folder of DICOM files.
public enum MedicalImageReader {
    public enum Format: String, Sendable { case nifti, dicom }

    /// Decides by content, not by name: folders are DICOM; files with "DICM" at byte 128 are
    /// DICOM; everything else is tried as NIfTI (whose reader explains what is wrong).
    public static func format(of url: URL) throws -> Format {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw MedicalImageError(.io, url.path, "no such file or folder")
        }
        if isDir.boolValue { return .dicom }
        return DICOMFile.looksLikeDICOM(url.path) ? .dicom : .nifti
    }

    /// Intensities (HU for CT) with geometry; `seriesUID` picks a series in a DICOM folder.
    public static func read(_ url: URL, seriesUID: String? = nil) throws -> Volume<Float> {
        try readWithSource(url, seriesUID: seriesUID).volume
    }

    public static func readWithSource(_ url: URL, seriesUID: String? = nil) throws -> (volume: Volume<Float>, source: ImageSource) {
        switch try format(of: url) {
        case .dicom:
            let (v, r) = try DICOMSeries.readWithReport(url, seriesUID: seriesUID)
            return (v, .dicom(r))
        case .nifti:
            let (v, h) = try explainingNotNIfTI { try NIfTI.readWithHeader(url) }
            return (v, .nifti(h))
        }
    }

    /// The scan as compactly as it is stored (`ScanVolume`): what segmentation reads, since it
    /// needs one plane at a time (16-bit NIfTI and DICOM stay 16-bit; see `NIfTI.readScan` and
    /// `DICOMSeries.readScan`).
    public static func readScan(_ url: URL, seriesUID: String? = nil) throws -> ScanVolume {
        switch try format(of: url) {
        case .dicom:
            return try DICOMSeries.readScan(url, seriesUID: seriesUID)
        case .nifti:
            return try explainingNotNIfTI { try NIfTI.readScan(url) }
        }
    }

    /// A file that is not NIfTI was not DICOM either (the format check came first): say both.
    private static func explainingNotNIfTI<T>(_ read: () throws -> T) throws -> T {
        do {
            return try read()
        } catch let e as MedicalImageError where e.kind == .notRecognized {
            throw MedicalImageError(.notRecognized, e.path, "\(e.defect); nor is it a DICOM Part-10 file (no \"DICM\" at byte 128)")
        }
    }

    /// Label maps (NIfTI only: DICOM holds no label maps we support).
    public static func readLabels(_ url: URL) throws -> Volume<UInt8> {
        guard try format(of: url) == .nifti else {
            throw MedicalImageError(.unsupported, url.path, "label maps must be NIfTI files, not DICOM")
        }
        return try NIfTI.readLabels(url)
    }
}
