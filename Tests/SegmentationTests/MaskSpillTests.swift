import Foundation
import MedicalImage
import Support
import Testing
@testable import Segmentation

/// B's training masks grown into the liver's neighbours (`MaskSpill`, `--tumor-mask-spills`).
@Suite struct MaskSpillTests {
    static let s = 64

    /// A 64×64 slice: liver (label 1, 100 HU, mask 1) in columns 8…31 of rows 8…55; columns
    /// 32…63 of those rows hold `neighbour` HU (background in the truth), everything else fat
    /// (−100 HU).
    static func slice(neighbour: Float) -> (mask: [UInt8], hu: [Float], labels: [UInt8]) {
        var m = [UInt8](repeating: 0, count: s * s), l = m, h = [Float](repeating: -100, count: s * s)
        for y in 8...55 {
            for x in 8...31 { m[y * s + x] = 1; l[y * s + x] = 1; h[y * s + x] = 100 }
            for x in 32..<s { h[y * s + x] = neighbour }
        }
        return (m, h, l)
    }

    /// City-block distance from pixel `i` to the nearest pixel of `m` (brute force).
    static func distance(_ i: Int, to m: [UInt8]) -> Int {
        (0..<(s * s)).filter { m[$0] != 0 }.map { abs($0 % s - i % s) + abs($0 / s - i / s) }.min()!
    }

    @Test func spillsTakeOnlySoftTissueNextToTheMaskThatTheTruthCallsBackground() {
        let (m0, h, l) = Self.slice(neighbour: 60)
        for seed in 0..<6 as Range<UInt64> {
            var m = m0, rng = SeededRNG(seed: seed)
            let added = MaskSpill.apply(mask: &m, hu: h[...], labels: l, size: Self.s, share: 1, rng: &rng)
            let grown = (0..<(Self.s * Self.s)).filter { m[$0] != m0[$0] }
            #expect(added == grown.count && !zip(m0, m).contains { $0 != 0 && $1 == 0 }, "seed \(seed): only grows, and says how much")
            // At least one spill of at least the smallest one's reach: the 16 pixels within
            // city-block 3 of a start on the band's straight edge; at most 3 of 300.
            #expect(added >= 16 && added <= 3 * MaskSpill.areaRange.upperBound, "seed \(seed): \(added)")
            // Into the neighbour (60 HU: 40 below the liver's mean), never into the fat around it,
            // and never past `depthRange.upperBound` + 1 pixels from the mask A made.
            for i in grown {
                #expect(l[i] == 0 && h[i] == 60, "seed \(seed), pixel \(i)")
                #expect(Self.distance(i, to: m0) <= MaskSpill.depthRange.upperBound + 1, "seed \(seed), pixel \(i)")
            }
            // Connected to the mask: every grown pixel is reached from M through grown pixels.
            var reached = Set<Int>(), frontier = grown.filter { i in [i - 1, i + 1, i - Self.s, i + Self.s].contains { m0[$0] != 0 } }
            while let i = frontier.popLast() {
                guard reached.insert(i).inserted else { continue }
                frontier += [i - 1, i + 1, i - Self.s, i + Self.s].filter { $0 >= 0 && $0 < Self.s * Self.s && m[$0] != 0 && m0[$0] == 0 }
            }
            #expect(reached.count == grown.count, "seed \(seed)")
        }
    }

    @Test func tissueUnlikeTheLiverAndTrueLiverOutsideTheMaskStayOut() {
        // A neighbour 250 HU below the liver's mean (fat) or 150 above (bone, contrast) is not
        // where A spills; nor is liver A left out (label 1 outside M): that is no spill.
        for neighbour: Float in [-150, 250] {
            let (m0, h, l) = Self.slice(neighbour: neighbour)
            var m = m0, rng = SeededRNG(seed: 3)
            #expect(MaskSpill.apply(mask: &m, hu: h[...], labels: l, size: Self.s, share: 1, rng: &rng) == 0 && m == m0, "\(neighbour) HU")
        }
        let (m0, h, l0) = Self.slice(neighbour: 60)
        var m = m0, l = l0, rng = SeededRNG(seed: 3)
        for y in 8...55 { for x in 32..<Self.s { l[y * Self.s + x] = 1 } }
        #expect(MaskSpill.apply(mask: &m, hu: h[...], labels: l, size: Self.s, share: 1, rng: &rng) == 0 && m == m0)
    }

