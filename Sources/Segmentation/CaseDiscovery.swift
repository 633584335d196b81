import Foundation

/// One training or test case: a CT volume and (for training) its label map.
public struct CaseFiles: Sendable, Equatable, Codable {
    public var name: String
    public var image: URL
    public var labels: URL?
}

/// Finds cases in the two layouts users have: LiTS (`volume-N.nii[.gz]` beside
/// `segmentation-N.nii[.gz]`) and nnU-Net (`imagesTr/NAME_0000.nii.gz`, `labelsTr/NAME.nii.gz`).
public enum CaseDiscovery {
    static let niftiSuffixes = [".nii.gz", ".nii"]

    static func stem(_ file: String) -> String? {
        for s in niftiSuffixes where file.hasSuffix(s) { return String(file.dropLast(s.count)) }
        return nil
    }

    /// Cases of a dataset folder; with `requireLabels` every image must have its label map.
    public static func cases(in dir: URL, requireLabels: Bool = true) throws -> [CaseFiles] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw SegmentationError("\(dir.path): dataset folder does not exist")
        }
        let imagesTr = dir.appendingPathComponent("imagesTr")
        if fm.fileExists(atPath: imagesTr.path) { return try nnUNetCases(dir, requireLabels: requireLabels) }
        let files = try fm.contentsOfDirectory(atPath: dir.path)
        var images: [String: URL] = [:], labels: [String: URL] = [:]
        for f in files {
            guard let s = stem(f) else { continue }
            if s.hasPrefix("volume-") { images[String(s.dropFirst(7))] = dir.appendingPathComponent(f) }
            if s.hasPrefix("segmentation-") { labels[String(s.dropFirst(13))] = dir.appendingPathComponent(f) }
        }
        guard !images.isEmpty else {
            throw SegmentationError("\(dir.path): no volume-N.nii[.gz] files (LiTS layout) and no imagesTr/ folder (nnU-Net layout)")
        }
        var out: [CaseFiles] = []
        for (id, url) in images {
            let label = labels[id]
            if requireLabels && label == nil {
                throw SegmentationError("case volume-\(id) in \(dir.path): segmentation-\(id).nii[.gz] is missing")
            }
            out.append(CaseFiles(name: "case-\(id)", image: url, labels: label))
        }
        return out.sorted { numericOrder($0.name, $1.name) }
    }

    static func nnUNetCases(_ dir: URL, requireLabels: Bool) throws -> [CaseFiles] {
        let fm = FileManager.default
        let imagesTr = dir.appendingPathComponent("imagesTr"), labelsTr = dir.appendingPathComponent("labelsTr")
        var out: [CaseFiles] = []
        for f in try fm.contentsOfDirectory(atPath: imagesTr.path) {
            guard let s = stem(f), s.hasSuffix("_0000") else { continue }
            let name = String(s.dropLast(5))
            let label = niftiSuffixes.map { labelsTr.appendingPathComponent(name + $0) }.first { fm.fileExists(atPath: $0.path) }
            if requireLabels && label == nil {
                throw SegmentationError("case \(name) in \(dir.path): labelsTr/\(name).nii.gz is missing")
            }
            out.append(CaseFiles(name: name, image: imagesTr.appendingPathComponent(f), labels: label))
        }
        guard !out.isEmpty else { throw SegmentationError("\(imagesTr.path): no NAME_0000.nii[.gz] images") }
        return out.sorted { numericOrder($0.name, $1.name) }
    }

    /// "case-2" before "case-10".
    static func numericOrder(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: .numeric) == .orderedAscending
    }
}
