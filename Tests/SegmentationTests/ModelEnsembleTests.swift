import Foundation
import MedicalImage
import NeuralNet
import Tensor
import Testing
@testable import Segmentation

/// `segment --model R1 --model R2`: the members' probabilities are averaged, then thresholded at
/// the members' mean operating point. The networks are set by hand as in `GeometryTests`: each
/// one's probability is sigmoid(60 · (window(HU) − level)), so what the ensemble must label is
/// worked out here from that formula, for levels at which it labels otherwise than either member.
@Suite struct ModelEnsembleTests {
    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
    /// A hand-set member's probability at `hu` for a window and a level.
    static func p(_ hu: Double, _ w: IntensityWindow, level: Double) -> Double {
        sigmoid(60 * (min(1, max(0, (hu - Double(w.low)) / Double(w.high - w.low))) - level))
    }

    static func member(liverLevel: Float, tumorLevel: Float) -> LiverTumorModel {
        let m = LiverTumorModel(kind: .cascade, size: 24, unet: UNetConfig(inChannels: 1, classes: 1, filters: 1, depth: 0, dropout: 0),
                                tumorCrop: false, seed: 1)
        GeometryTests.thresholdNet(m.netA, scale: 60, at: liverLevel)
        GeometryTests.thresholdNet(m.netB!, scale: 60, at: tumorLevel)
        return m
    }

    /// Labels exactly what the networks mark (no closing, no lesion growth; `GeometryTests`).
    static func exact(_ p: Predictor) -> Predictor {
        p.liverClosingMM = 0
        p.lesionReach = 0
        return p
    }

    /// Stripes of three intensities side by side (x 2–7, 8–13, 14–19), y 4–19, on slices 0–2.
    static func stripes(_ hu: [Float]) -> Volume<Float> {
        let g = Geometry(shape: [24, 24, 3], spacing: [1, 1, 1])
        var v = Volume<Float>(geometry: g, voxels: [Float](repeating: 0, count: g.voxelCount))
        for k in 0..<3 { for j in 4..<20 { for i in 2..<20 { v[i, j, k] = hu[(i - 2) / 6] } } }
        return v
    }

    /// A 170 HU liver (the stripes' box) with a 3×3×3 lesion of each intensity, one in each stripe.
    static func liverWithLesions(_ lesions: [Float]) -> Volume<Float> {
        var v = stripes([170, 170, 170])
        for (n, h) in lesions.enumerated() { for k in 0..<3 { for j in 8..<11 { for i in (3 + 6 * n)..<(6 + 6 * n) { v[i, j, k] = h } } } }
        return v
    }

    /// A: levels 0.5 and 0.6 in the liver window, both thresholds 0.5. The members' mean at
    /// 170 HU is 0.47 (member 1 alone: liver, 0.92), at 190 HU 0.61 (member 2 alone: not, 0.23),
    /// at 220 HU 0.96: the ensemble's liver is the two brighter stripes, neither member's.
    @Test func theLiverIsTheMembersMeanProbabilityThresholded() throws {
        let hu: [Float] = [170, 190, 220]
        let v = Self.stripes(hu)
        // B's level is above every stripe's tumor window: no tumor anywhere.
        let m1 = Self.member(liverLevel: 0.5, tumorLevel: 0.99), m2 = Self.member(liverLevel: 0.6, tumorLevel: 0.99)
        let expectedStripes = hu.map { h in
            (Self.p(Double(h), .liver, level: 0.5) + Self.p(Double(h), .liver, level: 0.6)) / 2 >= 0.5
        }
        #expect(expectedStripes == [false, true, true])
        let labels = try Self.exact(Predictor(ensemble: ModelEnsemble([m1, m2]))).segment(v).labels
        let single1 = try Self.exact(Predictor(model: m1)).segment(v).labels
        let single2 = try Self.exact(Predictor(model: m2)).segment(v).labels
        var wrong: [String] = []
        for k in 0..<3 { for j in 0..<24 { for i in 0..<24 {
            let inside = (4..<20).contains(j) && (2..<20).contains(i)
            let want: UInt8 = inside && expectedStripes[(i - 2) / 6] ? 1 : 0
            if labels[i, j, k] != want { wrong.append("\(i), \(j), \(k)") }
        } } }
        #expect(wrong.isEmpty, "\(wrong.count) voxels labelled otherwise, first \(wrong.prefix(3))")
        // Neither member alone labels so.
        #expect(single1.voxels.filter { $0 == 1 }.count == 18 * 16 * 3)
        #expect(single2.voxels.filter { $0 == 1 }.count == 6 * 16 * 3)
        #expect(labels.voxels.filter { $0 == 1 }.count == 12 * 16 * 3)
    }

