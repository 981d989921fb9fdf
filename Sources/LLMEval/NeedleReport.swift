// The needle-in-a-haystack report: one self-contained HTML file (inline CSS and SVG, no script, no
// network) with an accuracy heat-map per model (rows: needle depth, columns: length), a summary by
// length and every trial. The SVG pieces are general: `SVGHeatmap` draws any rows × columns of values
// in 0…1 with the numbers written in the cells as SVG text, on a palette whose lightness rises with the
// value (viridis), so a greyscale print still orders the cells.
import Foundation

/// A heat-map as inline SVG: cells coloured by value, each with its text; a missing value is a light
/// grey cell.
public struct SVGHeatmap: Sendable {
    public var title: String
    public var rowLabels: [String]
    public var columnLabels: [String]
    public var rowAxis: String
    public var columnAxis: String
    /// [row][column] in 0…1; nil: not measured.
    public var values: [[Double?]]
    /// [row][column] text written in the cell.
    public var labels: [[String]]
    /// [row][column] text shown on hover (SVG <title>), optional.
    public var tooltips: [[String]]?
    public var cellWidth = 76
    public var cellHeight = 34

    public init(title: String, rowLabels: [String], columnLabels: [String], rowAxis: String, columnAxis: String,
                values: [[Double?]], labels: [[String]], tooltips: [[String]]? = nil) {
        self.title = title
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.rowAxis = rowAxis
        self.columnAxis = columnAxis
        self.values = values
        self.labels = labels
        self.tooltips = tooltips
    }

    /// Viridis at nine stops: lightness increases monotonically from 0 (dark purple) to 1 (yellow).
    static let stops: [(Double, Double, Double)] = [
        (0x44, 0x01, 0x54), (0x47, 0x2D, 0x7B), (0x3B, 0x52, 0x8B), (0x2C, 0x72, 0x8E), (0x21, 0x91, 0x8C),
        (0x28, 0xAE, 0x80), (0x5E, 0xC9, 0x62), (0xAD, 0xDC, 0x30), (0xFD, 0xE7, 0x25),
    ]

    static func rgb(_ v: Double) -> (Double, Double, Double) {
        let x = min(max(v.isFinite ? v : 0, 0), 1) * Double(stops.count - 1)
        let i = min(Int(x), stops.count - 2), f = x - Double(i)
        let a = stops[i], b = stops[i + 1]
        return (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f)
    }

