// The sweep report: one self-contained HTML page (inline SVG and CSS, a few lines of inline script for
// hover values; no network, no external fonts or scripts) that answers "how many layers of which kind
// can I drop, and what does it cost?" with the paper's figures: quality against the number of modules
// dropped (one line per target), per-layer scores of attention, MLP and block for each importance
// metric, which layers each metric drops at each count, quality against speed-up and KV-cache / weight
// savings with the Pareto front marked, and the model's facts, the calibration and the commands that
// reproduce every point. Works from a `SweepResult` alone: no model internals.
import Foundation
import LLMDrop

public enum SweepReport {
    /// Perplexity-ratio budgets of the at-a-glance table.
    public static let budgets: [Double] = [1.01, 1.05, 1.10, 1.25]

    public static func html(_ r: SweepResult) -> String {
        var page = Page(r)
        return page.render()
    }

    /// The largest swept count of `target` whose perplexity ratio stays within `budget` (0 if none).
    public static func largestCount(_ r: SweepResult, metric: ImportanceMetric, target: DropTarget, within budget: Double) -> Int {
        r.points.filter { $0.metric == metric && $0.target == target }.sorted { $0.count < $1.count }
            .prefix { $0.divergence.perplexityRatio <= budget }.last?.count ?? 0
    }

    /// The metric with the lowest perplexity ratio at (target, count), with that ratio.
    public static func bestMetric(_ r: SweepResult, target: DropTarget, count: Int) -> (metric: ImportanceMetric, ratio: Double)? {
        r.settings.metrics.compactMap { m in r.point(metric: m, target: target, count: count).map { (m, $0.divergence.perplexityRatio) } }
            .min { $0.1 < $1.1 }
    }
}

private struct Page {
    let r: SweepResult
    let primary: ImportanceMetric
    let counts: [Int]
    var h = ""

    init(_ r: SweepResult) {
        self.r = r
        primary = r.settings.metrics.first ?? .cosine
        counts = Array(Set(r.points.map(\.count))).sorted()
    }

    let e = ReportText.escape
    func num(_ v: Double, _ digits: Int = 3) -> String { ReportText.number(v, digits: digits) }
    func pct(_ v: Double) -> String { String(format: "%.1f %%", 100 * v) }

    func points(_ m: ImportanceMetric, _ t: DropTarget) -> [SweepPoint] {
        r.points.filter { $0.metric == m && $0.target == t }.sorted { $0.count < $1.count }
    }

    var baseline: SweepPoint? { r.baseline }

    static func style(_ t: DropTarget) -> Int { DropTarget.allCases.firstIndex(of: t) ?? 0 }
    static func style(_ m: ImportanceMetric) -> Int { ImportanceMetric.allCases.firstIndex(of: m) ?? 0 }

    /// A log axis when the positive values span more than a factor of `factor`.
    func scale(_ values: [Double], factor: Double = 8) -> AxisScale {
        let pos = values.filter { $0 > 0 && $0.isFinite }
        guard let lo = pos.min(), let hi = pos.max() else { return .linear }
        return hi / lo > factor ? .log : .linear
    }

    func taskName(_ path: String) -> String { TaskFile.name(of: path) }

    func planText(_ p: SweepPoint) -> String {
        var parts: [String] = []
        if !p.droppedAttention.isEmpty { parts.append("attention \(p.droppedAttention.map(String.init).joined(separator: ","))") }
        if !p.droppedMLP.isEmpty { parts.append("MLP \(p.droppedMLP.map(String.init).joined(separator: ","))") }
        if !p.droppedBlocks.isEmpty { parts.append("blocks \(p.droppedBlocks.map(String.init).joined(separator: ","))") }
        return parts.isEmpty ? "nothing" : parts.joined(separator: "; ")
    }

    func tip(_ p: SweepPoint) -> String {
        var s = "\(p.target.rawValue), \(p.count) dropped (\(p.metric.rawValue)): perplexity ×\(num(p.divergence.perplexityRatio, 4)), KL \(num(p.divergence.meanKL)) nats, top-1 \(pct(p.divergence.top1Agreement)); \(planText(p))"
        for (path, t) in p.tasks.sorted(by: { $0.key < $1.key }) { s += "; \(taskName(path)) acc \(num(t.acc))" }
        return s
    }

    // MARK: - Page

