import Foundation

/// What a DICOM folder holds, one entry per SeriesInstanceUID (for `info` and for choosing).
public struct DICOMSeriesSummary: Sendable, Codable, Equatable {
    public var seriesUID: String
    public var description: String
    public var modality: String
    public var sliceCount: Int
    public var transferSyntaxes: [String]
    public var files: [String]
}

/// How a series was assembled: reported by `liverseg info` and kept by callers that care.
public struct DICOMSeriesReport: Sendable, Codable, Equatable {
    public var seriesUID: String
    public var description: String
    public var sliceCount: Int
    /// UIDs of the transfer syntaxes the slices use (usually one).
    public var transferSyntaxes: [String]
    public var transferSyntaxNames: [String]
    /// Distances between consecutive slices along the slice normal, in sorted order (mm).
    public var sliceGaps: [Double]
    /// True when the gaps differ by more than `unevenTolerance`; the affine then uses the mean.
    public var unevenSpacing: Bool
    public var rescale: Scaling?
    public var warnings: [String]
    /// Files in slice order (first = lowest position along the normal).
    public var files: [String]
}

/// Reads a CT series from a folder of Part-10 files (or one file) into a volume in RAS+ mm.
public enum DICOMSeries {
    /// Gaps differing by more than this (mm) are reported as uneven.
    public static let unevenTolerance = 0.01

    /// Groups the DICOM files under `url` (a folder, searched recursively, or one file) by series.
    public static func scan(_ url: URL) throws -> [DICOMSeriesSummary] {
        let headers = try loadHeaders(url)
        return summaries(headers)
    }

    public static func read(_ url: URL, seriesUID: String? = nil) throws -> Volume<Float> {
        try readWithReport(url, seriesUID: seriesUID).volume
    }

    /// Reads the chosen series (or the only one) with a report of how it was put together.
    public static func readWithReport(_ url: URL, seriesUID: String? = nil) throws -> (volume: Volume<Float>, report: DICOMSeriesReport) {
        let (headers, uid) = try series(url, seriesUID: seriesUID)
        let (scan, report) = try assemble(headers, uid: uid, root: url.path)
        return (floatVolume(scan, report), report)
    }

    /// The chosen series as compactly as it allows (`ScanVolume`): 16-bit stored values and
    /// one rescale when every slice's values fit an Int16 and all slices share their
    /// RescaleSlope/Intercept (CT nearly always), else intensities as Float. Its planes equal
    /// those of `read` bit for bit.
    public static func readScan(_ url: URL, seriesUID: String? = nil) throws -> ScanVolume {
        let (headers, uid) = try series(url, seriesUID: seriesUID)
        return try assemble(headers, uid: uid, root: url.path, compact: true).0
    }

    /// The Float volume of a Float-stored scan, with the series' rescale recorded.
    static func floatVolume(_ scan: ScanVolume, _ report: DICOMSeriesReport) -> Volume<Float> {
        guard case .float(let v) = scan.storage else { return scan.decoded() }
        return Volume(geometry: scan.geometry, voxels: v, onDiskType: scan.onDiskType, scaling: report.rescale,
                      transformCodes: scan.transformCodes)
    }

    /// The headers of the chosen series (or the only one) in `url`, and its UID.
    static func series(_ url: URL, seriesUID: String?) throws -> ([DICOMFile], String) {
        let headers = try loadHeaders(url)
        let groups = Dictionary(grouping: headers) { $0.string(Tag.seriesInstanceUID) ?? "" }
        let uid: String
        if let want = seriesUID {
            guard groups[want] != nil else {
                throw MedicalImageError(.seriesSelection, url.path,
                    "no series with UID \(want); the folder holds:\n" + listing(summaries(headers)))
            }
            uid = want
        } else if groups.count == 1 {
            uid = groups.keys.first!
        } else {
            throw MedicalImageError(.seriesSelection, url.path,
                "\(groups.count) series in this folder; choose one with --series UID:\n" + listing(summaries(headers)))
        }
        return (groups[uid]!, uid)
    }

