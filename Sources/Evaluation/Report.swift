import Foundation
import MedicalImage

/// Per-epoch training curves a run writes as `training_history.json` (for example loss and
/// validation Dice); the report draws them.
public struct TrainingHistory: Sendable, Codable, Equatable {
    public struct Series: Sendable, Codable, Equatable {
        public var name: String
        public var values: [Double?]
        public init(name: String, values: [Double?]) { self.name = name; self.values = values }
    }
    public var epochs: [Double]
    public var series: [Series]
    public init(epochs: [Double], series: [Series]) { self.epochs = epochs; self.series = series }

    /// The curves as an image.
    public func figure(title: String = "Training") -> RGBImage {
        Figures.trainingCurves(epochs: epochs, series: series.map { ($0.name, $0.values) }, title: title)
    }
}

/// JSON, CSV and HTML renderings of evaluations.
public enum Report {
    /// Pretty, key-sorted JSON; undefined metrics are null.
    public static func json<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(value)
    }

    /// One row per case and structure; empty cells for undefined values.
    public static func csv(_ evaluation: DatasetEvaluation) -> String {
        let keys = StructureMetrics.aggregatable.map(\.0)
        var out = "case,structure,pixel_accuracy_labels,rand_index_labels,adjusted_rand_index_labels,tp,fp,fn,tn,"
            + keys.joined(separator: ",") + ",volume_truth_ml,volume_prediction_ml\n"
        func cell(_ v: Double?) -> String { v.map { String($0) } ?? "" }
        for c in evaluation.cases {
            for s in c.structures {
                let name = c.name.contains(",") ? "\"\(c.name)\"" : c.name
                var row = [name, s.name, cell(c.pixelAccuracy), cell(c.randIndex), cell(c.adjustedRandIndex),
                           String(s.counts.truePositives), String(s.counts.falsePositives),
                           String(s.counts.falseNegatives), String(s.counts.trueNegatives)]
                row += StructureMetrics.aggregatable.map { cell(s[keyPath: $0.1]) }
                row += [cell(s.volumeTruthML), cell(s.volumePredictionML)]
                out += row.joined(separator: ",") + "\n"
            }
        }
        return out
    }

    /// A self-contained HTML page (figures inlined as data URIs; no network needed):
    /// a table laid out like the seed's Table 1, the LiTS metrics, lesion detection, the
    /// ROC/histogram/training figures, the overlay figures, and every case worst first.
    /// `figureDirectories[i]` is where evaluation i's figure files live; overlays of the
    /// `maxOverlayCases` worst cases are shown.
    public static func html(evaluations: [DatasetEvaluation], figureDirectories: [URL?] = [],
                            training: [(label: String, history: TrainingHistory)] = [],
                            title: String = "LiverSeg evaluation", maxOverlayCases: Int = 6) throws -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(esc(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:24px;color:#222;max-width:1200px}
        h1{font-size:1.6em;margin-bottom:4px} h2{margin-top:32px;border-bottom:1px solid #ccc;padding-bottom:4px}
        table{border-collapse:collapse;margin:8px 0 16px 0;font-size:0.9em}
        th,td{border:1px solid #bbb;padding:3px 8px;text-align:right;white-space:nowrap} th{background:#eee}
        td small{color:#666} .wide{overflow-x:auto}
        td.l,th.l{text-align:left} tr.group td{background:#f4f4f4;font-weight:bold;text-align:left}
        .null{color:#999} .bad{background:#fde2e2} figure{display:inline-block;margin:8px;vertical-align:top}
        figcaption{font-size:0.85em;color:#444;max-width:560px} img{border:1px solid #ddd;max-width:100%}
        .note{color:#555;font-size:0.9em}
        </style></head><body>
        <h1>\(esc(title))</h1>
        <p class="note">\(evaluations.map { "\(esc($0.label)): \($0.cases.count) cases scored, \($0.failures.count) failed" }.joined(separator: " · "))</p>

        """
        h += seedTable(evaluations)
        h += litsTable(evaluations)
        h += lesionTable(evaluations)
        // Figures drawn now from the evaluations themselves.
        var figs: [(String, String)] = []
        let rocs = evaluations.compactMap { e in e.restrictedROC.map { (label: e.label, analysis: $0) } }
        if !rocs.isEmpty {
            figs.append((try dataURI(Figures.rocCurves(rocs)),
                         "Restricted ROC curves (probabilities in (0.01, 0.99)), one per model, with their restricted AUC (seed fig. 3.4)."))
            for r in rocs {
                figs.append((try dataURI(Figures.probabilityHistogram(r.analysis, title: "\(r.label): p in (0.01, 0.99)")),
                             "\(esc(r.label)): voxels per probability bin in (0.01, 0.99), background grey, tumor red (seed fig. 3.3)."))
            }
        }
        for t in training {
            figs.append((try dataURI(t.history.figure(title: "Training: \(t.label)")), "\(esc(t.label)): training curves per epoch."))
        }
        if !figs.isEmpty {
            h += "<h2>Figures</h2>\n"
            for (src, cap) in figs { h += "<figure><img src=\"\(src)\" alt=\"\"><figcaption>\(cap)</figcaption></figure>\n" }
        }
        for (i, e) in evaluations.enumerated() where !e.figures.isEmpty {
            // Worst cases first, and only a few of them: a page per dataset must stay light.
            let order = e.worstFirst.map(\.name)
            let shown = Array(order.prefix(maxOverlayCases))
            h += "<h2>Overlays, worst cases first: \(esc(e.label))</h2>\n"
            if order.count > shown.count {
                h += "<p class=\"note\">\(shown.count) of \(order.count) cases shown; all figures are in the evaluation folder.</p>\n"
            }
            let dir = i < figureDirectories.count ? figureDirectories[i] : nil
            for name in shown {
                for f in e.figures where f.caseName == name {
                    guard let dir, let data = try? Data(contentsOf: dir.appendingPathComponent(f.file)) else {
                        h += "<p class=\"note\">missing figure \(esc(f.file))</p>\n"; continue
                    }
                    h += "<figure><img src=\"data:image/png;base64,\(data.base64EncodedString())\" alt=\"\(esc(f.file))\"><figcaption>\(esc(f.caption))</figcaption></figure>\n"
                }
            }
        }
        for e in evaluations { h += caseTable(e) }
        h += "<p class=\"note\">Dice per case is the mean of per-case Dice; Dice global is 2ΣTP/Σ(|P|+|T|). Distances in mm (surface = mask minus its 6-neighbour erosion; ASSD pools both directions; HD95 as medpy). Undefined values (empty masks, one class) are shown as — and skipped in means; n counts the cases used.</p>\n"
        h += "</body></html>\n"
        return h
    }

    // MARK: pieces

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func num(_ v: Double?, _ d: Int = 4) -> String {
        guard let v else { return "<span class=\"null\">—</span>" }
        return Figures.fmt(v, d)
    }

    static func dataURI(_ img: RGBImage) throws -> String { "data:image/png;base64," + (try img.pngData()).base64EncodedString() }

    /// Seed Table 1: per model and structure, rAUC, pixel accuracy, IoU and Rand index (means over cases).
    static func seedTable(_ evals: [DatasetEvaluation]) -> String {
        var h = "<h2>Table 1 (as in the seed paper)</h2>\n<table><tr><th class=\"l\">Data</th><th>rAUC</th><th>Pixel<sub>acc</sub></th><th>IoU</th><th>RI</th></tr>\n"
        for e in evals {
            h += "<tr class=\"group\"><td colspan=\"5\">\(esc(e.label))</td></tr>\n"
            for s in e.structures {
                let isLast = s.name == e.structures.last?.name
                let rauc = isLast ? e.restrictedROC?.auc : nil
                h += "<tr><td class=\"l\">\(esc(s.name.capitalized))</td><td>\(isLast && e.restrictedROC != nil ? num(rauc, 3) : "")</td>"
                h += "<td>\(num(s.metrics["pixel_accuracy"]?.mean))</td><td>\(num(s.metrics["jaccard"]?.mean))</td><td>\(num(s.metrics["rand_index"]?.mean))</td></tr>\n"
            }
        }
        return h + "</table>\n<p class=\"note\">rAUC: pooled over all cases' voxels with probability in (0.01, 0.99). Pixel accuracy, IoU and RI: means over cases of the binary structure-vs-rest scores.</p>\n"
    }

    static func litsTable(_ evals: [DatasetEvaluation]) -> String {
        let cols = ["dice", "voe", "rvd", "assd", "mssd", "hd95", "precision", "recall", "auc", "rauc", "roc_threshold"]
        var h = "<h2>LiTS metrics</h2>\n<p class=\"note\">Each cell: mean ± sd over cases; below, the median and how many cases were used / skipped (undefined).</p>\n<div class=\"wide\"><table><tr><th class=\"l\">Model</th><th class=\"l\">Structure</th><th>Dice per case</th><th>Dice global</th>"
        h += cols.map { "<th>\($0.uppercased() == "HD95" ? "HD95 [mm]" : ["assd", "mssd"].contains($0) ? $0.uppercased() + " [mm]" : $0.replacingOccurrences(of: "_", with: " "))</th>" }.joined()
        h += "</tr>\n"
        for e in evals {
            for s in e.structures {
                h += "<tr><td class=\"l\">\(esc(e.label))</td><td class=\"l\">\(esc(s.name))</td><td>\(num(s.dicePerCase))</td><td>\(num(s.diceGlobal))</td>"
                for k in cols {
                    guard let m = s.metrics[k], m.n > 0 else { h += "<td>\(num(nil))</td>"; continue }
                    let d = ["assd", "mssd", "hd95"].contains(k) ? 2 : 3
                    h += "<td>\(num(m.mean, d)) ± \(num(m.sd, d))<br><small>median \(num(m.median, d)) · \(m.n)/\(m.skipped)</small></td>"
                }
                h += "</tr>\n"
            }
        }
        return h + "</table></div>\n"
    }

    static func lesionTable(_ evals: [DatasetEvaluation]) -> String {
        let rows = evals.compactMap { e in e.lesions.map { (e.label, $0) } }
        guard !rows.isEmpty else { return "" }
        var h = "<h2>Lesion detection (IoU &gt; 0.5, 26-connected)</h2>\n<table><tr><th class=\"l\">Model</th><th>Reference lesions</th><th>Detected</th><th>Recall</th><th>Predicted lesions</th><th>Correct</th><th>Precision</th><th>Tumor burden error (mean ± sd)</th></tr>\n"
        for (label, l) in rows {
            h += "<tr><td class=\"l\">\(esc(label))</td><td>\(l.truthLesions)</td><td>\(l.detected)</td><td>\(num(l.detectionRecall, 3))</td><td>\(l.predictedLesions)</td><td>\(l.correctPredictions)</td><td>\(num(l.detectionPrecision, 3))</td><td>\(num(l.burdenError.mean, 4)) ± \(num(l.burdenError.sd, 4))</td></tr>\n"
        }
        return h + "</table>\n"
    }

    static func caseTable(_ e: DatasetEvaluation) -> String {
        var h = "<h2>Cases, worst first: \(esc(e.label))</h2>\n<div class=\"wide\">"
        if !e.failures.isEmpty {
            h += "<p><b>Not scored:</b></p><ul>" + e.failures.map { "<li><b>\(esc($0.name))</b>: \(esc($0.error))</li>" }.joined() + "</ul>\n"
        }
        let names = e.structures.map(\.name)
        h += "<table><tr><th class=\"l\">Case</th><th>Pixel acc</th><th>RI</th><th>ARI</th>"
        for n in names { h += "<th>\(esc(n)) Dice</th><th>\(esc(n)) ASSD</th><th>\(esc(n)) HD95</th>" }
        h += "<th>Lesions found</th></tr>\n"
        for c in e.worstFirst {
            h += "<tr><td class=\"l\">\(esc(c.name))</td><td>\(num(c.pixelAccuracy))</td><td>\(num(c.randIndex))</td><td>\(num(c.adjustedRandIndex))</td>"
            for n in names {
                let s = c.structure(n)
                let bad = (s?.dice ?? 1) < 0.5 ? " class=\"bad\"" : ""
                h += "<td\(bad)>\(num(s?.dice))</td><td>\(num(s?.assd, 2))</td><td>\(num(s?.hd95, 2))</td>"
            }
            h += "<td>\(c.lesions.map { "\($0.detected)/\($0.truthLesions)" } ?? "")</td></tr>\n"
        }
        return h + "</table></div>\n"
    }
}
