import Foundation
import Support

/// How a lesion looks in the portal venous phase.
public enum TumorKind: String, Sendable, Codable, CaseIterable {
    /// Clearly darker than liver (most metastases, HCC wash-out).
    case hypodense
    /// Only slightly darker than liver: hard to see under noise.
    case nearIsodense
    /// Hypodense with an enhancing rim (e.g. colorectal metastases).
    case rimEnhancing
    /// Hypodense with a fluid-like necrotic centre.
    case necrotic
}

/// How many lesions a case gets; decided before the anatomy so tests can ask for some.
struct TumorPlan {
    var count: Int
}

/// One lesion: a union of ellipsoidal lobes with an irregular surface, clipped to the liver
/// when painted.
struct TumorShape {
    let kind: TumorKind
    let lobes: [(c: P3, r: P3)]
    let radius: Float
    let noise: WaveNoise
    let touchesSurface: Bool
    /// Attenuation relative to the liver (HU below it) and the other parts' values.
    let deltaBody: Float
    let rimAboveLiver: Float
    let coreHU: Float
    let texture: Float
    /// Width of a transition zone at the edge (0: sharp margin).
    let margin: Float
    let rimWidth: Float
    let coreDepth: Float
    let box: Box
    let zRange: ClosedRange<Float>
    /// Multiplies every part's difference from the liver (`PhantomConfig.tumorContrast`).
    var contrastScale: Float = 1

    var diameter: Float { 2 * radius }

    @inline(__always) func field(_ u: Float, _ v: Float, _ z: Float) -> Float {
        var f: Float = 1e9
        for l in lobes {
            f = smin(f, ellipsoidSD(u - l.c.u, v - l.c.v, z - l.c.z, l.r.u, l.r.v, l.r.z), 0.3 * radius)
        }
        return f + noise(u, v, z)
    }

    func layers(index i: Int) -> [(Float, UInt8)] {
        var out: [(Float, UInt8)] = []
        switch kind {
        case .rimEnhancing:
            out = [(Float(0), Tissue.tumor(i, .rim)), (-rimWidth, Tissue.tumor(i, .body))]
        default:
            out = margin > 0 ? [(Float(0), Tissue.tumor(i, .margin)), (-margin, Tissue.tumor(i, .body))] : [(Float(0), Tissue.tumor(i, .body))]
        }
        if coreDepth > 0 { out.append((-coreDepth, Tissue.tumor(i, .core))) }
        return out
    }

    /// Sets this lesion's attenuation in the case's table, relative to its liver.
    func apply(index i: Int, to table: inout TissueTable) {
        let liver = table[.liver]
        let body = liver - contrastScale * deltaBody
        func set(_ p: TumorPart, _ hu: Float) {
            let id = Int(Tissue.tumor(i, p))
            table.hu[id] = hu
            table.texture[id] = texture
        }
        set(.body, body)
        set(.rim, liver + contrastScale * rimAboveLiver)
        // At 1 the core keeps its HU to the bit, so phantoms made without the option do not change.
        set(.core, contrastScale == 1 ? coreHU : liver + contrastScale * (coreHU - liver))
        set(.margin, (body + liver) / 2)
    }

    static func sampleCount(_ rng: inout SeededRNG) -> Int {
        if rng.chance(0.15) { return 0 }
        let x = rng.nextFloat()
        return min(10, 1 + Int(x * x * 10))
    }

    /// Places `plan.count` lesions in the anatomy's liver: most deep inside, some touching
    /// the surface (they are cut by it when painted), some multi-lobed.
    static func place(plan: TumorPlan, in anat: Anatomy, rng: inout SeededRNG) -> [TumorShape] {
        var out: [TumorShape] = []
        let lb = anat.liverBox()
        let many = plan.count > 4
        for _ in 0..<min(plan.count, Tissue.maxTumors) {
            // Diameter 3-80 mm, log-uniform; many lesions tend to be smaller (metastatic seeding).
            let dMax: Float = many ? 40 : 80
            let d = exp(rng.f(log(3), log(dMax)))
            let r = d / 2
            let surface = rng.chance(0.25)
            var best = P3(0, 0, 0), bestScore = Float.infinity
            for _ in 0..<300 {
                let c = P3(rng.f(lb.u0, lb.u1), rng.f(lb.v0, lb.v1), rng.f(anat.liverZ.lowerBound, anat.liverZ.upperBound))
                let f = anat.liverSD(c.u, c.v, c.z)
                let score = surface ? abs(f + 0.3 * r) : max(0, f + 0.8 * r)
                if score < bestScore { bestScore = score; best = c }
                if score < 0.05 * r + 0.3 { break }
            }
            let kindRoll = rng.nextDouble()
            let kind: TumorKind = kindRoll < 0.58 ? .hypodense : kindRoll < 0.75 ? .nearIsodense : kindRoll < 0.9 ? .rimEnhancing : .necrotic
            var lobes: [(c: P3, r: P3)] = [(best, P3(r * rng.f(0.8, 1.2), r * rng.f(0.8, 1.2), r * rng.f(0.8, 1.2)))]
            if r > 4 && rng.chance(0.25) {
                for _ in 0..<(1 + rng.below(3)) {
                    let dir = P3(rng.f(-1, 1), rng.f(-1, 1), rng.f(-1, 1)).normalized
                    let rl = r * rng.f(0.4, 0.75)
                    lobes.append((best + dir * (r * rng.f(0.5, 0.9)), P3(rl, rl * rng.f(0.8, 1.2), rl * rng.f(0.8, 1.2))))
                }
            }
            var ext: Float = 0
            for l in lobes { ext = max(ext, (l.c - best).length + max(l.r.u, max(l.r.v, l.r.z))) }
            ext = ext * 1.15 + 1
            let noise = WaveNoise(rng: &rng, count: 5, wavelength: max(3, r * 0.6)...max(6, r * 2), amplitude: 0.07 * r)
            let delta: Float
            switch kind {
            case .nearIsodense: delta = rng.f(8, 18)
            default: delta = rng.f(20, 80)
            }
            let rimW = kind == .rimEnhancing ? min(max(1.2, r * rng.f(0.12, 0.25)), 5) : 0
            let core = (kind == .necrotic || (kind == .rimEnhancing && r > 8 && rng.chance(0.4))) ? r * rng.f(0.3, 0.6) : 0
            out.append(TumorShape(kind: kind, lobes: lobes, radius: r, noise: noise, touchesSurface: surface,
                                  deltaBody: delta, rimAboveLiver: rng.f(0, 35), coreHU: rng.f(5, 25),
                                  texture: rng.f(3, 12),
                                  margin: (kind != .rimEnhancing && rng.chance(0.7)) ? min(r * 0.3, rng.f(1, 3)) : 0,
                                  rimWidth: rimW, coreDepth: core,
                                  box: Box(cu: best.u, cv: best.v, ru: ext, rv: ext), zRange: (best.z - ext)...(best.z + ext)))
        }
        return out
    }
}
