import Foundation
import MedicalImage

/// One line of a plot: y values at x positions; nil y values leave a gap.
public struct PlotSeries: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double?]
    public var color: Color?
    public init(name: String, x: [Double], y: [Double?], color: Color? = nil) {
        self.name = name; self.x = x; self.y = y; self.color = color
    }
}

/// The paper's figures as PNG-ready images (write them with `RGBImage.write(to:)`).
public enum Figures {
    /// A line plot with axes, ticks, grid and legend. Ranges default to the data's.
    public static func linePlot(title: String, xLabel: String, yLabel: String, series: [PlotSeries],
                                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil,
                                diagonal: Bool = false, width: Int = 640, height: Int = 480) -> RGBImage {
        var c = Canvas(width: width, height: height)
        drawPanel(&c, frame: (0, 0, width, height), title: title, xLabel: xLabel, yLabel: yLabel, series: series,
                  xRange: xRange, yRange: yRange, diagonal: diagonal, legend: true)
        return c.image
    }

    /// Seed figure 3.4: restricted ROC curves of several models on one plot, each labelled
    /// with its restricted AUC.
    public static func rocCurves(_ curves: [(label: String, analysis: ROCAnalysis)], title: String = "Restricted ROC (0.01 < p < 0.99)",
                                 width: Int = 560, height: Int = 520) -> RGBImage {
        let series = curves.enumerated().map { i, c in
            PlotSeries(name: "\(c.label)  rAUC \(c.analysis.auc.map { fmt($0, 3) } ?? "n/a")",
                       x: c.analysis.curve.map(\.fpr), y: c.analysis.curve.map { $0.tpr },
                       color: Color.palette[i % Color.palette.count])
        }
        return linePlot(title: title, xLabel: "False positive rate", yLabel: "True positive rate", series: series,
                        xRange: 0...1, yRange: 0...1, diagonal: true, width: width, height: height)
    }

    /// Training curves: one stacked panel per named series (loss and Dice have different
    /// scales), sharing the epoch axis.
    public static func trainingCurves(epochs: [Double], series: [(name: String, values: [Double?])],
                                      title: String = "Training", width: Int = 640, panelHeight: Int = 240) -> RGBImage {
        let panels = max(1, series.count)
        var c = Canvas(width: width, height: panelHeight * panels + 24)
        c.centeredText(title, cx: width / 2, y: 6, scale: 2)
        let xr = range(of: epochs) ?? 0...1
        for (i, s) in series.enumerated() {
            drawPanel(&c, frame: (0, 24 + i * panelHeight, width, panelHeight), title: s.name, xLabel: "Epoch",
                      yLabel: s.name, series: [PlotSeries(name: s.name, x: epochs, y: s.values, color: Color.palette[i % Color.palette.count])],
                      xRange: xr, yRange: nil, diagonal: false, legend: false)
        }
        return c.image
    }

