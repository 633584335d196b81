import MedicalImage

/// What to generate. The anatomy is drawn per case from (seed, case index); the config
/// fixes only the grid and options, so train and test sets differ by seed or index range.
public struct PhantomConfig: Sendable {
    /// In-plane size (pixels, square). Pixel spacing follows a field of view of ~300–460 mm,
    /// i.e. 0.6–0.9 mm at 512.
    public var size: Int
    /// Range the number of slices is drawn from; slice thickness (0.7–5 mm) is drawn so the
    /// scan covers the liver where it can.
    public var slices: ClosedRange<Int>
    /// Adds mild beam-hardening streaks radiating from the spine.
    public var streaks: Bool
    /// Overrides the number of lesions per case (nil: 0–10, ~15% of cases without).
    public var tumorCount: ClosedRange<Int>?
    /// Scales each lesion's attenuation difference from its liver (body, rim, core and margin
    /// alike) by a factor drawn per lesion, uniformly from this range (nil: 1). The factors come
    /// from a random stream of their own, so a case keeps the anatomy, lesions, grid and noise
    /// it has without them: the same phantoms with fainter (or stronger) lesions, to teach and
    /// test detection near the noise.
    public var tumorContrast: ClosedRange<Double>?

    public init(size: Int = 512, slices: ClosedRange<Int> = 64...128, streaks: Bool = false,
                tumorCount: ClosedRange<Int>? = nil, tumorContrast: ClosedRange<Double>? = nil) {
        self.size = size
        self.slices = slices
        self.streaks = streaks
        self.tumorCount = tumorCount
        self.tumorContrast = tumorContrast
    }

    /// Largest contrast factor: 4× the strongest drawn contrast (80 HU) is already far beyond any
    /// liver lesion in the portal venous phase.
    public static let maxTumorContrast = 4.0

    func validate() throws {
        guard size >= 32, size <= 2048 else { throw PhantomError("size \(size) must lie in 32...2048") }
        guard slices.lowerBound >= 1, slices.upperBound <= 2000 else {
            throw PhantomError("slice count range \(slices) must lie within 1...2000")
        }
        if let t = tumorCount, t.lowerBound < 0 || t.upperBound > Tissue.maxTumors {
            throw PhantomError("tumor count range \(t) must lie within 0...\(Tissue.maxTumors)")
        }
        if let c = tumorContrast, !(c.lowerBound >= 0 && c.upperBound <= Self.maxTumorContrast) {
            throw PhantomError("tumor contrast factor range \(c) must lie within 0...\(Self.maxTumorContrast)")
        }
    }
}

public struct PhantomError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = "phantom: " + message }
}

/// Mean and spread of HU over a set of voxels.
public struct HUStats: Sendable, Codable, Equatable {
    public var count: Int
    public var mean: Double
    public var std: Double
}

/// One lesion as generated.
public struct TumorInfo: Sendable, Codable {
    public var kind: TumorKind
    public var diameterMM: Double
    public var lobes: Int
    public var touchesSurface: Bool
    /// How much darker than the liver its body is (HU), after `contrastScale`.
    public var contrastHU: Double
    /// The factor `PhantomConfig.tumorContrast` drew for it (nil: not asked for, 1).
    public var contrastScale: Double?
    /// Voxels labelled 2 for this lesion in the volume (0 when it lies outside the scan or
    /// is hidden behind another lesion).
    public var voxels: Int
}

/// What a generated case is, for manifests, statistics and checks.
public struct PhantomCaseInfo: Sendable, Codable {
    public var index: Int
    public var seed: UInt64
    public var shape: [Int]
    public var spacing: [Double]
    public var affine: [Double]
    public var axisCodes: String
    public var noiseSigmaHU: Double
    public var liverHU: Double
    /// Cirrhotic liver shape (nodular surface, small right lobe, large caudate).
    public var cirrhosis: Bool
    /// Thickness of perihepatic ascites (mm; 0 without).
    public var ascitesMM: Double
    public var tumors: [TumorInfo]
    public var liverVoxels: Int
    public var tumorVoxels: Int
    /// Tumor voxels over liver-region voxels (labels 1 and 2).
    public var tumorFraction: Double
    /// Visible lesions (those with at least one voxel).
    public var visibleTumors: Int { tumors.filter { $0.voxels > 0 }.count }
    /// HU statistics per label ("background", "liver", "tumor") and tissue ("spleen", ...).
    public var stats: [String: HUStats]
}

/// A generated case: CT in HU, labels 0/1/2 on the same grid, and its description.
public struct PhantomCase: Sendable {
    public var image: Volume<Float>
    public var labels: Volume<UInt8>
    public var info: PhantomCaseInfo
    /// Anatomical frame of the case, for tests that check labels against the shapes.
    let frame: CaseFrame
    /// Tissue class per voxel (only when asked for, for diagnostics).
    var tissues: [UInt8]? = nil
}

/// Maps world RAS+ millimetres to the generator's anatomical frame.
struct CaseFrame: Sendable {
    var recoL: Float, recoP: Float, offU: Float, offV: Float, oS: Float, zBottom: Float

    func anatomical(rasX x: Double, _ y: Double, _ z: Double) -> (u: Float, v: Float, z: Float) {
        let l = Float(-x), p = Float(-y)
        return (l - recoL - offU, p - recoP - offV, Float(z) - oS + zBottom)
    }
}
