import ArgumentParser
import Foundation
import MedicalImage

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Geometry, data type, scaling and intensity statistics of a NIfTI file or DICOM series.",
        discussion: """
            PATH is a .nii/.nii.gz file, a DICOM file, or a folder of DICOM files (searched recursively).
            Values are after scaling (NIfTI scl_slope/scl_inter, DICOM RescaleSlope/Intercept: HU for CT).
            The affine maps voxel (i, j, k) to RAS+ millimetres, as nibabel reports it.
            """)

    @Argument(help: "NIfTI file, DICOM file, or DICOM folder.")
    var path: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(name: .customLong("voxel"), parsing: .upToNextOption,
            help: "Voxel indices i,j,k to print the value of (repeatable, 0-based).")
    var voxels: [String] = []

    @Option(name: .customLong("series"), help: "SeriesInstanceUID to read when a DICOM folder holds several series.")
    var series: String?

    func run() throws {
        let url = URL(fileURLWithPath: path)
        let probes = try voxels.map(Self.parseIndex)
        let (volume, source) = try MedicalImageReader.readWithSource(url, seriesUID: series)
        let shape = volume.shape
        for p in probes where !(0..<3).allSatisfy({ p[$0] >= 0 && p[$0] < shape[$0] }) {
            throw ValidationError("--voxel \(p.map(String.init).joined(separator: ",")) lies outside the grid \(shape)")
        }
        var info: [String: Any] = [:]
        let g = volume.geometry
        info["path"] = path
        info["shape"] = shape
        info["datatype"] = volume.onDiskType?.rawValue ?? NSNull()
        info["scaling"] = volume.scaling.map { ["slope": $0.slope, "intercept": $0.intercept] as [String: Any] } ?? NSNull()
        info["spacing"] = g.spacing
        info["affine"] = (0..<4).map { r in (0..<4).map { g.affine[r * 4 + $0] + 0.0 } }  // + 0 turns −0 into 0
        info["orientation"] = g.axisCodes
        info["stats"] = Self.stats(volume.voxels)
        info["probes"] = probes.map { p -> [String: Any] in
            let v = volume[p[0], p[1], p[2]]
            return ["index": p, "value": v.isFinite ? Double(v) : NSNull()]
        }
        switch source {
        case .nifti(let h):
            info["format"] = "nifti\(h.version)"
            info["byte_order"] = h.bigEndian ? "big" : "little"
            info["gzip"] = h.isGzip
            info["affine_source"] = h.affineSource
            info["qform_code"] = h.raw.qformCode
            info["sform_code"] = h.raw.sformCode
            info["vox_offset"] = h.dataOffset
            info["extension_bytes"] = h.extensionBytes
            info["description"] = h.raw.descrip
        case .dicom(let r):
            info["format"] = "dicom"
            info["series_uid"] = r.seriesUID
            info["series_description"] = r.description
            info["slice_count"] = r.sliceCount
            info["transfer_syntax"] = r.transferSyntaxes.count == 1 ? r.transferSyntaxes[0] as Any : r.transferSyntaxes
            info["transfer_syntax_name"] = r.transferSyntaxNames.joined(separator: ", ")
            info["uneven_spacing"] = r.unevenSpacing
            if let lo = r.sliceGaps.min(), let hi = r.sliceGaps.max() { info["slice_gap_range"] = [lo, hi] }
            info["warnings"] = r.warnings
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: info, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.text(info))
        }
    }

    static func parseIndex(_ s: String) throws -> [Int] {
        let parts = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--voxel expects i,j,k (three integers), got \"\(s)\"")
        }
        return parts.map { $0! }
    }

    static func stats(_ v: [Float]) -> [String: Any] {
        var lo = Double.infinity, hi = -Double.infinity, sum = 0.0, finite = 0
        for x in v where x.isFinite {
            let d = Double(x)
            lo = min(lo, d); hi = max(hi, d); sum += d; finite += 1
        }
        return ["min": finite > 0 ? lo : NSNull(), "max": finite > 0 ? hi : NSNull(),
                "mean": finite > 0 ? sum / Double(finite) : NSNull(), "sum": sum,
                "count": v.count, "nonfinite": v.count - finite]
    }

    static func text(_ info: [String: Any]) -> String {
        func fmt(_ x: Any) -> String {
            if let d = x as? Double { return String(format: "%.6g", d) }
            if let a = x as? [Any] { return "[" + a.map(fmt).joined(separator: ", ") + "]" }
            if let m = x as? [String: Any] { return m.keys.sorted().map { "\($0)=\(fmt(m[$0]!))" }.joined(separator: " ") }
            if x is NSNull { return "none" }
            return "\(x)"
        }
        var lines: [String] = []
        let order = ["path", "format", "series_uid", "series_description", "slice_count", "transfer_syntax",
                     "transfer_syntax_name", "shape", "datatype", "scaling", "spacing", "orientation", "affine_source",
                     "qform_code", "sform_code", "uneven_spacing", "slice_gap_range", "stats"]
        for k in order { if let v = info[k] { lines.append("\(k): \(fmt(v))") } }
        if let a = info["affine"] as? [[Double]] {
            lines.append("affine (voxel → RAS+ mm):")
            for r in a { lines.append("  " + r.map { String(format: "%12.6f", $0) }.joined(separator: " ")) }
        }
        for p in info["probes"] as? [[String: Any]] ?? [] { lines.append("voxel \(fmt(p["index"]!)): \(fmt(p["value"]!))") }
        for w in info["warnings"] as? [String] ?? [] { lines.append("warning: \(w)") }
        return lines.joined(separator: "\n")
    }
}
