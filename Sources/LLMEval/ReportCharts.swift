// Small, general SVG charts for self-contained HTML reports: line/scatter charts with labelled axes
// (linear or log), error bars, a reference line and a marked Pareto front; and a strip of cells
// showing which sublayers of each layer are dropped. Numbers are SVG text (searchable, printable);
// every series differs in colour (Okabe–Ito, safe for colour blindness), dash pattern and marker
// shape, so a greyscale print still tells them apart. Markers carry their values in <title> (native
// tooltips) and `data-tip` (the report's hover script). No external resources.
import Foundation

/// Escaping for HTML text and attribute values.
public enum ReportText {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A number with `digits` significant digits, without exponent noise for everyday magnitudes.
    public static func number(_ v: Double, digits: Int = 3) -> String {
        guard v.isFinite else { return v.isNaN ? "n/a" : (v > 0 ? "∞" : "−∞") }
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e6 || a < 1e-4 { return String(format: "%.\(max(digits - 1, 0))e", v) }
        let decimals = max(0, digits - 1 - Int(floor(log10(a))))
        var s = String(format: "%.\(decimals)f", v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }
}

/// How a series is drawn: colour, dash pattern and marker, by index.
public struct ChartStyle: Sendable {
    public let color: String
    public let dash: String?
    public let marker: Marker

    public enum Marker: Sendable { case circle, square, triangle, diamond, cross, star }

    /// Okabe–Ito colours with distinct dashes and markers (greyscale-distinguishable by the latter).
    public static let all: [ChartStyle] = [
        ChartStyle(color: "#0072B2", dash: nil, marker: .circle),
        ChartStyle(color: "#D55E00", dash: "7 4", marker: .square),
        ChartStyle(color: "#009E73", dash: "2 3", marker: .triangle),
        ChartStyle(color: "#CC79A7", dash: "9 3 2 3", marker: .diamond),
        ChartStyle(color: "#E69F00", dash: "4 2", marker: .cross),
        ChartStyle(color: "#000000", dash: "1 2", marker: .star),
    ]

    public static func at(_ i: Int) -> ChartStyle { all[((i % all.count) + all.count) % all.count] }

    /// SVG for the marker centred at (x, y).
    func markerSVG(x: Double, y: Double, size r: Double = 4) -> String {
        let f = { (v: Double) in String(format: "%.1f", v) }
        switch marker {
        case .circle: return ##"<circle cx="\##(f(x))" cy="\##(f(y))" r="\##(f(r))" fill="\##(color)" stroke="#fff" stroke-width="0.8"/>"##
        case .square: return ##"<rect x="\##(f(x - r))" y="\##(f(y - r))" width="\##(f(2 * r))" height="\##(f(2 * r))" fill="\##(color)" stroke="#fff" stroke-width="0.8"/>"##
        case .triangle:
            return ##"<polygon points="\##(f(x)),\##(f(y - r * 1.2)) \##(f(x + r * 1.1)),\##(f(y + r * 0.8)) \##(f(x - r * 1.1)),\##(f(y + r * 0.8))" fill="\##(color)" stroke="#fff" stroke-width="0.8"/>"##
        case .diamond:
            return ##"<polygon points="\##(f(x)),\##(f(y - r * 1.3)) \##(f(x + r * 1.1)),\##(f(y)) \##(f(x)),\##(f(y + r * 1.3)) \##(f(x - r * 1.1)),\##(f(y))" fill="\##(color)" stroke="#fff" stroke-width="0.8"/>"##
        case .cross:
            return ##"<path d="M\##(f(x - r)) \##(f(y - r))L\##(f(x + r)) \##(f(y + r))M\##(f(x - r)) \##(f(y + r))L\##(f(x + r)) \##(f(y - r))" stroke="\##(color)" stroke-width="2.2" fill="none"/>"##
        case .star:
            var pts: [String] = []
            for i in 0..<10 {
                let a = Double.pi / 5 * Double(i) - Double.pi / 2, rr = i % 2 == 0 ? r * 1.3 : r * 0.55
                pts.append("\(f(x + rr * cos(a))),\(f(y + rr * sin(a)))")
            }
            return ##"<polygon points="\##(pts.joined(separator: " "))" fill="\##(color)"/>"##
        }
    }
}

public struct ChartPoint: Sendable, Equatable {
    public var x: Double
    public var y: Double
    /// Half-width of the error bar on y (± error), if any.
    public var error: Double?
    /// Hover text.
    public var tip: String

