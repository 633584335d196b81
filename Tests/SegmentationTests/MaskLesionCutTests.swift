import Foundation
import MedicalImage
import Support
import Testing
@testable import Segmentation

/// B's training masks with rim lesions cut open (`MaskLesionCut`, `--tumor-mask-cuts`).
@Suite struct MaskLesionCutTests {
    static let s = 32

    /// A 32×32 slice: liver (label 1, mask 1) in the square 4…27 on both axes, and a lesion
    /// (label 2) where `lesion(x, y)` holds.
    static func slice(_ lesion: (Int, Int) -> Bool) -> (mask: [UInt8], labels: [UInt8]) {
        var m = [UInt8](repeating: 0, count: s * s), l = m
        for y in 4...27 { for x in 4...27 { m[y * s + x] = 1; l[y * s + x] = lesion(x, y) ? 2 : 1 } }
        return (m, l)
    }

    static func disc(_ cx: Int, _ cy: Int, _ r: Int) -> (Int, Int) -> Bool { { x, y in (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r } }

    @Test func outsideDistanceIsTheNearestCityBlockDistance() {
        var rng = SeededRNG(seed: 5)
        let n = 12
        for _ in 0..<20 {
            let m = (0..<(n * n)).map { _ in UInt8(rng.nextDouble() < 0.85 ? 1 : 0) }
            let (d, nearest) = MaskLesionCut.outsideDistance(m, size: n)
            for i in 0..<(n * n) {
                let (x, y) = (i % n, i / n)
                // Beyond the slice's edge is outside: one step past the nearest edge.
                var best = min(x + 1, y + 1, n - x, n - y)
                for j in 0..<(n * n) where m[j] == 0 { best = min(best, abs(j % n - x) + abs(j / n - y)) }
                #expect(d[i] == best, "pixel \(x), \(y)")
                // The pixel it names is an outside pixel that far away, or a border pixel 1 away.
                let (px, py) = (nearest[i] % n, nearest[i] / n)
                let named = abs(px - x) + abs(py - y) + (m[nearest[i]] == 0 ? 0 : 1)
                #expect(named == best)
            }
        }
    }

    @Test func aRimLesionLosesItsOuterPartAndTheMaskEdgeRunsThroughIt() {
        // A disc of radius 3 at (24, 16): its right edge (x = 27) touches the liver's rim.
        let (m0, l) = Self.slice(Self.disc(24, 16, 3))
        let lesion = (0..<(Self.s * Self.s)).filter { l[$0] == 2 }
        for seed in 0..<8 as Range<UInt64> {
            var m = m0, rng = SeededRNG(seed: seed)
            #expect(MaskLesionCut.apply(mask: &m, labels: l, size: Self.s, share: 1, rng: &rng) == 1)
            #expect(!zip(m0, m).contains { $0 == 0 && $1 != 0 }, "the cut only removes")
            let removed = lesion.filter { m[$0] == 0 }, kept = lesion.filter { m[$0] != 0 }
            // 15–60 % of the lesion's 7-pixel width is cut: from its outermost pixel (column 27)
            // to its 4 outer columns, 18 of its 29 pixels.
            #expect(removed.count >= 1 && removed.count <= 18, "seed \(seed): \(removed.count) of \(lesion.count) removed")
            // The outer part goes: every removed lesion pixel lies right of the lesion's centre
            // column minus one, and the innermost pixel stays.
            #expect(removed.allSatisfy { $0 % Self.s >= 23 } && m[16 * Self.s + 21] == 1, "seed \(seed)")
            // Cut open, not holed: a kept lesion pixel now borders the mask's outside.
            let open = kept.contains { i in [i - 1, i + 1, i - Self.s, i + Self.s].contains { m[$0] == 0 } }
            #expect(open, "seed \(seed)")
            // Nothing away from the lesion changes.
            for i in 0..<(Self.s * Self.s) where abs(i % Self.s - 24) > 6 || abs(i / Self.s - 16) > 6 { #expect(m[i] == m0[i]) }
        }
    }

    @Test func onlyLesionsWithinTheRimGapAreCut() {
        // A 3×3 lesion with `rimGap` liver columns between it and the outside (x = 28) is a rim
        // lesion; one column farther in, it is not.
        let g = MaskLesionCut.rimGap
        for (gap, cut) in [(g, true), (g + 1, false)] {
            let right = 27 - gap
            let (m0, l) = Self.slice { x, y in (right - 2...right).contains(x) && (15...17).contains(y) }
            var m = m0, rng = SeededRNG(seed: 1)
            #expect(MaskLesionCut.apply(mask: &m, labels: l, size: Self.s, share: 1, rng: &rng) == (cut ? 1 : 0), "gap \(gap)")
            #expect((m != m0) == cut, "gap \(gap)")
            // The liver between the lesion and the outside goes too: M's edge reaches the lesion.
            if cut { for x in (right + 1)...27 { #expect(m[16 * Self.s + x] == 0, "gap \(gap), column \(x)") } }
        }
    }

    @Test func shareZeroOrADeepLesionLeavesMaskAndRandomStreamAlone() {
        let deep = Self.slice(Self.disc(16, 16, 3)), rim = Self.slice(Self.disc(24, 16, 3))
        for (case_, share) in [(deep, 1.0), (rim, 0.0)] {
            var m = case_.mask, rng = SeededRNG(seed: 9), untouched = SeededRNG(seed: 9)
            #expect(MaskLesionCut.apply(mask: &m, labels: case_.labels, size: Self.s, share: share, rng: &rng) == 0)
            #expect(m == case_.mask && rng.next() == untouched.next())
        }
    }

    @Test func trainingBatchesCarryTheCutMask() throws {
        let dir = TinyDataset.tempDir("lesion-cut")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (m0, l) = Self.slice(Self.disc(24, 16, 3))
        let g = Geometry(shape: [Self.s, Self.s, 1], spacing: [1, 1, 2])
        let img = Volume<Float>(geometry: g, voxels: l.map { $0 == 2 ? 40 : $0 == 1 ? 100 : -50 })
        let files = try TinyDataset.writeCase(dir, image: img, labels: Volume<UInt8>(geometry: g, voxels: l))
        let data = try SliceDataset(cases: files, size: Self.s, nonLiverFraction: 0, seed: 1)
        // The dataset's slice is in canonical orientation: its own labels give M and the lesion.
        let labels = Array(data.labels)
        data.predictedLiver = labels.map { $0 >= 1 ? 1 : 0 }
        #expect(labels.filter { $0 == 2 }.count == l.filter { $0 == 2 }.count)
        var rng = SeededRNG(seed: 2)
        let plain = TrainingBatch(data, indices: [0], augmentation: .none, rng: &rng)
        let cut = TrainingBatch(data, indices: [0], augmentation: .none, lesionCuts: 1, rng: &rng)
        #expect(plain.mask!.scalars == data.predictedLiver!.map { Float($0) })
        let kept = cut.mask!.scalars.reduce(0, +), tumorKept = zip(cut.mask!.scalars, labels).filter { $0.0 > 0 && $0.1 == 2 }.count
        #expect(kept < Float(m0.reduce(0) { $0 + Int($1) }) && tumorKept > 0 && tumorKept < l.filter { $0 == 2 }.count)
        // The targets are the labels still; the step multiplies them by the cut mask.
        #expect(cut.tumor.scalars == plain.tumor.scalars)
    }

    @Test func cutsAreAShareForTheCascadeOnly() throws {
        var c = TrainingConfig()
        c.tumorMaskCuts = 0.5
        try c.validate()
        c.tumorMaskCuts = 1.5
        #expect(throws: SegmentationError.self) { try c.validate() }
        c.tumorMaskCuts = 0.5
        c.kind = .joint
        #expect(throws: SegmentationError.self) { try c.validate() }
    }
}