    /// The fill for a value in 0…1, "#rrggbb".
    public static func color(_ v: Double) -> String {
        let (r, g, b) = rgb(v)
        return String(format: "#%02x%02x%02x", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    /// Relative luminance (sRGB, ITU-R BT.709 weights) of a value's fill, 0…1.
    public static func luminance(_ v: Double) -> Double {
        func lin(_ c: Double) -> Double { let s = c / 255; return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4) }
        let (r, g, b) = rgb(v)
        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    /// Black or white, whichever reads better on the value's fill.
    public static func textColor(_ v: Double) -> String { luminance(v) > 0.18 ? "#000000" : "#ffffff" }

    private var left: Int { 64 }
    private var top: Int { 30 }

    public var width: Int { left + cellWidth * columnLabels.count + 8 }
    public var height: Int { top + cellHeight * rowLabels.count + 44 }

    public func svg() -> String {
        let e = ReportText.escape
        var s = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(width)" height="\#(height)" viewBox="0 0 \#(width) \#(height)" role="img" aria-label="\#(e(title))" font-family="sans-serif">"#
        s += #"<text x="\#(left)" y="18" font-size="14" font-weight="bold">\#(e(title))</text>"#
        for (r, label) in rowLabels.enumerated() {
            let y = top + r * cellHeight
            s += #"<text x="\#(left - 6)" y="\#(y + cellHeight / 2 + 4)" font-size="12" text-anchor="end">\#(e(label))</text>"#
            for c in columnLabels.indices {
                let x = left + c * cellWidth
                let v = r < values.count && c < values[r].count ? values[r][c] : nil
                let text = r < labels.count && c < labels[r].count ? labels[r][c] : ""
                let fill = v.map(Self.color) ?? "#e6e6e6"
                let ink = v.map(Self.textColor) ?? "#555555"
                s += "<g>"
                if let tips = tooltips, r < tips.count, c < tips[r].count { s += "<title>\(e(tips[r][c]))</title>" }
                s += #"<rect x="\#(x)" y="\#(y)" width="\#(cellWidth)" height="\#(cellHeight)" fill="\#(fill)" stroke="white" stroke-width="1"/>"#
                s += #"<text x="\#(x + cellWidth / 2)" y="\#(y + cellHeight / 2 + 5)" font-size="13" text-anchor="middle" fill="\#(ink)">\#(e(text))</text>"#
                s += "</g>"
            }
        }
        let bottom = top + rowLabels.count * cellHeight
        for (c, label) in columnLabels.enumerated() {
            s += #"<text x="\#(left + c * cellWidth + cellWidth / 2)" y="\#(bottom + 16)" font-size="12" text-anchor="middle">\#(e(label))</text>"#
        }
        s += #"<text x="\#(left + cellWidth * columnLabels.count / 2)" y="\#(bottom + 36)" font-size="12" text-anchor="middle">\#(e(columnAxis))</text>"#
        s += #"<text x="12" y="\#(top + rowLabels.count * cellHeight / 2)" font-size="12" text-anchor="middle" transform="rotate(-90 12 \#(top + rowLabels.count * cellHeight / 2))">\#(e(rowAxis))</text>"#
        return s + "</svg>"
    }

    /// A horizontal colour bar from 0 to 1 labelled with `low`, `middle` and `high`.
    public static func legend(width: Int = 240, low: String = "0 %", middle: String = "50 %", high: String = "100 %") -> String {
        let steps = 24, h = 14
        var s = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(width + 20)" height="\#(h + 22)" viewBox="0 0 \#(width + 20) \#(h + 22)" role="img" aria-label="colour scale" font-family="sans-serif">"#
        let w = Double(width) / Double(steps)
        for i in 0..<steps {
            let v = (Double(i) + 0.5) / Double(steps)
            s += #"<rect x="\#(String(format: "%.2f", 10 + Double(i) * w))" y="0" width="\#(String(format: "%.2f", w + 0.5))" height="\#(h)" fill="\#(color(v))"/>"#
        }
        for (x, label, anchor) in [(10, low, "start"), (10 + width / 2, middle, "middle"), (10 + width, high, "end")] {
            s += #"<text x="\#(x)" y="\#(h + 16)" font-size="11" text-anchor="\#(anchor)">\#(ReportText.escape(label))</text>"#
        }
        return s + "</svg>"
    }
}

public enum NeedleReport {
    /// Tokens as a short label: 1024 → "1k", 1536 → "1.5k", 1000 → "1000".
    public static func lengthLabel(_ n: Int) -> String {
        if n >= 1024 && n % 512 == 0 { return n % 1024 == 0 ? "\(n / 1024)k" : String(format: "%.1fk", Double(n) / 1024) }
        return "\(n)"
    }

    /// A depth or other number without a needless ".0": 25 → "25", 12.5 → "12.5".
    public static func number(_ d: Double) -> String { NeedleError.number(d) }

    static func depthLabel(_ d: Double) -> String { "\(number(d)) %" }

    /// The heat-map of one result: rows are depths, columns lengths; cells show accuracy in percent.
    public static func heatmap(_ r: NeedleResult, title: String) -> SVGHeatmap {
        let lengths = r.grid.lengths
        var values: [[Double?]] = [], labels: [[String]] = [], tips: [[String]] = []
        for d in r.grid.depths {
            var v: [Double?] = [], l: [String] = [], t: [String] = []
            for n in lengths {
                if let c = r.cell(length: n, depth: d) {
                    v.append(c.accuracy)
                    l.append(String(format: "%.0f", 100 * c.accuracy))
                    t.append("\(n) tokens, depth \(depthLabel(d)): \(c.correct) of \(c.trials) correct, \(String(format: "%.1f", c.seconds)) s")
                } else {
                    v.append(nil)
                    l.append(r.skippedLengths.contains(n) ? "ctx" : "–")
                    t.append(r.skippedLengths.contains(n) ? "\(n) tokens exceed the model's context" : "not measured")
                }
            }
            values.append(v); labels.append(l); tips.append(t)
        }
        return SVGHeatmap(title: title, rowLabels: r.grid.depths.map(depthLabel), columnLabels: lengths.map(lengthLabel),
                          rowAxis: "needle depth", columnAxis: "length (tokens)", values: values, labels: labels, tooltips: tips)
    }

    /// The whole page for one or more results of the same grid (e.g. original and dropped).
    public static func html(model: String, plan: String?, results: [(name: String, result: NeedleResult)]) -> String {
        let e = ReportText.escape
        let modelName = URL(fileURLWithPath: model).lastPathComponent
        var h = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Needle in a haystack: \(e(modelName))</title>
            <style>
            body { font-family: sans-serif; margin: 2em; color: #111; max-width: 1100px; }
            h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
            table { border-collapse: collapse; margin: 0.6em 0; }
            th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; font-variant-numeric: tabular-nums; }
            th:first-child, td:first-child { text-align: left; }
            .maps { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
            .note { color: #444; font-size: 0.92em; }
            td.ok { font-weight: bold; } td.miss { font-style: italic; text-decoration: underline; }
            code { font-size: 0.95em; }
            </style></head><body>

            """
        h += "<h1>Needle in a haystack: \(e(modelName))</h1>\n"
        guard let first = results.first?.result else { return h + "<p>No results.</p></body></html>\n" }
        let g = first.grid
        let test = first.test
        h += "<p>Model <code>\(e(model))</code>" + (plan.map { ", drop plan <code>\(e($0))</code>" } ?? "") + ".</p>\n"
        h += "<p>Test: " + (test.kind == "passkey"
            ? "pass-key retrieval (Mohtashami &amp; Jaggi, 2023): a fresh 5-digit key per trial"
            : "custom needle <q>\(e(test.needle ?? ""))</q>, question <q>\(e(test.question))</q>")
        h += test.haystack == "filler" ? ", hidden in repeated filler sentences." : ", hidden in text from <code>\(e(test.haystack))</code>."
        h += " Greedy decoding, exact match. \(g.trials) trial\(g.trials == 1 ? "" : "s") per cell, seed \(g.seed).</p>\n"
        h += "<p class=\"note\">Length: prompt plus the tokens decoded for the answer, in the model's own tokens. "
        h += "Depth: share of the haystack's tokens before the needle. Cells: accuracy in percent (darker = fewer correct).</p>\n"
        if !first.skippedLengths.isEmpty {
            h += "<p class=\"note\">Not measured (over the model's context length): \(first.skippedLengths.map(String.init).joined(separator: ", ")) tokens.</p>\n"
        }

        // Summary by length.
        h += "<h2>Accuracy by length</h2>\n<table><tr><th>length</th>"
        for (name, _) in results { h += "<th>\(e(name))</th>" }
        for (name, _) in results { h += "<th>time \(e(name))</th>" }
        h += "</tr>\n"
        for n in g.lengths {
            h += "<tr><td>\(n)</td>"
            for (_, r) in results { h += "<td>" + (r.accuracy(length: n).map { String(format: "%.0f %%", 100 * $0) } ?? "–") + "</td>" }
            for (_, r) in results { h += "<td>" + (r.skippedLengths.contains(n) ? "–" : String(format: "%.0f s", r.seconds(length: n))) + "</td>" }
            h += "</tr>\n"
        }
        h += "<tr><td><b>all</b></td>"
        for (_, r) in results { h += String(format: "<td><b>%.1f %%</b> (%ld/%ld)</td>", 100 * r.accuracy, r.correct, r.total) }
        for (_, r) in results { h += String(format: "<td>%.0f s</td>", r.seconds) }
        h += "</tr></table>\n"

        // Heat-maps side by side.
        h += "<h2>Accuracy by length and depth</h2>\n<div class=\"maps\">\n"
        for (name, r) in results { h += heatmap(r, title: name).svg() + "\n" }
        h += "</div>\n" + SVGHeatmap.legend(low: "0 % correct", high: "100 % correct") + "\n"

        // Every trial.
        for (name, r) in results {
            h += "<details><summary>\(e(name)): all \(r.trials.count) trials</summary>\n<table><tr><th>length</th><th>depth</th><th>placed at</th><th>trial</th><th>prompt tokens</th><th>answer</th><th>prediction</th><th>correct</th><th>prefill s</th></tr>\n"
            for t in r.trials {
                h += "<tr><td>\(t.length)</td><td>\(depthLabel(t.depth))</td><td>\(String(format: "%.1f %%", t.actualDepth))</td><td>\(t.trial)</td>"
                h += "<td>\(t.promptTokens)</td><td>\(e(t.answer))</td><td>\(e(t.prediction.isEmpty ? "(\(t.continuation))" : t.prediction))</td>"
                h += "<td class=\"\(t.correct ? "ok" : "miss")\">\(t.correct ? "yes" : "no")</td><td>\(String(format: "%.2f", t.prefillSeconds))</td></tr>\n"
            }
            h += "</table></details>\n"
        }
        return h + "</body></html>\n"
    }
}