    /// Seed figure 3.3: how many voxels have tumor probability in each 0.01-wide bin of
    /// (0.01, 0.99), negatives and positives stacked. The count axis is logarithmic by
    /// default: the bins near 0.01 hold orders of magnitude more voxels than the rest.
    public static func probabilityHistogram(_ analysis: ROCAnalysis, title: String = "Tumor probability in (0.01, 0.99)",
                                            logarithmic: Bool = true, width: Int = 640, height: Int = 400) -> RGBImage {
        var c = Canvas(width: width, height: height)
        let left = 70, right = width - 20, top = 40, bottom = height - 50
        c.centeredText(title, cx: width / 2, y: 10, scale: 2)
        let totals = zip(analysis.histogramNegatives, analysis.histogramPositives).map { $0 + $1 }
        let maxCount = max(1, totals.max() ?? 1)
        // Bar heights on a linear or log10(1 + count) scale.
        let f: (Double) -> Double = logarithmic ? { log10(1 + $0) } : { $0 }
        let ticks: [Double] = logarithmic
            ? (0...max(1, Int(log10(Double(maxCount)).rounded(.up)))).map { pow10($0) }
            : niceTicks(0, Double(maxCount))
        let yTop = f(ticks.last ?? Double(maxCount))
        func px(_ p: Double) -> Int { left + Int((p - 0.01) / 0.98 * Double(right - left)) }
        func py(_ v: Double) -> Int { bottom - Int(f(v) / yTop * Double(bottom - top)) }
        for t in ticks {
            c.dashedHLine(left, right, py(t), .grey)
            let s = tickLabel(t)
            c.text(s, x: left - 6 - BitmapFont.textWidth(s, scale: 1), y: py(t) - 3)
        }
        for b in 0..<98 {
            let x0 = px(0.01 + 0.01 * Double(b)), x1 = max(x0 + 1, px(0.01 + 0.01 * Double(b + 1)) - 1)
            let n = Double(analysis.histogramNegatives[b]), p = Double(analysis.histogramPositives[b])
            // Stacked: the tumor share of the bar's (scaled) height is drawn on top.
            let h = bottom - py(n + p)
            let hp = n + p > 0 ? Int((Double(h) * p / (n + p)).rounded()) : 0
            c.fill(x0, bottom - h, x1, bottom, Color(150, 150, 150))
            c.fill(x0, bottom - h, x1, bottom - h + hp, .falsePositive)
        }
        c.line(left, bottom, right, bottom, .black); c.line(left, top, left, bottom, .black)
        for p in stride(from: 0.1, through: 0.9001, by: 0.1) {
            c.line(px(p), bottom, px(p), bottom + 4, .black)
            c.centeredText(fmt(p, 1), cx: px(p), y: bottom + 8)
        }
        c.centeredText("Probability", cx: (left + right) / 2, y: height - 18)
        let yl = logarithmic ? "Voxels (log scale)" : "Voxels"
        c.verticalText(yl, x: 8, y: (top + bottom) / 2 - BitmapFont.textWidth(yl, scale: 1) / 2)
        c.fill(right - 150, top + 4, right - 140, top + 14, Color(150, 150, 150)); c.text("Background", x: right - 134, y: top + 6)
        c.fill(right - 150, top + 20, right - 140, top + 30, .falsePositive); c.text("Tumor", x: right - 134, y: top + 22)
        return c.image
    }

    // MARK: internals

    static func fmt(_ v: Double, _ digits: Int) -> String {
        var s = String(Int((abs(v) * pow10(digits)).rounded()))
        while s.count <= digits { s = "0" + s }
        let cut = s.index(s.endIndex, offsetBy: -digits)
        return (v < 0 && v.magnitude * pow10(digits) >= 0.5 ? "-" : "") + (digits == 0 ? s : s[..<cut] + "." + s[cut...])
    }
    static func pow10(_ d: Int) -> Double { (0..<d).reduce(1.0) { a, _ in a * 10 } }

    static func range(of v: [Double]) -> ClosedRange<Double>? {
        guard let lo = v.min(), let hi = v.max() else { return nil }
        return lo == hi ? (lo - 0.5)...(hi + 0.5) : lo...hi
    }