    public init(x: Double, y: Double, error: Double? = nil, tip: String = "") {
        self.x = x
        self.y = y
        self.error = error
        self.tip = tip
    }
}

public struct ChartSeries: Sendable {
    public var name: String
    public var points: [ChartPoint]
    public var style: Int
    /// Join the points with a line (in the given order).
    public var connect: Bool

    public init(name: String, points: [ChartPoint], style: Int, connect: Bool = true) {
        self.name = name
        self.points = points
        self.style = style
        self.connect = connect
    }
}

public enum AxisScale: Sendable { case linear, log }

/// A line or scatter chart as inline SVG.
public struct SVGChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [ChartSeries]
    public var xScale: AxisScale = .linear
    public var yScale: AxisScale = .linear
    /// Tick positions on x; nil: chosen from the data.
    public var xTicks: [Double]?
    /// Always include these values in the y range (e.g. 1 for a ratio).
    public var yInclude: [Double] = []
    /// A dashed horizontal line (e.g. y = 1: no change), with its label.
    public var reference: (y: Double, label: String)?
    /// Points of a Pareto front: joined by a thick grey line and ringed.
    public var front: [ChartPoint] = []
    public var width = 540
    public var height = 330

    public init(title: String, xLabel: String, yLabel: String, series: [ChartSeries]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    let left = 66.0, right = 14.0, top = 34.0, bottom = 46.0

    var legendEntries: Int { series.count + (front.isEmpty ? 0 : 1) }
    var legendColumns: Int { max(1, min(legendEntries, Int((Double(width) - left) / 120))) }
    var legendHeight: Double { Double((legendEntries + legendColumns - 1) / legendColumns) * 16 + 6 }

    /// Values with a finite position on `scale`.
    static func usable(_ v: Double, _ scale: AxisScale) -> Bool { v.isFinite && (scale == .linear || v > 0) }

    /// "Nice" ticks covering [lo, hi]: steps of 1, 2 or 5 × 10^k (linear); on a log axis the 1-2-5
    /// values inside the range, or linear ticks when the range is under a factor of 3.
    public static func ticks(_ lo: Double, _ hi: Double, scale: AxisScale, count: Int = 5) -> [Double] {
        guard lo.isFinite, hi.isFinite else { return [] }
        if lo == hi { return [lo] }
        if scale == .log && hi / lo >= 3 {
            // The densest of these mantissa sets that gives at most 8 ticks; else whole decades.
            func within(_ mantissas: [Double]) -> [Double] {
                var out: [Double] = []
                var decade = pow(10, floor(log10(lo)))
                while decade <= hi * 1.0001 {
                    for m in mantissas {
                        let v = m * decade
                        if v >= lo * 0.9999 && v <= hi * 1.0001 { out.append(v) }
                    }
                    decade *= 10
                }
                return out
            }
            for mantissas in [[1, 1.5, 2, 3, 4, 5, 7], [1, 2, 5], [1, 3]] as [[Double]] {
                let t = within(mantissas)
                if t.count <= 8 { return t }
            }
            let decades = within([1])
            let stride = max(1, (decades.count + 7) / 8)
            return decades.enumerated().filter { $0.offset % stride == 0 }.map(\.element)
        }
        let raw = (hi - lo) / Double(max(count, 1))
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var out: [Double] = []
        var k = (lo / step - 1e-9).rounded(.up)
        while k * step <= hi + step * 1e-9 {
            out.append(k == 0 ? 0 : k * step)
            k += 1
        }
        return out
    }

    public func svg() -> String {
        let e = ReportText.escape
        let f = { (v: Double) in String(format: "%.1f", v) }
        let all = series.flatMap(\.points) + front
        let xs = all.map(\.x).filter { Self.usable($0, xScale) } + (xTicks ?? [])
        var ys = all.flatMap { p -> [Double] in
            guard let err = p.error else { return [p.y] }
            return [p.y, p.y - err, p.y + err]
        }.filter { Self.usable($0, yScale) } + yInclude
        if let r = reference { ys.append(r.y) }
        let plotTop = top + legendHeight
        let plotW = Double(width) - left - right, plotH = Double(height) - plotTop - bottom
        var s = ##"<svg class="chart" width="\##(width)" height="\##(height)" viewBox="0 0 \##(width) \##(height)" role="img" aria-label="\##(e(title))" font-family="sans-serif" font-size="11">"##
        s += ##"<text x="\##(f(left))" y="16" font-size="13" font-weight="bold">\##(e(title))</text>"##
        guard var x0 = xs.min(), var x1 = xs.max(), var y0 = ys.min(), var y1 = ys.max() else {
            return s + ##"<text x="\##(f(left))" y="\##(f(plotTop + 20))">no data</text></svg>"##
        }
        if x0 == x1 { x0 -= 1; x1 += 1 }
        if y0 == y1 { let d = y0 == 0 ? 1 : abs(y0) * 0.1; y0 -= d; y1 += d }
        func tx(_ v: Double) -> Double { xScale == .log ? log10(v) : v }
        func ty(_ v: Double) -> Double { yScale == .log ? log10(v) : v }
        // A little room around the data.
        let (tx0, tx1) = (tx(x0), tx(x1)), padX = (tx1 - tx0) * 0.04
        let (ty0, ty1) = (ty(y0), ty(y1)), padY = (ty1 - ty0) * 0.06
        func px(_ v: Double) -> Double { left + (tx(v) - (tx0 - padX)) / (tx1 - tx0 + 2 * padX) * plotW }
        func py(_ v: Double) -> Double { plotTop + plotH - (ty(v) - (ty0 - padY)) / (ty1 - ty0 + 2 * padY) * plotH }

        // Legend.
        let columnWidth = (Double(width) - left) / Double(legendColumns)
        var entries: [(String, String)] = series.enumerated().map { _, sr in
            let st = ChartStyle.at(sr.style)
            let line = sr.connect ? ##"<line x1="0" y1="0" x2="22" y2="0" stroke="\##(st.color)" stroke-width="2"\##(st.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>"## : ""
            return (line + st.markerSVG(x: 11, y: 0), sr.name)
        }
        if !front.isEmpty {
            entries.append((##"<line x1="0" y1="0" x2="22" y2="0" stroke="#9a9a9a" stroke-width="6" stroke-opacity="0.55"/><circle cx="11" cy="0" r="6.5" fill="none" stroke="#000" stroke-width="1.2"/>"##, "Pareto front"))
        }
        for (i, (mark, name)) in entries.enumerated() {
            let lx = left + Double(i % legendColumns) * columnWidth, ly = top + Double(i / legendColumns) * 16
            s += ##"<g class="legend" transform="translate(\##(f(lx)) \##(f(ly)))">\##(mark)<text x="28" y="4">\##(e(name))</text></g>"##
        }

        // Axes, grid and ticks.
        s += ##"<rect x="\##(f(left))" y="\##(f(plotTop))" width="\##(f(plotW))" height="\##(f(plotH))" fill="none" stroke="#888" stroke-width="0.8"/>"##
        let xt = (xTicks ?? Self.ticks(x0, x1, scale: xScale, count: 6)).filter { $0 >= x0 - 1e-12 && $0 <= x1 + 1e-12 && Self.usable($0, xScale) }
        let yt = Self.ticks(y0, y1, scale: yScale, count: 5)
        let xStep = xt.count > 14 ? Int((Double(xt.count) / 14).rounded(.up)) : 1
        for (i, v) in xt.enumerated() {
            let x = px(v)
            s += ##"<line x1="\##(f(x))" y1="\##(f(plotTop))" x2="\##(f(x))" y2="\##(f(plotTop + plotH))" stroke="#e3e3e3" stroke-width="0.7"/>"##
            if i % xStep == 0 {
                s += ##"<text x="\##(f(x))" y="\##(f(plotTop + plotH + 14))" text-anchor="middle">\##(e(ReportText.number(v)))</text>"##
            }
        }
        for v in yt {
            let y = py(v)
            s += ##"<line x1="\##(f(left))" y1="\##(f(y))" x2="\##(f(left + plotW))" y2="\##(f(y))" stroke="#e3e3e3" stroke-width="0.7"/>"##
            s += ##"<text x="\##(f(left - 5))" y="\##(f(y + 4))" text-anchor="end">\##(e(ReportText.number(v)))</text>"##
        }
        s += ##"<text x="\##(f(left + plotW / 2))" y="\##(f(Double(height) - 8))" text-anchor="middle" font-size="12">\##(e(xLabel))</text>"##
        let yMid = plotTop + plotH / 2
        s += ##"<text x="14" y="\##(f(yMid))" text-anchor="middle" font-size="12" transform="rotate(-90 14 \##(f(yMid)))">\##(e(yLabel))</text>"##

        if let r = reference, Self.usable(r.y, yScale) {
            let y = py(r.y)
            s += ##"<line x1="\##(f(left))" y1="\##(f(y))" x2="\##(f(left + plotW))" y2="\##(f(y))" stroke="#555" stroke-width="1" stroke-dasharray="3 3"/>"##
            s += ##"<text x="\##(f(left + plotW - 4))" y="\##(f(y - 4))" text-anchor="end" fill="#555">\##(e(r.label))</text>"##
        }
        // Pareto front behind the series.
        let frontPoints = front.filter { Self.usable($0.x, xScale) && Self.usable($0.y, yScale) }
        if frontPoints.count > 1 {
            let d = frontPoints.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            s += ##"<polyline class="front" points="\##(d)" fill="none" stroke="#9a9a9a" stroke-width="6" stroke-opacity="0.55" stroke-linejoin="round"/>"##
        }
        s += ##"<g clip-path="none">"##
        for sr in series {
            let st = ChartStyle.at(sr.style)
            let pts = sr.points.filter { Self.usable($0.x, xScale) && Self.usable($0.y, yScale) }
            s += ##"<g class="series" data-series="\##(e(sr.name))">"##
            if sr.connect && pts.count > 1 {
                let d = pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                s += ##"<polyline points="\##(d)" fill="none" stroke="\##(st.color)" stroke-width="2"\##(st.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>"##
            }
            for p in pts {
                let x = px(p.x), y = py(p.y)
                if let err = p.error, err > 0 {
                    let lo = Self.usable(p.y - err, yScale) ? py(p.y - err) : plotTop + plotH, hi = py(p.y + err)
                    s += ##"<path d="M\##(f(x)) \##(f(lo))V\##(f(hi))M\##(f(x - 3)) \##(f(lo))H\##(f(x + 3))M\##(f(x - 3)) \##(f(hi))H\##(f(x + 3))" stroke="\##(st.color)" stroke-width="1.2" fill="none"/>"##
                }
                let tip = p.tip.isEmpty ? "\(sr.name): \(ReportText.number(p.x)), \(ReportText.number(p.y, digits: 4))" : p.tip
                s += ##"<g class="pt" data-tip="\##(e(tip))"><title>\##(e(tip))</title>\##(st.markerSVG(x: x, y: y))</g>"##
            }
            s += "</g>"
        }
        for p in frontPoints {
            s += ##"<circle cx="\##(f(px(p.x)))" cy="\##(f(py(p.y)))" r="7" fill="none" stroke="#000" stroke-width="1.2"/>"##
        }
        return s + "</g></svg>"
    }

    /// The points of `points` not dominated by another: no other has x ≥ and y ≤ with one strict
    /// (larger x better, smaller y better), sorted by x.
    public static func paretoFront(_ points: [ChartPoint]) -> [ChartPoint] {
        let usable = points.filter { $0.x.isFinite && $0.y.isFinite }
        let front = usable.filter { p in
            !usable.contains { q in q.x >= p.x && q.y <= p.y && (q.x > p.x || q.y < p.y) }
        }
        var seen = Set<String>()
        return front.sorted { $0.x < $1.x || ($0.x == $1.x && $0.y < $1.y) }.filter { seen.insert("\($0.x),\($0.y)").inserted }
    }
}

/// Which sublayers of each layer a plan drops, one row per plan: the upper half of a cell is the
/// attention sublayer (black when dropped), the lower half the MLP (vermillion when dropped).
public struct SVGDropStrip: Sendable {
    public var title: String
    public var rowLabels: [String]
    /// [row][layer]: (attention dropped, MLP dropped).
    public var cells: [[(attention: Bool, mlp: Bool)]]
    public var cellWidth = 14.0
    public var cellHeight = 14.0

    public init(title: String, rowLabels: [String], cells: [[(attention: Bool, mlp: Bool)]]) {
        self.title = title
        self.rowLabels = rowLabels
        self.cells = cells
    }

    public static let attentionColor = "#000000"
    public static let mlpColor = "#D55E00"

    public func svg() -> String {
        let e = ReportText.escape
        let f = { (v: Double) in String(format: "%.1f", v) }
        let layers = cells.map(\.count).max() ?? 0
        let cw = layers > 36 ? max(6, 504 / Double(layers)) : cellWidth
        let left = 58.0, top = 24.0
        let width = max(left + cw * Double(layers) + 10, Double(title.count) * 7.2 + 8), height = top + cellHeight * Double(rowLabels.count) + 34
        var s = ##"<svg class="strip" width="\##(f(width))" height="\##(f(height))" viewBox="0 0 \##(f(width)) \##(f(height))" role="img" aria-label="\##(e(title))" font-family="sans-serif" font-size="10">"##
        s += ##"<text x="0" y="14" font-size="12" font-weight="bold">\##(e(title))</text>"##
        for (r, label) in rowLabels.enumerated() {
            let y = top + Double(r) * cellHeight
            s += ##"<text x="\##(f(left - 5))" y="\##(f(y + cellHeight - 3))" text-anchor="end">\##(e(label))</text>"##
            for l in 0..<layers {
                let x = left + Double(l) * cw
                let c: (attention: Bool, mlp: Bool) = r < cells.count && l < cells[r].count ? cells[r][l] : (false, false)
                let what = c.attention && c.mlp ? "block" : c.attention ? "attention" : c.mlp ? "MLP" : "nothing"
                s += ##"<g><title>\##(e("\(label), layer \(l): \(what) dropped"))</title>"##
                s += ##"<rect x="\##(f(x))" y="\##(f(y))" width="\##(f(cw))" height="\##(f(cellHeight))" fill="#f4f4f4" stroke="#fff" stroke-width="1"/>"##
                if c.attention { s += ##"<rect x="\##(f(x + 0.5))" y="\##(f(y + 0.5))" width="\##(f(cw - 1))" height="\##(f(cellHeight / 2 - 0.5))" fill="\##(Self.attentionColor)"/>"## }
                if c.mlp { s += ##"<rect x="\##(f(x + 0.5))" y="\##(f(y + cellHeight / 2))" width="\##(f(cw - 1))" height="\##(f(cellHeight / 2 - 0.5))" fill="\##(Self.mlpColor)"/>"## }
                s += "</g>"
            }
        }
        let bottom = top + Double(rowLabels.count) * cellHeight
        let step = layers > 24 ? 5 : layers > 12 ? 2 : 1
        for l in stride(from: 0, to: layers, by: step) {
            s += ##"<text x="\##(f(left + (Double(l) + 0.5) * cw))" y="\##(f(bottom + 12))" text-anchor="middle">\##(l)</text>"##
        }
        s += ##"<text x="\##(f(left + cw * Double(layers) / 2))" y="\##(f(bottom + 27))" text-anchor="middle" font-size="11">layer</text>"##
        return s + "</svg>"
    }

    /// The legend: what the two halves mean.
    public static func legend() -> String {
        ##"<svg class="strip-legend" width="330" height="20" viewBox="0 0 330 20" role="img" aria-label="legend" font-family="sans-serif" font-size="11">"##
            + ##"<rect x="0" y="3" width="14" height="7" fill="\##(attentionColor)"/><rect x="0" y="10" width="14" height="7" fill="#f4f4f4"/><text x="20" y="14">attention dropped (upper half)</text>"##
            + ##"<rect x="190" y="3" width="14" height="7" fill="#f4f4f4"/><rect x="190" y="10" width="14" height="7" fill="\##(mlpColor)"/><text x="210" y="14">MLP dropped (lower)</text></svg>"##
    }
}
