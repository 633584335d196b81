import Foundation
import MedicalImage
@testable import Phantom
import Testing

/// `PhantomConfig.tumorContrast`: the same case with fainter lesions. The image is linear in
/// the lesions' attenuation (rasterized, integrated over the slice, blurred, then noise added),
/// so with factors 1, ½ and 0 the half-contrast case lies midway between the other two at every
/// voxel, up to the rounding of each to whole HU. That, and labels equal to the bit, is checked
/// without the generator's own arithmetic.
@Suite struct TumorContrastTests {
    let config = PhantomConfig(size: 64, slices: 12...12, tumorCount: 3...3)

    func make(_ contrast: ClosedRange<Double>?, index: Int, seed: UInt64 = 5, size: Int = 64) throws -> PhantomCase {
        var c = config
        c.size = size
        c.tumorContrast = contrast
        return try PhantomGenerator(c).makeCase(index: index, seed: seed)
    }

    /// At 128² case 13 holds a necrotic lesion of 393 voxels, case 25 a rim-enhancing one of 2 894
    /// whose rim is a pixel or two wide: every part of a lesion (body, margin, rim, core) must scale.
    @Test(arguments: [13, 25]) func halfTheContrastLiesMidwayBetweenFullAndNone(index: Int) throws {
        let full = try make(nil, index: index, size: 128), half = try make(0.5...0.5, index: index, size: 128),
            none = try make(0...0, index: index, size: 128)
        #expect(half.labels.voxels == full.labels.voxels && none.labels.voxels == full.labels.voxels)
        #expect(half.image.geometry == full.image.geometry)
        #expect(half.info.noiseSigmaHU == full.info.noiseSigmaHU)
        #expect(full.info.tumors.allSatisfy { $0.contrastScale == nil })
        for (h, f) in zip(half.info.tumors, full.info.tumors) {
            #expect(h.contrastScale == 0.5 && h.voxels == f.voxels && h.diameterMM == f.diameterMM)
            #expect(h.contrastHU == f.contrastHU / 2)
        }
        let tumorVoxels = full.labels.voxels.filter { $0 == 2 }.count
        try #require(tumorVoxels > 50, "the case needs visible lesions")

        var worst: Float = 0, changed = 0, changedFarFromTumor = 0
        var tumorDeficit = 0.0
        let g = full.labels.geometry
        let (nx, ny, nz) = (g.shape[0], g.shape[1], g.shape[2])
        func nearTumor(_ i: Int, _ j: Int, _ k: Int) -> Bool {
            for kk in max(0, k - 1)...min(nz - 1, k + 1) {
                for jj in max(0, j - 4)...min(ny - 1, j + 4) {
                    for ii in max(0, i - 4)...min(nx - 1, i + 4) where full.labels.voxels[ii + nx * (jj + ny * kk)] == 2 {
                        return true
                    }
                }
            }
            return false
        }
        for k in 0..<nz {
            for j in 0..<ny {
                for i in 0..<nx {
                    let p = i + nx * (j + ny * k)
                    let f = full.image.voxels[p], h = half.image.voxels[p], z = none.image.voxels[p]
                    worst = max(worst, abs(h - (f + z) / 2))
                    if f != z {
                        changed += 1
                        if !nearTumor(i, j, k) { changedFarFromTumor += 1 }
                    }
                    if full.labels.voxels[p] == 2 { tumorDeficit += Double(z - f) }
                }
            }
        }
        // Each of the three is rounded to whole HU: at most ½ + ¼ + ¼ apart from exact.
        #expect(worst <= 1, "half-contrast voxel \(worst) HU from midway")
        #expect(changed >= tumorVoxels / 2)
        #expect(changedFarFromTumor == 0, "\(changedFarFromTumor) voxels away from every lesion changed")
        // The lesions are darker than the liver: taking their contrast away brightens them by
        // about the reported contrast (less where the margin, rim or blur mixes in liver).
        let meanDeficit = tumorDeficit / Double(tumorVoxels)
        let reported = full.info.tumors.filter { $0.voxels > 0 }.map(\.contrastHU)
        #expect(meanDeficit > 0.3 * (reported.min() ?? 0) && meanDeficit < 1.2 * (reported.max() ?? 0),
                "mean brightening \(meanDeficit) HU against contrasts \(reported)")
    }

    /// The image test above cannot see a part left unscaled (a constant is affine too): the
    /// attenuation table shows it. Every part of every lesion keeps ½ of its difference from the
    /// liver, whether or not its kind paints that part; nothing else changes.
    @Test func everyPartOfALesionKeepsTheFactorOfItsDifferenceFromTheLiver() throws {
        var halfConfig = config
        halfConfig.tumorContrast = 0.5...0.5
        let full = try PhantomGenerator(config).plan(index: 6, seed: 5), half = try PhantomGenerator(halfConfig).plan(index: 6, seed: 5)
        let liver = full.table[.liver]
        for i in 0..<full.anat.placedTumors.count {
            for part in [TumorPart.body, .rim, .core, .margin] {
                let id = Int(Tissue.tumor(i, part))
                let d = full.table.hu[id] - liver, dHalf = half.table.hu[id] - liver
                #expect(abs(dHalf - d / 2) <= 1e-4 * abs(d) + 1e-4, "lesion \(i) \(part): \(dHalf) HU from the liver, not \(d / 2)")
                #expect(half.table.texture[id] == full.table.texture[id])
            }
        }
        let tumorIds = Int(Tissue.tumorBase)..<(Int(Tissue.tumorBase) + 4 * full.anat.placedTumors.count)
        for id in 0..<full.table.hu.count where !tumorIds.contains(id) {
            #expect(half.table.hu[id] == full.table.hu[id], "tissue \(id)")
        }
    }

    @Test func factorsAreDrawnPerLesionWithinTheRange() throws {
        var c = config
        c.tumorCount = 6...6
        c.tumorContrast = 0.3...0.9
        let a = try PhantomGenerator(c).makeCase(index: 2, seed: 11)
        let b = try PhantomGenerator(c).makeCase(index: 2, seed: 11)
        #expect(a.image.voxels == b.image.voxels)
        let scales = a.info.tumors.compactMap(\.contrastScale)
        #expect(scales.count == 6 && scales.allSatisfy { (0.3..<0.9).contains($0) })
        #expect(Set(scales).count == 6, "one factor per lesion: \(scales)")
        var plain = c
        plain.tumorContrast = nil
        let plainSix = try PhantomGenerator(plain).makeCase(index: 2, seed: 11)
        #expect(a.labels.voxels == plainSix.labels.voxels)
        for (t, p) in zip(a.info.tumors, plainSix.info.tumors) {
            #expect(t.contrastHU == Double(Float(t.contrastScale!) * Float(p.contrastHU)))
        }
        // Another case draws other factors.
        let d = try PhantomGenerator(c).makeCase(index: 3, seed: 11)
        #expect(d.info.tumors.compactMap(\.contrastScale) != scales)
    }

    @Test func factorsOutsideTheirRangeAreRefused() {
        for bad: ClosedRange<Double> in [-0.1...1, 0.5...4.5] {
            var c = config
            c.tumorContrast = bad
            #expect(throws: PhantomError.self) { try PhantomGenerator(c).makeCase(index: 0, seed: 1) }
        }
    }
}