    /// One Part-10 file held in memory (fuzzing, network receivers); `name` appears in errors.
    public static func read(bytes: [UInt8], name: String = "<memory>") throws -> Volume<Float> {
        let f = try DICOMFile(bytes: bytes, path: name)
        guard f.pixels != nil else { throw MedicalImageError(.badHeader, name, "no pixel data element (7FE0,0010)") }
        let (scan, report) = try assemble([f], uid: f.string(Tag.seriesInstanceUID) ?? "", root: name) { $0 }
        return floatVolume(scan, report)
    }

    static func listing(_ s: [DICOMSeriesSummary]) -> String {
        s.map { "  \($0.seriesUID)  \($0.sliceCount) slices  \($0.modality)  \"\($0.description)\"" }.joined(separator: "\n")
    }

    static func summaries(_ headers: [DICOMFile]) -> [DICOMSeriesSummary] {
        let groups = Dictionary(grouping: headers) { $0.string(Tag.seriesInstanceUID) ?? "" }
        return groups.keys.sorted().map { uid in
            let g = groups[uid]!
            return DICOMSeriesSummary(seriesUID: uid, description: g[0].string(Tag.seriesDescription) ?? "",
                                      modality: g[0].string(Tag.modality) ?? "", sliceCount: g.count,
                                      transferSyntaxes: Array(Set(g.map(\.transferSyntax))).sorted(),
                                      files: g.map(\.path).sorted())
        }
    }

