import Foundation
import MedicalImage
@testable import Phantom
import Testing

/// Small grids keep the debug-build suite fast; the anatomy is the same at any size.
let small = PhantomConfig(size: 64, slices: 10...14)

@Suite struct GeneratorTests {
    @Test func sameSeedAndIndexGiveIdenticalCases() throws {
        let a = try PhantomGenerator(small).makeCase(index: 3, seed: 7)
        // Generating other cases first must not change case 3: it depends only on (seed, index).
        let g = PhantomGenerator(small)
        _ = try g.makeCase(index: 0, seed: 7)
        _ = try g.makeCase(index: 1, seed: 7)
        let b = try g.makeCase(index: 3, seed: 7)
        #expect(a.image.voxels == b.image.voxels)
        #expect(a.labels.voxels == b.labels.voxels)
        #expect(a.image.geometry == b.image.geometry)
        let c = try PhantomGenerator(small).makeCase(index: 3, seed: 8)
        #expect(c.image.voxels != a.image.voxels)
        let d = try PhantomGenerator(small).makeCase(index: 4, seed: 7)
        #expect(d.image.voxels != a.image.voxels)
    }

    @Test func geometryIsRealisticAndMixesAxisOrders() throws {
        let gen = PhantomGenerator(PhantomConfig(size: 512, slices: 40...300))
        var codes = Set<String>()
        var tumorCounts: [Int] = []
        for i in 0..<40 {
            let p = try gen.plan(index: i, seed: 11)
            #expect(p.s >= 0.6 - 1e-5 && p.s <= 0.9 + 1e-5, "in-plane spacing \(p.s)")
            #expect(p.dz >= 0.7 && p.dz <= 5, "slice thickness \(p.dz)")
            #expect(p.nz >= 40 && p.nz <= 300)
            #expect(p.sigma >= 8 && p.sigma <= 25)
            codes.insert(p.lps ? "LPS" : "RAS")
            tumorCounts.append(p.anat.placedTumors.count)
            // The body must fit the field of view.
            #expect(2 * p.anat.A + 20 < Float(p.n) * p.s)
        }
        #expect(codes == ["LPS", "RAS"])
        #expect(tumorCounts.contains(0))
        #expect(tumorCounts.allSatisfy { $0 <= 10 })
        #expect(tumorCounts.contains { $0 >= 3 })
        // Spacing scales with the grid so the field of view stays anatomical.
        let p256 = try PhantomGenerator(PhantomConfig(size: 256, slices: 40...80)).plan(index: 0, seed: 11)
        #expect(p256.s >= 1.2 - 1e-5 && p256.s <= 1.8 + 1e-5)
    }

    /// Labels are checked against the anatomy's own implicit liver, reached through the
    /// file's affine: this catches orientation or origin mistakes in either axis order.
    @Test func labelsLieInsideTheLiverShapeThroughTheAffine() throws {
        let gen = PhantomGenerator(PhantomConfig(size: 64, slices: 12...12, tumorCount: 3...3))
        var seen = Set<String>()
        var index = 0
        while seen.count < 2 && index < 12 {
            let (c, anat) = try gen.build(index: index, seed: 21)
            index += 1
            seen.insert(c.info.axisCodes)
            let g = c.labels.geometry
            let (nx, ny, nz) = (g.shape[0], g.shape[1], g.shape[2])
            let tol = Float(g.spacing[0]) * 0.75 + 2.5
            var liver = 0, outside = 0, deepInside = 0, deepLabelled = 0, tumorOutside = 0, tumor = 0
            for k in 0..<nz {
                for j in 0..<ny {
                    for i in 0..<nx {
                        let w = g.world(Double(i), Double(j), Double(k))
                        let p = c.frame.anatomical(rasX: w[0], w[1], w[2])
                        let f = anat.liverSD(p.u, p.v, p.z)
                        let l = c.labels.voxels[i + nx * (j + ny * k)]
                        if l >= 1 { liver += 1; if f > tol { outside += 1 } }
                        if l == 2 {
                            tumor += 1
                            let ft = anat.placedTumors.map { $0.field(p.u, p.v, p.z) }.min() ?? 1e9
                            if ft > tol { tumorOutside += 1 }
                        }
                        if f < -8 { deepInside += 1; if l >= 1 { deepLabelled += 1 } }
                    }
                }
            }
            #expect(liver > 0)
            #expect(outside == 0, "\(outside) of \(liver) liver voxels lie outside the liver shape (\(c.info.axisCodes))")
            #expect(tumorOutside == 0, "\(tumorOutside) of \(tumor) tumor voxels lie outside every lesion")
            // Deep inside the liver, only the IVC, gallbladder and other dents are unlabelled.
            if deepInside > 50 { #expect(Double(deepLabelled) / Double(deepInside) > 0.8) }
        }
        #expect(seen == ["LPS", "RAS"])
    }

    @Test func attenuationMatchesPortalVenousCT() throws {
        let c = try PhantomGenerator(PhantomConfig(size: 96, slices: 16...16, tumorCount: 2...2)).makeCase(index: 1, seed: 5)
        // Recompute per-label statistics from the volume itself and compare with the report.
        var n = [0, 0, 0], s = [0.0, 0, 0]
        for (v, l) in zip(c.image.voxels, c.labels.voxels) { n[Int(l)] += 1; s[Int(l)] += Double(v) }
        #expect(Set(c.labels.voxels).isSubset(of: [0, 1, 2]))
        let liverMean = s[1] / Double(n[1])
        #expect(abs(liverMean - c.info.stats["liver"]!.mean) < 1e-6 * abs(liverMean) + 1e-6)
        #expect(n[1] == c.info.liverVoxels && n[2] == c.info.tumorVoxels)
        // Liver 100–130 HU (partial volume at the edges and vessels pull a little either way).
        #expect(liverMean > 95 && liverMean < 140, "liver mean \(liverMean)")
        if n[2] > 30 {
            let tumorMean = s[2] / Double(n[2])
            #expect(tumorMean < liverMean - 5, "tumor \(tumorMean) vs liver \(liverMean)")
        }
        let spleen = c.info.stats["spleen"]!
        if spleen.count > 30 { #expect(spleen.mean > 85 && spleen.mean < 145) }
        let fat = c.info.stats["fat"]!
        #expect(fat.mean > -130 && fat.mean < -70)
        // Corners are air: −1000 plus noise, clamped at −1024.
        let corner = c.image.voxels[0]
        #expect(corner >= -1024 && corner < -900)
        // Integer HU, as CT stores them.
        #expect(c.image.voxels.allSatisfy { $0 == $0.rounded() })
    }

    @Test func badConfigurationsAreRejectedWithAMessage() {
        #expect(throws: PhantomError.self) { try PhantomGenerator(PhantomConfig(size: 8)).makeCase(index: 0, seed: 1) }
        #expect(throws: PhantomError.self) { try PhantomGenerator(PhantomConfig(size: 64, slices: 0...3)).makeCase(index: 0, seed: 1) }
        #expect(throws: PhantomError.self) { try PhantomGenerator(small).makeCase(index: -1, seed: 1) }
        do {
            _ = try PhantomGenerator(PhantomConfig(size: 8)).makeCase(index: 0, seed: 1)
        } catch {
            #expect("\(error)".contains("size 8"))
        }
    }
}
