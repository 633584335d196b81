import Support

/// Tissue classes painted into the phantom. Every voxel gets one; HU and the label follow
/// from it. Tumors get their own ids from `tumorBase` on (four per tumor: body, rim, core,
/// margin) so each lesion can have its own attenuation.
enum Tissue: UInt8, CaseIterable {
    case air = 0, skin, subcutaneousFat, muscle, visceralFat, corticalBone, marrow, disc, csf
    case aorta, ivc, portalTrunk, kidneyCortex, kidneyMedulla, renalSinusFat, renalPelvis
    case spleen, stomachWall, stomachFluid, gas, bowelWall, bowelFluid, stool, gallbladder
    case lung, myocardium, heartBlood, liver, portalVein, hepaticVein, tableCore, tableShell
    case cartilage, pancreas, mesentericVessel, ascites

    static let tumorBase: UInt8 = 64
    static let maxTumors = 40

    static func tumor(_ index: Int, _ part: TumorPart) -> UInt8 { tumorBase + UInt8(4 * index + part.rawValue) }
    static func isTumor(_ t: UInt8) -> Bool { t >= tumorBase }
    static func tumorIndex(_ t: UInt8) -> Int { Int(t - tumorBase) / 4 }
}

enum TumorPart: Int { case body = 0, rim, core, margin }

/// A 256-bit set of tissue ids (which tissues an object may paint over).
struct TissueSet: Sendable {
    private var w: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    init(_ ids: [UInt8]) { for t in ids { insert(t) } }
    mutating func insert(_ t: UInt8) {
        let bit = UInt64(1) << UInt64(t & 63)
        switch t >> 6 { case 0: w.0 |= bit; case 1: w.1 |= bit; case 2: w.2 |= bit; default: w.3 |= bit }
    }
    @inline(__always) func contains(_ t: UInt8) -> Bool {
        let word: UInt64
        switch t >> 6 { case 0: word = w.0; case 1: word = w.1; case 2: word = w.2; default: word = w.3 }
        return (word >> UInt64(t & 63)) & 1 != 0
    }
}

/// Per-case attenuation of every tissue: mean HU and amplitude of the smooth texture field.
struct TissueTable: Sendable {
    var hu = [Float](repeating: 0, count: 256)
    var texture = [Float](repeating: 0, count: 256)
    var label = [UInt8](repeating: 0, count: 256)

    subscript(t: Tissue) -> Float {
        get { hu[Int(t.rawValue)] }
        set { hu[Int(t.rawValue)] = newValue }
    }

    mutating func set(_ t: Tissue, _ value: Float, texture amp: Float) {
        hu[Int(t.rawValue)] = value
        texture[Int(t.rawValue)] = amp
    }

    /// Portal venous phase values (ranges from the issue and the radiology literature).
    static func sample(_ rng: inout SeededRNG) -> TissueTable {
        var t = TissueTable()
        t.set(.air, -1000, texture: 0)
        t.set(.skin, rng.f(20, 60), texture: 6)
        t.set(.subcutaneousFat, rng.f(-118, -90), texture: 7)
        t.set(.visceralFat, rng.f(-112, -85), texture: 9)
        t.set(.muscle, rng.f(42, 58), texture: 5)
        t.set(.corticalBone, rng.f(750, 1150), texture: 60)
        t.set(.marrow, rng.f(210, 290), texture: 35)
        t.set(.disc, rng.f(70, 105), texture: 6)
        t.set(.csf, rng.f(2, 15), texture: 3)
        t.set(.aorta, rng.f(160, 240), texture: 3)
        t.set(.ivc, rng.f(150, 200), texture: 6)
        let portal = rng.f(165, 225)
        t.set(.portalTrunk, portal, texture: 4)
        t.set(.portalVein, portal, texture: 4)
        t.set(.hepaticVein, rng.f(150, 195), texture: 4)
        let cortex = rng.f(150, 200)
        t.set(.kidneyCortex, cortex, texture: 6)
        t.set(.kidneyMedulla, cortex - rng.f(10, 40), texture: 6)
        t.set(.renalSinusFat, rng.f(-100, -70), texture: 10)
        t.set(.renalPelvis, rng.f(0, 15), texture: 3)
        t.set(.spleen, rng.f(100, 130), texture: rng.f(3, 6))
        t.set(.liver, rng.f(100, 130), texture: rng.f(3, 7))
        t.set(.stomachWall, rng.f(70, 110), texture: 6)
        t.set(.stomachFluid, rng.f(0, 20), texture: 4)
        t.set(.gas, -1000, texture: 0)
        t.set(.bowelWall, rng.f(75, 120), texture: 6)
        t.set(.bowelFluid, rng.f(0, 25), texture: 5)
        t.set(.stool, rng.f(-60, -10), texture: 70)
        t.set(.gallbladder, rng.f(0, 20), texture: 2)
        t.set(.lung, rng.f(-880, -820), texture: 25)
        t.set(.myocardium, rng.f(90, 120), texture: 5)
        t.set(.heartBlood, rng.f(140, 190), texture: 5)
        t.set(.tableCore, rng.f(-300, -150), texture: 15)
        t.set(.tableShell, rng.f(150, 400), texture: 20)
        t.set(.cartilage, rng.f(110, 170), texture: 35)
        t.set(.pancreas, rng.f(90, 120), texture: 12)
        t.set(.mesentericVessel, rng.f(150, 200), texture: 3)
        t.set(.ascites, rng.f(0, 18), texture: 3)
        for x in [Tissue.liver, .portalVein, .hepaticVein] { t.label[Int(x.rawValue)] = 1 }
        for id in Int(Tissue.tumorBase)..<256 { t.label[id] = 2 }
        return t
    }
}