    /// About five round tick values covering [lo, hi].
    static func niceTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let span = max(hi - lo, 1e-12)
        let raw = span / 5
        var mag = 1.0
        while mag * 10 <= raw { mag *= 10 }
        while mag > raw { mag /= 10 }
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        let first = (lo / step).rounded(.down) * step
        var t: [Double] = []
        var x = first
        while x < hi + step * 0.999 { t.append(x); x += step }
        return t
    }

    static func tickLabel(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 {
            var e = 0, m = a
            while m >= 10 { m /= 10; e += 1 }
            while m < 1 { m *= 10; e -= 1 }
            return (v < 0 ? "-" : "") + fmt(m, 1) + "E" + String(e)
        }
        if a == a.rounded() { return String(Int(v)) }
        for d in 1...4 where abs(v * pow10(d) - (v * pow10(d)).rounded()) < 1e-6 { return fmt(v, d) }
        return fmt(v, 4)
    }

    static func drawPanel(_ c: inout Canvas, frame: (Int, Int, Int, Int), title: String, xLabel: String, yLabel: String,
                          series: [PlotSeries], xRange: ClosedRange<Double>?, yRange: ClosedRange<Double>?,
                          diagonal: Bool, legend: Bool) {
        let (fx, fy, fw, fh) = frame
        let left = fx + 72, right = fx + fw - 20, top = fy + 34, bottom = fy + fh - 46
        c.centeredText(title, cx: fx + fw / 2, y: fy + 8, scale: 2)
        let xs = series.flatMap(\.x)
        let ys = series.flatMap { $0.y.compactMap { $0 }.filter(\.isFinite) }
        let xr = xRange ?? range(of: xs) ?? 0...1
        var yr = yRange ?? range(of: ys) ?? 0...1
        let xt = niceTicks(xr.lowerBound, xr.upperBound).filter { $0 >= xr.lowerBound - 1e-9 && $0 <= xr.upperBound + 1e-9 }
        var yt = niceTicks(yr.lowerBound, yr.upperBound)
        if yRange == nil, let f = yt.first, let l = yt.last { yr = f...l } else {
            yt = yt.filter { $0 >= yr.lowerBound - 1e-9 && $0 <= yr.upperBound + 1e-9 }
        }
        let xs0 = xr.lowerBound, xs1 = xr.upperBound, ys0 = yr.lowerBound, ys1 = yr.upperBound
        func px(_ x: Double) -> Int { left + Int(((x - xs0) / (xs1 - xs0) * Double(right - left)).rounded()) }
        func py(_ y: Double) -> Int { bottom - Int(((y - ys0) / (ys1 - ys0) * Double(bottom - top)).rounded()) }
        for t in xt {
            c.dashedVLine(px(t), top, bottom, .grey)
            c.line(px(t), bottom, px(t), bottom + 4, .black)
            c.centeredText(tickLabel(t), cx: px(t), y: bottom + 8)
        }
        for t in yt {
            c.dashedHLine(left, right, py(t), .grey)
            c.line(left - 4, py(t), left, py(t), .black)
            let s = tickLabel(t)
            c.text(s, x: left - 8 - BitmapFont.textWidth(s, scale: 1), y: py(t) - 3)
        }
        if diagonal { c.line(px(xs0), py(ys0), px(xs1), py(ys1), .grey) }
        c.line(left, bottom, right, bottom, .black)
        c.line(left, top, left, bottom, .black)
        c.centeredText(xLabel, cx: (left + right) / 2, y: bottom + 24)
        c.verticalText(yLabel, x: fx + 6, y: (top + bottom) / 2 - BitmapFont.textWidth(yLabel, scale: 1) / 2)
        for (i, s) in series.enumerated() {
            let col = s.color ?? Color.palette[i % Color.palette.count]
            var prev: (Int, Int)? = nil
            for (x, y) in zip(s.x, s.y) {
                guard let y, y.isFinite, x.isFinite else { prev = nil; continue }
                let p = (px(x), py(min(max(y, ys0), ys1)))
                if let q = prev { c.line(q.0, q.1, p.0, p.1, col, thickness: 2) } else { c.fill(p.0 - 1, p.1 - 1, p.0 + 2, p.1 + 2, col) }
                prev = p
            }
        }
        if legend && !series.isEmpty {
            let lw = (series.map { BitmapFont.textWidth($0.name, scale: 1) }.max() ?? 0) + 30
            let lx = right - lw - 6, ly = bottom - 10 - 14 * series.count
            c.fill(lx - 4, ly - 4, right - 2, bottom - 6, .white)
            for (i, s) in series.enumerated() {
                let col = s.color ?? Color.palette[i % Color.palette.count]
                c.line(lx, ly + 14 * i + 3, lx + 18, ly + 14 * i + 3, col, thickness: 3)
                c.text(s.name, x: lx + 24, y: ly + 14 * i)
            }
        }
    }
}
