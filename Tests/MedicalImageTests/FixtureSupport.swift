import Foundation
@testable import MedicalImage

/// The committed fixtures and what nibabel / pydicom / SimpleITK read from them
/// (written by scripts/fixtures/make_medicalimage_fixtures.py).
enum Fixtures {
    static let root: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func url(_ rel: String) -> URL { root.appendingPathComponent(rel) }

    nonisolated(unsafe) static let expected: [String: Any] = {
        let data = try! Data(contentsOf: root.appendingPathComponent("expected.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func section(_ name: String) -> [String: [String: Any]] {
        expected[name] as! [String: [String: Any]]
    }

    /// Malformed fixture name → the error kind it must raise.
    static var malformed: [String: String] { expected["malformed"] as! [String: String] }

    static func doubles(_ v: Any?) -> [Double] { (v as! [Any]).map { ($0 as! NSNumber).doubleValue } }
    static func ints(_ v: Any?) -> [Int] { (v as! [Any]).map { ($0 as! NSNumber).intValue } }

    static func tempDir() -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("liverseg-io-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }
}

func maxAbsDiff(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// Largest difference relative to max(1, |reference|): Float voxels vs float64 references.
func maxRelDiff(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    return zip(a, b).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
}