    mutating func render() -> String {
        head()
        glance()
        quality()
        metricComparison()
        layerScores()
        dropStrips()
        tradeOffs()
        allPoints()
        reproduce()
        facts()
        h += """
            <div id="tip" class="tip" hidden></div>
            <script>
            (function () {
              var tip = document.getElementById('tip');
              document.addEventListener('mouseover', function (ev) {
                var t = ev.target && ev.target.closest ? ev.target.closest('[data-tip]') : null;
                if (!t) { tip.hidden = true; return; }
                tip.textContent = t.getAttribute('data-tip');
                tip.hidden = false;
              });
              document.addEventListener('mousemove', function (ev) {
                if (!tip.hidden) { tip.style.left = (ev.pageX + 14) + 'px'; tip.style.top = (ev.pageY + 14) + 'px'; }
              });
              document.body.setAttribute('data-ready', '1');
            })();
            </script>
            </body></html>

            """
        return h
    }

    mutating func head() {
        let title = "Layer-drop sweep: \(r.model.name)"
        h += """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(title))</title>
            <script>window.addEventListener('error', function (ev) { document.documentElement.setAttribute('data-error', String(ev.message)); });</script>
            <style>
            body { font-family: sans-serif; margin: 1.5em auto; padding: 0 1em; color: #111; max-width: 1140px; line-height: 1.4; }
            h1 { font-size: 1.45em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
            h3 { font-size: 1.02em; margin: 1em 0 0.3em; }
            table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
            th, td { border: 1px solid #c4c4c4; padding: 0.2em 0.55em; text-align: right; font-variant-numeric: tabular-nums; vertical-align: top; }
            th { background: #f2f2f2; } th:first-child, td:first-child, td.l, th.l { text-align: left; }
            .figs { display: flex; flex-wrap: wrap; gap: 1.2em 1.6em; align-items: flex-start; }
            figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
            figcaption { font-size: 0.85em; color: #333; max-width: 540px; }
            .note { color: #444; font-size: 0.9em; } .lead { font-size: 1.05em; }
            .best { font-weight: bold; text-decoration: underline; }
            code, pre { font-family: monospace; font-size: 0.9em; } pre { background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; word-break: break-all; }
            .tip { position: absolute; background: #fffbe6; border: 1px solid #888; padding: 0.3em 0.5em; font-size: 0.85em; max-width: 420px; pointer-events: none; z-index: 10; }
            .warn { color: #8a2a00; font-weight: bold; }
            @media print { body { max-width: none; margin: 0; } .tip { display: none; } details > * { display: block; } h2 { break-after: avoid; } }
            </style></head><body>

            """
        h += "<h1>\(e(title))</h1>\n"
        let m = r.model
        h += "<p class=\"note\">\(e(m.architecture)), \(m.layers) layers, hidden size \(m.hiddenSize), \(ReportText.number(Double(m.parameters) / 1e6, digits: 4)) M parameters, file \(bytes(m.fileBytes)). "
        h += "Metric\(r.settings.metrics.count > 1 ? "s" : "") \(r.settings.metrics.map { "<b>\($0.rawValue)</b>" }.joined(separator: ", ")); "
        h += "\(r.settings.iterative ? "iterative (re-scored after each removal)" : "one-shot") selection; calibration: \(e(r.settings.calibration)); "
        h += "quality on \(e(r.settings.heldOut)).\(r.complete ? "" : " <span class=\"warn\">Partial: the sweep was interrupted; rerun the same command to finish it.</span>")</p>\n"
    }

    func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    mutating func glance() {
        h += "<h2>At a glance</h2>\n"
        guard !r.points.isEmpty else { h += "<p>No grid point has been measured yet.</p>\n"; return }
        let multi = r.settings.metrics.count > 1
        h += "<p class=\"lead\">How many modules of each kind can be dropped while held-out perplexity stays within a budget"
        h += multi ? " (chosen by <b>\(primary.rawValue)</b>; in brackets the best any metric reached):</p>\n" : ":</p>\n"
        h += "<table><tr><th class=\"l\">target</th>"
        for b in SweepReport.budgets { h += "<th>perplexity ≤ ×\(num(b))</th>" }
        let top = counts.max() ?? 0
        h += "<th>at \(top) dropped: perplexity</th><th>KL (nats)</th><th>top-1 agreement</th><th>KV cache saved</th><th>FLOPs/token saved</th></tr>\n"
        for t in r.settings.targets {
            h += "<tr><td>\(t.rawValue)</td>"
            for b in SweepReport.budgets {
                let k = SweepReport.largestCount(r, metric: primary, target: t, within: b)
                let best = r.settings.metrics.map { SweepReport.largestCount(r, metric: $0, target: t, within: b) }.max() ?? k
                h += "<td>\(k)\(multi && best > k ? " (\(best))" : "")</td>"
            }
            if let p = r.point(metric: primary, target: t, count: top), let b = baseline {
                h += "<td>×\(num(p.divergence.perplexityRatio, 4))</td><td>\(num(p.divergence.meanKL))</td><td>\(pct(p.divergence.top1Agreement))</td>"
                h += "<td>\(pct(1 - Double(p.cost.kvCacheBytesPerToken) / Double(max(b.cost.kvCacheBytesPerToken, 1))))</td>"
                h += "<td>\(pct(1 - p.cost.flopsPerToken / b.cost.flopsPerToken))</td>"
            } else {
                h += "<td>–</td><td>–</td><td>–</td><td>–</td><td>–</td>"
            }
            h += "</tr>\n"
        }
        h += "</table>\n"
        // The headline: perplexity at two telling counts (4 and 8 when swept), the costly ones marked.
        let nonzero = counts.filter { $0 > 0 }
        let telling = [4, 8].allSatisfy(nonzero.contains) ? [4, 8] : Array(nonzero.prefix(2))
        var sentences: [String] = []
        for k in telling {
            let parts = r.settings.targets.compactMap { t -> String? in
                guard let p = r.point(metric: primary, target: t, count: k) else { return nil }
                let ratio = p.divergence.perplexityRatio
                let text = "\(t.rawValue) ×\(num(ratio, 3))"
                return ratio > 1.10 ? "<span class=\"warn\">\(text)</span>" : text
            }
            if !parts.isEmpty { sentences.append("with \(k) dropped: " + parts.joined(separator: ", ")) }
        }
        if !sentences.isEmpty {
            h += "<p class=\"lead\">Perplexity \(sentences.joined(separator: "; ")) (<span class=\"warn\">more than ×1.10</span> marked).</p>\n"
        }
        if let b = baseline {
            h += "<p class=\"note\">Perplexity of the model as loaded: \(num(b.divergence.perplexityOriginal, 5)) on \(b.divergence.tokens) predicted tokens in \(b.divergence.windows) windows. "
            h += "Ratios above 1 mean the dropped model predicts the held-out text worse; KL is the mean KL(original ‖ dropped) of the next-token distributions.</p>\n"
        }
    }

    func series(_ value: (SweepPoint) -> Double?, error: (SweepPoint) -> Double? = { _ in nil }, metric: ImportanceMetric? = nil) -> [ChartSeries] {
        r.settings.targets.map { t in
            ChartSeries(name: t.rawValue, points: points(metric ?? primary, t).compactMap { p in
                value(p).map { ChartPoint(x: Double(p.count), y: $0, error: error(p), tip: tip(p)) }
            }, style: Self.style(t))
        }
    }

    func figure(_ chart: SVGChart, _ caption: String) -> String {
        "<figure>\(chart.svg())<figcaption>\(caption)</figcaption></figure>\n"
    }

    var countTicks: [Double]? {
        guard let top = counts.max(), top <= 40 else { return nil }
        let step = top > 20 ? 2 : 1
        return stride(from: 0, through: top, by: step).map(Double.init)
    }

    mutating func quality() {
        h += "<h2>Quality as more modules are dropped</h2>\n"
        h += "<p class=\"note\">One line per target, modules chosen by <b>\(primary.rawValue)</b>\(r.settings.iterative ? " (iterative)" : ""); measured on \(e(r.settings.heldOut)). Hover a point for its plan.</p>\n<div class=\"figs\">\n"
        let ratios = r.points.filter { $0.metric == primary }.map(\.divergence.perplexityRatio)
        var c = SVGChart(title: "Perplexity ratio (dropped ÷ original)", xLabel: "modules dropped (count)", yLabel: "perplexity ratio (×, \(scale(ratios, factor: 3) == .log ? "log scale" : "linear"))",
                         series: series { $0.divergence.perplexityRatio })
        c.yScale = scale(ratios, factor: 3)
        c.xTicks = countTicks
        c.reference = (1, "no change")
        h += figure(c, "Held-out perplexity of the dropped model divided by the original's; 1 = no loss.")
        let kls = r.points.filter { $0.metric == primary }.map(\.divergence.meanKL)
        var k = SVGChart(title: "KL divergence from the original", xLabel: "modules dropped (count)", yLabel: "mean KL(original ‖ dropped), nats",
                         series: series({ $0.divergence.meanKL }, error: { $0.divergence.klStderr }))
        k.yScale = scale(kls, factor: 30)
        k.xTicks = countTicks
        h += figure(k, "Mean KL divergence of the next-token distributions per predicted token (± standard error)\(k.yScale == .log ? "; log scale, so count 0 (KL = 0) is not drawn" : "").")
        var a = SVGChart(title: "Top-1 agreement with the original", xLabel: "modules dropped (count)", yLabel: "same top-1 token (%)",
                         series: series { 100 * $0.divergence.top1Agreement })
        a.xTicks = countTicks
        a.yInclude = [100]
        h += figure(a, "Share of held-out positions where the dropped model's most likely next token is the original's.")
        for path in r.settings.tasks {
            var t = SVGChart(title: "\(taskName(path)) accuracy", xLabel: "modules dropped (count)", yLabel: "accuracy (%)",
                             series: series({ $0.tasks[path].map { 100 * $0.acc } }, error: { $0.tasks[path]?.accStderr.map { 100 * $0 } }))
            t.xTicks = countTicks
            let n = baseline?.tasks[path]?.n
            h += figure(t, "Zero-shot accuracy on \(e(taskName(path)))\(n.map { " (\($0) items)" } ?? ""), error bars ± one standard error.")
        }
        if let g = r.settings.needle {
            var n = SVGChart(title: "Pass-key retrieval", xLabel: "modules dropped (count)", yLabel: "keys retrieved (%)",
                             series: series { $0.needle.map { 100 * $0.accuracy } })
            n.xTicks = countTicks
            n.yInclude = [0, 100]
            let lengths = baseline?.needle?.lengths ?? g.lengths
            h += figure(n, "Long-context retrieval (llm-drop needle): a 5-digit pass key hidden in filler at depths \(g.depths.map { num($0) + " %" }.joined(separator: ", ")) of prompts of \(lengths.map(String.init).joined(separator: ", ")) tokens, \(g.trials) trial\(g.trials == 1 ? "" : "s") per cell, greedy, exact match. Perplexity can stay flat while this falls.")
        }
        h += "</div>\n"
    }

    mutating func metricComparison() {
        let metrics = r.settings.metrics
        guard metrics.count > 1 else { return }
        h += "<h2>Which metric chooses better on this model</h2>\n"
        h += "<p class=\"note\">The same targets and counts, modules chosen by each metric: "
        h += metrics.map { "<b>\($0.rawValue)</b> — \(e($0.summary))" }.joined(separator: "; ") + ".</p>\n<div class=\"figs\">\n"
        for t in r.settings.targets {
            let s = metrics.map { m in
                ChartSeries(name: m.rawValue, points: points(m, t).map { ChartPoint(x: Double($0.count), y: $0.divergence.perplexityRatio, tip: tip($0)) }, style: Self.style(m))
            }
            let values = metrics.flatMap { points($0, t).map(\.divergence.perplexityRatio) }
            var c = SVGChart(title: "\(t.rawValue): perplexity ratio by metric", xLabel: "\(t.rawValue) modules dropped (count)", yLabel: "perplexity ratio (×)", series: s)
            c.yScale = scale(values, factor: 3)
            c.xTicks = countTicks
            c.reference = (1, "no change")
            h += figure(c, "Lower is better: the metric whose line stays lowest picked the modules that matter least.")
        }
        h += "</div>\n<h3>Lowest perplexity ratio at each count</h3>\n<table><tr><th>count</th>"
        for t in r.settings.targets { h += "<th>\(t.rawValue)</th>" }
        h += "</tr>\n"
        for k in counts where k > 0 {
            h += "<tr><td>\(k)</td>"
            for t in r.settings.targets {
                if let b = SweepReport.bestMetric(r, target: t, count: k) {
                    let tied = metrics.filter { r.point(metric: $0, target: t, count: k)?.divergence.perplexityRatio == b.ratio }
                    h += "<td>\(tied.map(\.rawValue).joined(separator: " = ")) ×\(num(b.ratio, 4))</td>"
                } else { h += "<td>–</td>" }
            }
            h += "</tr>\n"
        }
        h += "</table>\n"
    }

    mutating func layerScores() {
        h += "<h2>Per-layer scores</h2>\n"
        h += "<p class=\"note\">Each metric's value for the attention and MLP sublayers and the whole block of every layer, on the model as loaded (the paper's layer-wise figure for cosine). "
        h += "A missing point is a sublayer the model does not compute.</p>\n<div class=\"figs\">\n"
        for m in r.settings.metrics {
            guard let s = r.scores(m) else { continue }
            let kinds: [(String, [Double?], Int)] = [("attention", s.attention, 0), ("MLP", s.mlp, 1), ("block", s.block, 2)]
            let chartSeries = kinds.compactMap { name, values, style -> ChartSeries? in
                let pts = values.enumerated().compactMap { l, v in v.map { ChartPoint(x: Double(l), y: $0, tip: "layer \(l) \(name): \(m.rawValue) \(num($0, 5))") } }
                return pts.isEmpty ? nil : ChartSeries(name: name, points: pts, style: style)
            }
            let all = chartSeries.flatMap { $0.points.map(\.y) }
            var c = SVGChart(title: "\(m.rawValue) per layer", xLabel: "layer", yLabel: m.quantity, series: chartSeries)
            c.yScale = m == .cosine ? .linear : scale(all, factor: 30)
            c.xTicks = (0..<s.layerCount).map(Double.init)
            let order = m.highMeansRedundant ? "higher = more redundant, dropped first" : "lower = more redundant, dropped first"
            h += figure(c, "\(e(m.summary.prefix(1).uppercased() + m.summary.dropFirst())). \(order); \(s.tokens) \(m == .kl ? "predicted positions" : "calibration tokens").")
            if m == .cosine {
                // The ranking is decided close to 1: the same values as importance 1 − cos on a log axis.
                let importance = chartSeries.map { sr in
                    ChartSeries(name: sr.name, points: sr.points.compactMap { p in
                        1 - p.y > 0 ? ChartPoint(x: p.x, y: 1 - p.y, tip: "layer \(Int(p.x)) \(sr.name): 1 − cos = \(num(1 - p.y, 4))") : nil
                    }, style: sr.style)
                }
                var i = SVGChart(title: "importance 1 − cosine per layer", xLabel: "layer", yLabel: "1 − cos(X, X + F) (log scale)", series: importance)
                i.yScale = .log
                i.xTicks = c.xTicks
                h += figure(i, "The same scores as importance, 1 − similarity, on a log axis, where the differences that decide the ranking show; lower = dropped first.")
            }
        }
        h += "</div>\n"
    }

    mutating func dropStrips() {
        h += "<h2>Which layers are dropped</h2>\n"
        h += "<p class=\"note\">One row per count: the layers whose attention (upper half of a cell) or MLP (lower half) the plan removes; a whole dropped block fills both halves.</p>\n"
        h += SVGDropStrip.legend() + "\n"
        for m in r.settings.metrics {
            h += "<h3>\(m.rawValue)</h3>\n<div class=\"figs\">\n"
            for t in r.settings.targets {
                let ps = points(m, t).filter { $0.count > 0 }
                guard !ps.isEmpty else { continue }
                let cells = ps.map { p in
                    (0..<r.model.layers).map { l -> (attention: Bool, mlp: Bool) in
                        let block = p.droppedBlocks.contains(l)
                        let loadA = r.model.loadPlan?.droppedAttention.contains(l) ?? false, loadM = r.model.loadPlan?.droppedMLP.contains(l) ?? false
                        let loadB = r.model.loadPlan?.droppedBlocks.contains(l) ?? false
                        return ((block || p.droppedAttention.contains(l)) && !(loadA || loadB), (block || p.droppedMLP.contains(l)) && !(loadM || loadB))
                    }
                }
                let strip = SVGDropStrip(title: "\(t.rawValue) (\(m.rawValue))", rowLabels: ps.map { "\($0.count) dropped" }, cells: cells)
                h += "<figure>\(strip.svg())</figure>\n"
            }
            h += "</div>\n"
        }
    }

    mutating func tradeOffs() {
        h += "<h2>What it buys: speed, KV cache and weights against quality</h2>\n"
        guard let b = baseline else { h += "<p>Needs the count-0 point.</p>\n"; return }
        let ctx = b.cost.context
        h += "<p class=\"note\">Analytic figures from the model's shapes (matrix-product FLOPs per generated token with \(ctx) tokens of context; "
        h += "weights read per token as stored in the file; f32 KV cache). Points of every target chosen by <b>\(primary.rawValue)</b>; "
        h += "the Pareto front (ringed, grey) holds the plans no other plan beats on both axes.</p>\n<div class=\"figs\">\n"
        let ps = r.settings.targets.flatMap { points(primary, $0) }
        func chart(_ title: String, _ xLabel: String, _ x: @escaping (SweepPoint) -> Double, xScale: AxisScale = .linear) -> SVGChart {
            let s = r.settings.targets.map { t in
                ChartSeries(name: t.rawValue, points: points(primary, t).map { ChartPoint(x: x($0), y: $0.divergence.perplexityRatio, tip: tip($0)) },
                            style: Self.style(t), connect: true)
            }
            var c = SVGChart(title: title, xLabel: xLabel, yLabel: "perplexity ratio (×)", series: s)
            c.front = SVGChart.paretoFront(ps.map { ChartPoint(x: x($0), y: $0.divergence.perplexityRatio, tip: tip($0)) })
            c.yScale = scale(ps.map(\.divergence.perplexityRatio), factor: 3)
            c.reference = (1, "no change")
            c.xScale = xScale
            return c
        }
        h += figure(chart("Quality vs analytic speed-up", "FLOPs per token, original ÷ dropped (×)", { b.cost.flopsPerToken / $0.cost.flopsPerToken }),
                    "Upper bound on the speed-up of a compute-bound step; decode on a CPU is closer to the weight-bytes ratio.")
        h += figure(chart("Quality vs KV-cache saving", "KV cache saved (%)", { 100 * (1 - Double($0.cost.kvCacheBytesPerToken) / Double(max(b.cost.kvCacheBytesPerToken, 1))) }),
                    "Dropping attention (alone or in blocks) removes its KV cache; dropping MLPs saves none.")
        h += figure(chart("Quality vs weights read per token", "weight bytes saved (%)", { 100 * (1 - Double($0.cost.weightBytesPerToken) / Double(max(b.cost.weightBytesPerToken, 1))) }),
                    "Share of the bytes of weights a decode step reads that the plan removes (memory-bound decode speed-up ≈ 1 ÷ (1 − saving)).")
        if !r.speed.isEmpty {
            let measured = r.speed.filter { $0.count > 0 }
            let speedSeries = r.settings.targets.map { t in
                ChartSeries(name: t.rawValue, points: measured.filter { $0.target == t }.compactMap { s in
                    guard let p = r.points.first(where: { $0.planKey == s.planKey }) else { return nil }
                    return ChartPoint(x: s.decodeSpeedup ?? s.prefillSpeedup, y: p.divergence.perplexityRatio,
                                      tip: "\(t.rawValue), \(s.count) dropped: decode ×\(num(s.decodeSpeedup ?? .nan)), prefill ×\(num(s.prefillSpeedup)), perplexity ×\(num(p.divergence.perplexityRatio, 4))")
                }, style: Self.style(t))
            }
            let loaded = ChartSeries(name: "as loaded", points: [ChartPoint(x: 1, y: 1, tip: "the model as loaded")], style: 5, connect: false)
            var c = SVGChart(title: "Quality vs measured decode speed-up", xLabel: "decode tokens/s, dropped ÷ original (×)", yLabel: "perplexity ratio (×)",
                             series: speedSeries + [loaded])
            c.front = SVGChart.paretoFront(speedSeries.flatMap(\.points) + loaded.points)
            c.reference = (1, "no change")
            c.yScale = scale(speedSeries.flatMap { $0.points.map(\.y) }, factor: 3)
            h += figure(c, "Measured on this machine, all variants interleaved in one benchmark (\(e(r.settings.speedArguments.joined(separator: " ")))).")
        }
        h += "</div>\n"
        if !r.speed.isEmpty {
            h += "<h3>Measured speed</h3>\n<table><tr><th class=\"l\">plan</th><th>prefill tok/s (\(r.speed[0].promptTokens) tokens)</th><th>×</th><th>decode tok/s</th><th>×</th><th>KV cache</th></tr>\n"
            for s in r.speed {
                let name = s.target.map { "\($0.rawValue), \(s.count) dropped" } ?? "model as loaded"
                h += "<tr><td>\(name)</td><td>\(String(format: "%.1f", s.prefillTokensPerSecond))</td><td>\(num(s.prefillSpeedup))</td>"
                h += "<td>\(s.decodeTokensPerSecond.map { String(format: "%.1f", $0) } ?? "–")</td><td>\(s.decodeSpeedup.map { num($0) } ?? "–")</td><td>\(bytes(s.kvCacheBytes))</td></tr>\n"
            }
            h += "</table>\n"
        }
    }

    mutating func allPoints() {
        h += "<h2>Every point</h2>\n<details open><summary>\(r.points.count) grid points</summary>\n<table><tr><th class=\"l\">metric</th><th class=\"l\">target</th><th>count</th><th class=\"l\">dropped layers</th>"
        h += "<th>perplexity ×</th><th>KL (nats)</th><th>top-1</th>"
        for path in r.settings.tasks { h += "<th>\(e(taskName(path))) acc</th>" }
        if r.settings.needle != nil { h += "<th>pass key</th>" }
        h += "<th>KV cache / token</th><th>GFLOPs / token</th><th>weights / token</th><th>s</th></tr>\n"
        for p in r.points {
            h += "<tr><td class=\"l\">\(p.metric.rawValue)</td><td class=\"l\">\(p.target.rawValue)</td><td>\(p.count)</td><td class=\"l\">\(e(planText(p)))</td>"
            h += "<td>\(num(p.divergence.perplexityRatio, 4))</td><td>\(num(p.divergence.meanKL)) ± \(num(p.divergence.klStderr, 2))</td><td>\(pct(p.divergence.top1Agreement))</td>"
            for path in r.settings.tasks {
                h += "<td>" + (p.tasks[path].map { t in "\(num(t.acc)) ± \(t.accStderr.map { num($0, 2) } ?? "–")" } ?? "–") + "</td>"
            }
            if r.settings.needle != nil { h += "<td>" + (p.needle.map { "\($0.correct)/\($0.total)" } ?? "–") + "</td>" }
            h += "<td>\(bytes(p.cost.kvCacheBytesPerToken))</td><td>\(num(p.cost.flopsPerToken / 1e9, 4))</td><td>\(bytes(p.cost.weightBytesPerToken))</td>"
            h += "<td>\(String(format: "%.1f", p.seconds))</td></tr>\n"
        }
        h += "</table></details>\n"
    }

    func shell(_ args: [String]) -> String {
        args.map { a in
            a.isEmpty ? "''" : a.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=,+@%".contains($0) }) ? a : "'" + a.replacingOccurrences(of: "'", with: ##"'\''"##) + "'"
        }.joined(separator: " ")
    }

    /// `llm-drop drop` arguments that choose point `p`'s plan.
    func dropArguments(_ p: SweepPoint) -> [String] {
        var a = ["llm-drop", "drop", r.model.path, "--target", p.target.rawValue, "--count", "\(p.count)"]
        if p.metric != .cosine { a += ["--metric", p.metric.rawValue] }
        if p.metric == .kl, let k = r.settings.klSamples { a += ["--kl-samples", "\(k)"] }
        if r.settings.iterative { a.append("--iterative") }
        if let s = r.settings.scoresFile, p.metric == .cosine { a += ["--scores", s] } else { a += r.settings.calibrationArguments }
        if let plan = r.model.loadPlan, plan.droppedAttention.count + plan.droppedMLP.count + plan.droppedBlocks.count > 0 { a += ["--drop-plan", "LOAD-PLAN.json"] }
        return a
    }

    mutating func reproduce() {
        h += "<h2>Reproduce</h2>\n<p class=\"note\">The sweep (rerunning it resumes from its saved state):</p>\n<pre>\(e(r.settings.command))</pre>\n"
        h += "<p class=\"note\">Each point with separate commands: <code>drop</code> chooses the plan (add <code>--output FILE.gguf</code> to write the pruned model), "
        h += "<code>kld</code> measures it on the same held-out windows.\(r.model.loadPlan != nil ? " The model was loaded with a drop plan; pass it as LOAD-PLAN.json." : "")</p>\n"
        h += "<details><summary>Commands for every point</summary>\n"
        var seen = Set<String>()
        for p in r.points where p.count > 0 {
            let id = "\(p.metric.rawValue)-\(p.target.rawValue)-\(p.count)"
            guard seen.insert(id).inserted else { continue }
            let stem = URL(fileURLWithPath: r.model.name).deletingPathExtension().lastPathComponent
            let plan = "plan-\(id).json"
            var lines = ["## \(p.metric.rawValue), \(p.target.rawValue), \(p.count) dropped: \(planText(p)); perplexity ×\(num(p.divergence.perplexityRatio, 4))"]
            lines.append(shell(dropArguments(p) + ["--plan-out", plan]))
            lines.append(shell(["llm-drop", "kld", r.model.path, "--drop-plan", plan] + r.settings.heldOutArguments))
            lines.append(shell(dropArguments(p) + ["--output", "\(stem)-\(id).gguf"]))
            h += "<pre>\(e(lines.joined(separator: "\n")))</pre>\n"
        }
        h += "</details>\n"
    }

    mutating func facts() {
        let m = r.model
        h += "<h2>Model, calibration and settings</h2>\n<table>\n"
        func row(_ k: String, _ v: String) -> String { "<tr><td class=\"l\">\(e(k))</td><td class=\"l\">\(e(v))</td></tr>\n" }
        func perLayer(_ v: [Int]) -> String { Set(v).count == 1 ? "\(v[0])" : v.map(String.init).joined(separator: ", ") }
        h += row("file", m.path)
        h += row("architecture", m.architecture)
        h += row("layers", "\(m.layers)")
        h += row("hidden size", "\(m.hiddenSize)")
        h += row("query heads / KV heads / head dim", "\(perLayer(m.heads)) / \(perLayer(m.kvHeads)) / \(m.headDim)")
        h += row("MLP width", perLayer(m.ffnLength))
        h += row("vocabulary", "\(m.vocabularySize)\(m.tiedEmbeddings ? " (tied embeddings)" : "")")
        h += row("context length", "\(m.contextLength)")
        let sliding = m.slidingWindow.filter { $0 > 0 }
        if !sliding.isEmpty { h += row("sliding-window layers", "\(sliding.count) of \(m.layers), window \(Set(sliding).sorted().map(String.init).joined(separator: ", "))") }
        h += row("parameters", "\(m.parameters)")
        h += row("file size", bytes(m.fileBytes))
        h += row("fingerprint", m.fingerprint)
        if let p = m.loadPlan { h += row("plan applied at load", "attention \(p.droppedAttention), MLP \(p.droppedMLP), blocks \(p.droppedBlocks)") }
        if let b = baseline {
            h += row("per token (\(b.cost.context) tokens of context)", "\(num(b.cost.flopsPerToken / 1e9, 4)) GFLOPs, \(bytes(b.cost.weightBytesPerToken)) of weights, \(bytes(b.cost.kvCacheBytesPerToken)) of KV cache")
        }
        h += row("calibration", r.settings.calibration + (r.settings.klSamples.map { "; kl on the first \($0) samples" } ?? ""))
        h += row("convention", r.settings.residual ? "residual: cos(X, X + F(Norm X))" : "no residual: cos(Norm X, F(Norm X))")
        h += row("held-out text", r.settings.heldOut)
        if !r.settings.tasks.isEmpty { h += row("tasks", r.settings.tasks.joined(separator: ", ") + (r.settings.taskLimit.map { " (\($0) items each)" } ?? "")) }
        h += row("targets / counts", "\(r.settings.targets.map(\.rawValue).joined(separator: ", ")) / \(r.settings.counts.map(String.init).joined(separator: ", "))")
        let t = r.timings
        var time = t.scoring.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.0f", $0.value)) s" }
        if t.heldOut > 0 { time.append(String(format: "held-out text %.0f s", t.heldOut)) }
        time.append(String(format: "grid points %.0f s", t.evaluation))
        if t.speed > 0 { time.append(String(format: "speed %.0f s", t.speed)) }
        h += row("time", time.joined(separator: ", ") + String(format: "; total %.0f s (%.1f min)", t.total, t.total / 60))
        h += "</table>\n"
    }
}