    /// Parses every DICOM file's attributes (not pixels). Files without the DICM magic are
    /// skipped in folders (DICOMDIR-less exports carry README.txt and the like); a DICOM file
    /// that fails to parse is an error naming it, never a silent gap in the volume.
    static func loadHeaders(_ url: URL) throws -> [DICOMFile] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw MedicalImageError(.io, url.path, "no such file or folder")
        }
        var paths: [String] = []
        if isDir.boolValue {
            guard let en = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else {
                throw MedicalImageError(.io, url.path, "cannot list folder")
            }
            for case let f as URL in en {
                if (try? f.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                   DICOMFile.looksLikeDICOM(f.path) {
                    paths.append(f.path)
                }
            }
            paths.sort()
            if paths.isEmpty {
                throw MedicalImageError(.notRecognized, url.path, "folder holds no DICOM Part-10 files")
            }
        } else {
            paths = [url.path]
        }
        var out: [DICOMFile] = []
        for p in paths {
            let stream = try ByteStream(path: p)
            guard stream.storedSize <= DICOMFile.maxFileSize else {
                throw MedicalImageError(.unsupported, p, "file of \(stream.storedSize) bytes is too large for a CT slice")
            }
            let bytes = try stream.readToEnd(limit: DICOMFile.maxFileSize)
            let f = try DICOMFile(bytes: bytes, path: p, stopBeforePixels: true)
            if f.pixels == nil {
                // Structured reports, DICOMDIRs, presentation states: not image slices.
                if isDir.boolValue { continue }
                throw MedicalImageError(.badHeader, p, "no pixel data element (7FE0,0010)")
            }
            out.append(f)
        }
        if out.isEmpty {
            throw MedicalImageError(.notRecognized, url.path, "no DICOM image files (none has pixel data)")
        }
        return out
    }

    struct Slice {
        var file: DICOMFile
        var position: [Double]
        var distance: Double
    }

    /// The series' geometry from its headers, then its pixels: as Float, or with `compact`
    /// as 16-bit stored values where they allow it (`readScan`). `full` turns a header-only
    /// parse into one with pixels (re-reading the file from disk).
    static func assemble(_ headers: [DICOMFile], uid: String, root: String, compact: Bool = false,
                         full: (DICOMFile) throws -> DICOMFile = { try DICOMFile(path: $0.path) })
        throws -> (ScanVolume, DICOMSeriesReport) {
        let first = headers[0]
        let p0 = first.path
        guard let rows = try first.uint16(Tag.rows), let cols = try first.uint16(Tag.columns), rows > 0, cols > 0 else {
            throw MedicalImageError(.badHeader, p0, "Rows (0028,0010) / Columns (0028,0011) missing or zero")
        }
        var warnings: [String] = []
        var orientation = try first.decimals(Tag.imageOrientation)
        if orientation == nil {
            if headers.count > 1 {
                throw MedicalImageError(.badHeader, p0, "ImageOrientationPatient (0020,0037) missing: cannot place the slices")
            }
            warnings.append("no ImageOrientationPatient; assuming axial LPS")
            orientation = [1, 0, 0, 0, 1, 0]
        }
        guard let iop = orientation, iop.count == 6 else {
            throw MedicalImageError(.badHeader, p0, "ImageOrientationPatient (0020,0037) needs 6 values")
        }
        let rowDir = Array(iop[0..<3]), colDir = Array(iop[3..<6])
        func norm(_ v: [Double]) -> Double { (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).squareRoot() }
        guard abs(norm(rowDir) - 1) < 1e-3, abs(norm(colDir) - 1) < 1e-3,
              abs(rowDir[0] * colDir[0] + rowDir[1] * colDir[1] + rowDir[2] * colDir[2]) < 1e-3 else {
            throw MedicalImageError(.badHeader, p0, "ImageOrientationPatient \(iop) is not two orthogonal unit vectors")
        }
        let normal = [rowDir[1] * colDir[2] - rowDir[2] * colDir[1],
                      rowDir[2] * colDir[0] - rowDir[0] * colDir[2],
                      rowDir[0] * colDir[1] - rowDir[1] * colDir[0]]
        var ps = try first.decimals(Tag.pixelSpacing)
        if ps == nil { warnings.append("no PixelSpacing; assuming 1 mm"); ps = [1, 1] }
        guard let pixelSpacing = ps, pixelSpacing.count == 2, pixelSpacing.allSatisfy({ $0 > 0 }) else {
            throw MedicalImageError(.badHeader, p0, "PixelSpacing (0028,0030) must be two positive numbers")
        }

        var slices: [Slice] = []
        for h in headers {
            guard try h.uint16(Tag.rows) == rows, try h.uint16(Tag.columns) == cols else {
                throw MedicalImageError(.unsupported, h.path, "slice size differs from \(p0) (\(rows)×\(cols)) within one series")
            }
            if let o = try h.decimals(Tag.imageOrientation), o.count == 6,
               zip(o, iop).contains(where: { abs($0 - $1) > 1e-4 }) {
                throw MedicalImageError(.unsupported, h.path, "ImageOrientationPatient \(o) differs from \(iop) of \(p0)")
            }
            if let n = try h.integer(Tag.numberOfFrames), n > 1 {
                throw MedicalImageError(.unsupported, h.path, "multi-frame image (\(n) frames) is not supported")
            }
            var pos = try h.decimals(Tag.imagePosition)
            if pos == nil {
                if headers.count > 1 {
                    throw MedicalImageError(.badHeader, h.path, "ImagePositionPatient (0020,0032) missing: cannot place the slice")
                }
                warnings.append("no ImagePositionPatient; origin set to 0")
                pos = [0, 0, 0]
            }
            guard let position = pos, position.count == 3 else {
                throw MedicalImageError(.badHeader, h.path, "ImagePositionPatient (0020,0032) needs 3 values")
            }
            let d = position[0] * normal[0] + position[1] * normal[1] + position[2] * normal[2]
            slices.append(Slice(file: h, position: position, distance: d))
        }
        // Position along the normal, never file name or instance number.
        slices.sort { $0.distance < $1.distance }
        var gaps: [Double] = []
        for k in 1..<max(1, slices.count) {
            let g = slices[k].distance - slices[k - 1].distance
            if g < 1e-4 {
                throw MedicalImageError(.unsupported, root,
                    "two slices at the same position \(slices[k].position): \(slices[k - 1].file.path) and \(slices[k].file.path)")
            }
            gaps.append(g)
        }
        let uneven = (gaps.max() ?? 0) - (gaps.min() ?? 0) > unevenTolerance
        if uneven {
            warnings.append(String(format: "uneven slice spacing: gaps from %.4g to %.4g mm (mean used)", gaps.min()!, gaps.max()!))
        }

        // LPS affine: i runs along a row (rowDir, column spacing), j down the columns.
        let n = slices.count
        let step: [Double]
        if n > 1 {
            let a = slices[0].position, b = slices[n - 1].position
            step = (0..<3).map { (b[$0] - a[$0]) / Double(n - 1) }
        } else {
            let t = try first.decimals(Tag.spacingBetweenSlices)?.first ?? first.decimals(Tag.sliceThickness)?.first ?? 1
            step = normal.map { $0 * (t > 0 ? t : 1) }
        }
        let o = slices[0].position
        var lps = [Double](repeating: 0, count: 16)
        for r in 0..<3 {
            lps[r * 4 + 0] = rowDir[r] * pixelSpacing[1]
            lps[r * 4 + 1] = colDir[r] * pixelSpacing[0]
            lps[r * 4 + 2] = step[r]
            lps[r * 4 + 3] = o[r]
        }
        lps[15] = 1
        // RAS = diag(−1, −1, 1) · LPS.
        var ras = lps
        for c in 0..<4 { ras[c] = -lps[c]; ras[4 + c] = -lps[4 + c] }

        let perSlice = rows * cols
        // Sizes are checked against what the files hold before the volume is allocated, so a
        // header claiming 65535×65535 pixels costs an error, not 16 GB.
        let bits = try first.uint16(Tag.bitsAllocated) ?? 16
        let sliceBytes = perSlice * max(1, bits / 8)
        for s in slices {
            if let len = s.file.pixelLength {
                guard len >= sliceBytes else {
                    throw MedicalImageError(.truncated, s.file.path,
                        "pixel data holds \(len) bytes; \(rows)×\(cols)×\(bits)-bit needs \(sliceBytes)")
                }
            } else if sliceBytes > 64 * s.file.fileSize {
                // RLE expands at most 64-fold (a 2-byte run gives 128 bytes).
                throw MedicalImageError(.badHeader, s.file.path,
                    "\(rows)×\(cols) pixels cannot fit in this \(s.file.fileSize)-byte compressed file")
            }
        }
        let (total, overflow) = perSlice.multipliedReportingOverflow(by: n * 4)
        guard !overflow, total <= NIfTI.maxDecodedBytes else {
            throw MedicalImageError(.badHeader, root, "\(cols)×\(rows)×\(n) voxels would need more memory than this machine has")
        }
        var rescales = Set<[Double]>()
        var onDisk: VoxelType = .int16
        var storage: ScanVolume.Storage? = nil
        if compact {
            // Stored values while they fit and share one rescale; otherwise Float below.
            var raw = [Int16](repeating: 0, count: perSlice * n)
            let ok = try raw.withUnsafeMutableBufferPointer { out in
                for (k, s) in slices.enumerated() {
                    let d = try DICOMPixels.decode(full(s.file), rows: rows, cols: cols, into: .int16(out.baseAddress! + k * perSlice))
                    onDisk = d.type
                    rescales.insert([d.scaling.slope, d.scaling.intercept])
                    guard d.fits, rescales.count == 1 else { return false }
                }
                return true
            }
            if ok, let r = rescales.first {
                let scaling = Scaling(slope: r[0], intercept: r[1])
                storage = .int16(raw, scaling: scaling == Scaling(slope: 1, intercept: 0) ? nil : scaling)
            }
            rescales = []
        }
        if storage == nil {
            var voxels = [Float](repeating: 0, count: perSlice * n)
            try voxels.withUnsafeMutableBufferPointer { out in
                for (k, s) in slices.enumerated() {
                    let d = try DICOMPixels.decode(full(s.file), rows: rows, cols: cols, into: .float(out.baseAddress! + k * perSlice))
                    onDisk = d.type
                    rescales.insert([d.scaling.slope, d.scaling.intercept])
                }
            }
            storage = .float(voxels)
        }
        let rescale: Scaling? = rescales.count == 1 ? rescales.first.map { Scaling(slope: $0[0], intercept: $0[1]) } : nil
        if rescales.count > 1 { warnings.append("RescaleSlope/Intercept differ between slices (each applied)") }
        let tsyn = Array(Set(headers.map(\.transferSyntax))).sorted()
        let report = DICOMSeriesReport(
            seriesUID: uid, description: first.string(Tag.seriesDescription) ?? "", sliceCount: n,
            transferSyntaxes: tsyn, transferSyntaxNames: tsyn.map(DICOMTransferSyntax.name),
            sliceGaps: gaps, unevenSpacing: uneven, rescale: rescale, warnings: warnings,
            files: slices.map(\.file.path))
        let scan = ScanVolume(geometry: Geometry(shape: [cols, rows, n], affine: ras), storage: storage!,
                              onDiskType: onDisk, transformCodes: TransformCodes(qform: 1, sform: 1))
        return (scan, report)
    }
}