    @Test func shareZeroOrAnEmptyMaskLeavesMaskAndRandomStreamAlone() {
        let (m0, h, l) = Self.slice(neighbour: 60)
        let empty = [UInt8](repeating: 0, count: m0.count)
        for (mask, share) in [(m0, 0.0), (empty, 1.0)] {
            var m = mask, rng = SeededRNG(seed: 9), untouched = SeededRNG(seed: 9)
            #expect(MaskSpill.apply(mask: &m, hu: h[...], labels: l, size: Self.s, share: share, rng: &rng) == 0)
            #expect(m == mask && rng.next() == untouched.next())
        }
    }

    @Test func aboutTheShareOfSlicesSpillAndASeedRepeatsThem() {
        let (m0, h, l) = Self.slice(neighbour: 60)
        var rng = SeededRNG(seed: 11), again = SeededRNG(seed: 11)
        var spilled = 0
        for _ in 0..<200 {
            var m = m0, n = m0
            let a = MaskSpill.apply(mask: &m, hu: h[...], labels: l, size: Self.s, share: 0.3, rng: &rng)
            #expect(MaskSpill.apply(mask: &n, hu: h[...], labels: l, size: Self.s, share: 0.3, rng: &again) == a && m == n)
            if a > 0 { spilled += 1 }
        }
        // Binomial(200, 0.3): mean 60, standard deviation 6.5; ±4σ.
        #expect((34...86).contains(spilled), "\(spilled) of 200")
    }

    @Test func trainingBatchesCarryTheSpilledMaskAndKeepTheTargets() throws {
        let dir = TinyDataset.tempDir("mask-spill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (_, h, l) = Self.slice(neighbour: 60)
        let g = Geometry(shape: [Self.s, Self.s, 1], spacing: [1, 1, 2])
        let files = try TinyDataset.writeCase(dir, image: Volume<Float>(geometry: g, voxels: h), labels: Volume<UInt8>(geometry: g, voxels: l))
        let data = try SliceDataset(cases: files, size: Self.s, nonLiverFraction: 0, seed: 1)
        // The dataset's slice is in canonical orientation: its own labels give M.
        let labels = Array(data.labels)
        data.predictedLiver = labels.map { $0 >= 1 ? 1 : 0 }
        var rng = SeededRNG(seed: 2)
        let plain = TrainingBatch(data, indices: [0], augmentation: .none, rng: &rng)
        let spilled = TrainingBatch(data, indices: [0], augmentation: .none, spills: 1, rng: &rng)
        #expect(plain.mask!.scalars == data.predictedLiver!.map { Float($0) })
        let grown = zip(spilled.mask!.scalars, data.predictedLiver!).enumerated().filter { $0.1.0 > 0 && $0.1.1 == 0 }.map(\.offset)
        // The mask grew into the neighbour, which stays background: B's target there is 0.
        #expect(!grown.isEmpty && grown.allSatisfy { labels[$0] == 0 && spilled.tumor.scalars[$0] == 0 && spilled.liver.scalars[$0] == 0 })
        #expect(spilled.tumor.scalars == plain.tumor.scalars && spilled.hu.scalars == plain.hu.scalars)
    }

    @Test func spillsAreAShareForTheCascadeOnly() throws {
        var c = TrainingConfig()
        c.tumorMaskSpills = 0.5
        try c.validate()
        c.tumorMaskSpills = -0.1
        #expect(throws: SegmentationError.self) { try c.validate() }
        c.tumorMaskSpills = 0.5
        c.kind = .oneStep
        #expect(throws: SegmentationError.self) { try c.validate() }
    }
}
