import Foundation
import MedicalImage
import Testing
@testable import Evaluation

@Suite struct FigureTests {
    func count(_ img: RGBImage, _ c: Color) -> Int {
        var n = 0
        for i in 0..<(img.width * img.height) where img.pixels[3 * i] == c.r && img.pixels[3 * i + 1] == c.g && img.pixels[3 * i + 2] == c.b { n += 1 }
        return n
    }

    @Test func contourOverlayDrawsBothOutlinesOnly() throws {
        // 10×8 slice, truth a 4×4 square, prediction shifted right by 2.
        let w = 10, h = 8
        var t = [Bool](repeating: false, count: w * h), p = t
        for y in 2..<6 { for x in 2..<6 { t[y * w + x] = true; p[y * w + x + 2] = true } }
        let img = try Figures.contourOverlay(slice: [Float](repeating: 0.5, count: w * h), width: w, height: h,
                                             prediction: p, truth: t, scale: 1)
        // Each 4×4 square has 12 border pixels. The prediction is drawn last and covers the 4
        // truth border pixels it shares, (4,2) (5,2) (4,5) (5,5); (5,3) and (5,4) are inside
        // the prediction, so they stay blue.
        let red = count(img, .prediction), blue = count(img, .truth)
        #expect(red == 12)
        #expect(blue == 8)
        #expect(img.get(0, 0) == (128, 128, 128))
    }

    @Test func overlapMapHasThreeClassesAndLegend() throws {
        let w = 6, h = 1
        let p: [Bool] = [true, true, false, false, true, false], t: [Bool] = [true, false, true, false, true, false]
        let img = try Figures.overlapMap(slice: [Float](repeating: 0, count: w), width: w, height: h, prediction: p, truth: t, scale: 1)
        #expect(img.height == 1 + 18)
        func blend(_ c: Color) -> (UInt8, UInt8, UInt8) { (UInt8(3 * Int(c.r) / 4), UInt8(3 * Int(c.g) / 4), UInt8(3 * Int(c.b) / 4)) }
        #expect(img.get(0, 0) == blend(.truePositive))
        #expect(img.get(1, 0) == blend(.falsePositive))
        #expect(img.get(2, 0) == blend(.falseNegative))
        #expect(img.get(3, 0) == (0, 0, 0))
        #expect(throws: EvaluationError.self) {
            try Figures.overlapMap(slice: [0, 0], width: 3, height: 1, prediction: [true], truth: [true], scale: 1)
        }
    }

    @Test func plotsAndReportRender() throws {
        var rng = Support_RNG(seed: 3)
        var probs: [Float] = [], truth: [Bool] = []
        for _ in 0..<2000 {
            let pos = rng.next() % 4 == 0
            let u = Float(rng.next() % 1000) / 1000
            probs.append(pos ? min(1, u * 0.6 + 0.4) : u * 0.7); truth.append(pos)
        }
        let roc = try ROC.analyze(probabilities: probs, truth: truth, window: .restricted)
        let plot = Figures.rocCurves([("model a", roc)])
        #expect(plot.width == 560 && count(plot, Color.palette[0]) > 100)
        let png = try plot.pngData()
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let hist = Figures.probabilityHistogram(roc)
        #expect(count(hist, .falsePositive) > 100)
        let train = TrainingHistory(epochs: [1, 2, 3, 4], series: [.init(name: "loss", values: [0.9, 0.5, nil, 0.3]),
                                                                  .init(name: "val dice", values: [0.2, 0.5, 0.6, 0.7])])
        let tf = train.figure()
        #expect(tf.height == 2 * 240 + 24)
        let e = try CaseEvaluator.evaluate(name: "segmentation-1", truth: [0, 1, 2, 2, 1, 0], prediction: [0, 1, 2, 1, 1, 1],
                                           shape: [6, 1, 1], spacing: [1, 1, 1])
        var ds = DatasetEvaluation(label: "cascade", cases: [e.metrics], failures: [CaseFailure(name: "segmentation-9", error: "no prediction")],
                                   restrictedROC: roc)
        ds.figures = []
        let html = try Report.html(evaluations: [ds], training: [("cascade", train)])
        #expect(html.contains("Table 1"))
        #expect(html.contains("segmentation-9") && html.contains("no prediction"))
        #expect(html.contains("data:image/png;base64,"))
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(Report.csv(ds).split(separator: "\n").count == 1 + 2)
    }

    @Test func everyFontGlyphIsFiveBySeven() {
        for (ch, rows) in BitmapFont.glyphs {
            #expect(rows.count == 7, "\(ch)")
            #expect(rows.allSatisfy { $0.count == 5 }, "\(ch)")
        }
        // Every character the figures write must have its own glyph (no "?" fallback).
        for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:-+=/()[]%_'<>" {
            let bits = BitmapFont.bitmap(ch)
            #expect(ch == "?" || bits != BitmapFont.bitmaps["?"]!, "no glyph for \(ch)")
        }
        #expect(BitmapFont.bitmap(" ").allSatisfy { $0 == 0 })
    }
}