    /// B: levels 0.8 and 0.9 in the tumor window, thresholds 0.5 and 0.6 (mean 0.55), one A.
    /// Lesions of 200, 215 and 235 HU in a 170 HU liver: means 0.45, 0.63 and 0.98, so the
    /// ensemble keeps the two brighter; member 1 alone keeps all three, member 2 only the last.
    /// The probability written is the members' mean (checked against each member's own run).
    @Test func theTumorIsTheMembersMeanProbabilityAtTheirMeanThreshold() throws {
        let lesions: [Float] = [200, 215, 235]
        let v = Self.liverWithLesions(lesions), g = v.geometry
        let m1 = Self.member(liverLevel: 0.5, tumorLevel: 0.8), m2 = Self.member(liverLevel: 0.5, tumorLevel: 0.9)
        m1.tumorThreshold = 0.5
        m2.tumorThreshold = 0.6
        let ensemble = Self.exact(Predictor(ensemble: try ModelEnsemble([m1, m2])))
        #expect(ensemble.tumorThreshold == 0.55)
        let (labels, prob, _) = try ensemble.segment(v, tumorProbability: true)
        let one = try Self.exact(Predictor(model: m1)).segment(v, tumorProbability: true)
        let two = try Self.exact(Predictor(model: m2)).segment(v, tumorProbability: true)
        let mean = { (h: Float) in (Self.p(Double(h), .tumor, level: 0.8) + Self.p(Double(h), .tumor, level: 0.9)) / 2 }
        #expect(lesions.map { mean($0) >= 0.55 } == [false, true, true])
        var tumor = (ensemble: 0, one: 0, two: 0)
        var wrong = (formula: [Int](), members: [Int](), label: [Int]())
        for n in 0..<g.voxelCount where labels.voxels[n] != 0 {
            let h = v.voxels[n]
            if abs(Double(prob!.voxels[n]) - mean(h)) >= 1e-4 { wrong.formula.append(n) }
            if abs(prob!.voxels[n] - (one.probability!.voxels[n] + two.probability!.voxels[n]) / 2) >= 1e-6 { wrong.members.append(n) }
            if labels.voxels[n] != (mean(h) >= 0.55 ? 2 : 1) { wrong.label.append(n) }
            if labels.voxels[n] == 2 { tumor.ensemble += 1 }
            if one.labels.voxels[n] == 2 { tumor.one += 1 }
            if two.labels.voxels[n] == 2 { tumor.two += 1 }
        }
        #expect(wrong.formula.isEmpty && wrong.members.isEmpty && wrong.label.isEmpty,
                "probability off the formula at \(wrong.formula.count), off the members' mean at \(wrong.members.count), labelled otherwise at \(wrong.label.count) voxels")
        #expect(labels.voxels.filter { $0 != 0 }.count == 18 * 16 * 3)
        #expect(tumor == (2 * 27, 3 * 27, 27))
    }

    /// A one-step member whose 3-class head reads x = window(HU): background logit 0, liver
    /// 60 · (x − 0.5), tumor 120 · (x − `tumorLevel`); softmax, liver = P(liver) + P(tumor).
    static func oneStepMember(tumorLevel: Float) -> LiverTumorModel {
        let m = LiverTumorModel(kind: .oneStep, size: 24, unet: UNetConfig(inChannels: 1, classes: 3, filters: 1, depth: 0, dropout: 0), seed: 1)
        GeometryTests.thresholdNet(m.netA, scale: 0, at: 0)
        for (name, v) in m.netA.namedVariables where name.hasPrefix("head.") {
            var t = Tensor.zeros(v.value.shape)
            if name == "head.weight" { (t[flat: 1], t[flat: 2]) = (60, 120) }
            if name == "head.bias" { (t[flat: 1], t[flat: 2]) = (-30, -120 * tumorLevel) }
            v.value = t
        }
        return m
    }

    /// The one-step network's liver and tumor, both from one pass of each member, are averaged
    /// alike. Tumor levels 0.575 and 0.6; a 170 HU liver with lesions of 235, 245 and 265 HU
    /// (x = 0.67, 0.69, 0.73): the members' mean tumor probabilities, worked out from the
    /// softmax, are 0.455, 0.636 and 0.925; at threshold 0.5 the ensemble keeps the two
    /// brighter, member 1 alone (0.769, 0.917, 0.992) all three, member 2 alone (0.142, 0.354,
    /// 0.858) only the brightest.
    @Test func theOneStepNetworksOutputsAreBothAveraged() throws {
        let lesions: [Float] = [235, 245, 265]
        let v = Self.liverWithLesions(lesions), g = v.geometry
        func probabilities(_ hu: Float, tumorLevel: Double) -> (liver: Double, tumor: Double) {
            let x = min(1, max(0, (Double(hu) + 100) / 500))
            let z = [0, 60 * (x - 0.5), 120 * (x - tumorLevel)], top = z.max()!
            let e = z.map { exp($0 - top) }, sum = e.reduce(0, +)
            return ((e[1] + e[2]) / sum, e[2] / sum)
        }
        func mean(_ hu: Float) -> (liver: Double, tumor: Double) {
            let (a, b) = (probabilities(hu, tumorLevel: 0.575), probabilities(hu, tumorLevel: 0.6))
            return ((a.liver + b.liver) / 2, (a.tumor + b.tumor) / 2)
        }
        #expect(lesions.map { mean($0).tumor >= 0.5 } == [false, true, true])
        #expect(lesions.map { probabilities($0, tumorLevel: 0.575).tumor >= 0.5 } == [true, true, true])
        #expect(lesions.map { probabilities($0, tumorLevel: 0.6).tumor >= 0.5 } == [false, false, true])
        let (labels, prob, _) = try Self.exact(Predictor(ensemble: ModelEnsemble([Self.oneStepMember(tumorLevel: 0.575), Self.oneStepMember(tumorLevel: 0.6)])))
            .segment(v, tumorProbability: true)
        var wrong = (probability: [Int](), label: [Int]())
        for n in 0..<g.voxelCount {
            let h = v.voxels[n], m = mean(h)
            let want: UInt8 = m.liver < 0.5 ? 0 : m.tumor >= 0.5 ? 2 : 1
            if labels.voxels[n] != want { wrong.label.append(n) }
            if want != 0 && abs(Double(prob!.voxels[n]) - m.tumor) >= 1e-4 { wrong.probability.append(n) }
        }
        #expect(wrong.label.isEmpty && wrong.probability.isEmpty,
                "labelled otherwise at \(wrong.label.count) voxels, probability off the mean at \(wrong.probability.count)")
        #expect(labels.voxels.filter { $0 == 2 }.count == 2 * 27)
    }

    @Test func theOperatingPointIsTheMembersMean() throws {
        let m1 = Self.member(liverLevel: 0.5, tumorLevel: 0.8), m2 = Self.member(liverLevel: 0.5, tumorLevel: 0.8)
        (m1.liverThreshold, m1.tumorThreshold, m1.tumorExtentThreshold, m1.minLesionML, m1.minLesionSlices) = (0.4, 0.4, nil, 1, 2)
        (m2.liverThreshold, m2.tumorThreshold, m2.tumorExtentThreshold, m2.minLesionML, m2.minLesionSlices) = (0.6, 0.7, 0.3, 0, 1)
        let p = Predictor(ensemble: try ModelEnsemble([m1, m2]))
        #expect(abs(p.liverThreshold - 0.5) < 1e-6 && abs(p.tumorThreshold - 0.55) < 1e-6)
        // Member 1 has no reach: it counts at its threshold, 0.4.
        #expect(abs(p.tumorExtentThreshold! - 0.35) < 1e-6)
        #expect(p.minLesionML == 0.5 && p.minLesionSlices == 2)
        m2.tumorExtentThreshold = nil
        #expect(Predictor(ensemble: try ModelEnsemble([m1, m2])).tumorExtentThreshold == nil)
    }

    @Test func membersThatSeeOtherInputsAreRefusedByName() {
        let a = Self.member(liverLevel: 0.5, tumorLevel: 0.8)
        let b = LiverTumorModel(kind: .cascade, size: 32, unet: UNetConfig(inChannels: 1, classes: 1, filters: 1, depth: 0, dropout: 0),
                                tumorCrop: false, liverContext: 1, seed: 2)
        #expect { try ModelEnsemble([a, b], names: ["runs/s1", "runs/s2"]) } throws: {
            let s = "\($0)"
            return s.contains("runs/s2") && s.contains("runs/s1") && s.contains("size (24, 32)") && s.contains("liver context (0, 1)")
        }
        #expect(throws: SegmentationError.self) { try ModelEnsemble([]) }
    }
}
