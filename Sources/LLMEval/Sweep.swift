// The trade-off grid: for every importance metric, target and count, the plan that metric chooses
// and what it costs — KL divergence, top-1 agreement and perplexity on held-out windows, task
// accuracy, analytic FLOPs / weight bytes / KV cache — and, at a few counts, measured speed.
// Scores once per metric (one activation pass serves cosine, angular and relative-norm; kl runs one
// pass per module), takes each target's drop order up to the largest count (a one-shot ranking, or
// one iterative run whose first K steps are the plan at K), then measures each distinct plan once.
// The result is saved after every grid point, so an interrupted sweep resumes where it stopped.
import Foundation
import LLMDrop
import LLMModels

public enum SweepError: Error, Equatable, CustomStringConvertible {
    case countTooLarge(count: Int, target: DropTarget, available: Int)
    case noCounts
    case negativeCount(Int)
    case invalidCounts(String)
    case unknownTarget(String)
    case scoresNeedOneShot

    public var description: String {
        switch self {
        case .countTooLarge(let k, let t, let n):
            return "--counts goes up to \(k), but the model has \(n) \(t.rawValue) module\(n == 1 ? "" : "s") left to drop and at least one must stay; use counts up to \(max(n - 1, 0)) for --targets \(t.rawValue)"
        case .noCounts: return "--counts lists no count; pass e.g. 0:16:2 (start:end:step) or 0,2,4,8"
        case .negativeCount(let k): return "--counts has \(k); counts are numbers of modules to drop, 0 or more"
        case .invalidCounts(let s): return "--counts '\(s)' is not start:end:step (e.g. 0:16:2) nor a comma-separated list of counts (e.g. 0,2,4,8)"
        case .unknownTarget(let t): return "unknown target '\(t)'; choose from \(DropTarget.allCases.map(\.rawValue).joined(separator: ", ")) (comma-separated)"
        case .scoresNeedOneShot: return "--scores holds one scoring of the model, but --iterative re-scores after each removal; drop --scores or --iterative"
        }
    }
}

public enum SweepGrid {
    /// "0:16:2" (start:end:step, end included) or "0,2,4,8": sorted, without repeats.
    public static func counts(_ text: String) throws -> [Int] {
        let t = text.trimmingCharacters(in: .whitespaces)
        var out: [Int] = []
        if t.contains(":") {
            let parts = t.split(separator: ":", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2 || parts.count == 3, let a = parts[0], let b = parts[1] else { throw SweepError.invalidCounts(text) }
            let step = parts.count == 3 ? parts[2] : 1
            guard let step, step >= 1, a <= b else { throw SweepError.invalidCounts(text) }
            out = Array(stride(from: a, through: b, by: step))
        } else {
            for p in t.split(separator: ",") {
                guard let k = Int(p.trimmingCharacters(in: .whitespaces)) else { throw SweepError.invalidCounts(text) }
                out.append(k)
            }
        }
        guard !out.isEmpty else { throw SweepError.noCounts }
        if let bad = out.first(where: { $0 < 0 }) { throw SweepError.negativeCount(bad) }
        return Array(Set(out)).sorted()
    }

    /// "attention,mlp" → targets, in the order given, without repeats.
    public static func targets(_ text: String) throws -> [DropTarget] {
        var out: [DropTarget] = []
        for p in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let t = DropTarget(rawValue: p) else { throw SweepError.unknownTarget(p) }
            if !out.contains(t) { out.append(t) }
        }
        guard !out.isEmpty else { throw SweepError.unknownTarget(text) }
        return out
    }

    /// Every count must leave at least one module of each target (as `drop` requires).
    public static func validate(counts: [Int], targets: [DropTarget], plan: LayerPlan) throws {
        guard let top = counts.max() else { throw SweepError.noCounts }
        for t in targets {
            let n = Selection.available(t, plan: plan)
            if top >= n { throw SweepError.countTooLarge(count: top, target: t, available: n) }
        }
    }

    /// Speed counts by default: the smallest non-zero count, the middle one and the largest.
    public static func defaultSpeedCounts(_ counts: [Int]) -> [Int] {
        let nonzero = counts.filter { $0 > 0 }
        guard let first = nonzero.first, let last = nonzero.last else { return [] }
        return Array(Set([first, nonzero[nonzero.count / 2], last])).sorted()
    }
}

/// How a sweep reports progress (all optional).
public struct SweepObserver {
    /// A line of news ("scoring cosine", "resuming: 12 of 40 points saved").
    public var log: (String) -> Void
    /// Before a scoring pass: what it is; returns a (done, total) callback for it.
    public var scoring: (String) -> ((Int, Int) -> Void)?
    /// After each grid point: where the grid stands (see `SweepProgress`).
    public var point: (SweepProgress) -> Void
    /// Progress of the held-out text / speed phases, as a label.
    public var phase: (String) -> ((Int, Int) -> Void)?

    public init(log: @escaping (String) -> Void = { _ in }, scoring: @escaping (String) -> ((Int, Int) -> Void)? = { _ in nil },
                point: @escaping (SweepProgress) -> Void = { _ in },
                phase: @escaping (String) -> ((Int, Int) -> Void)? = { _ in nil }) {
        self.log = log
        self.scoring = scoring
        self.point = point
        self.phase = phase
    }
}

/// Where a sweep's grid stands after one point.
public struct SweepProgress: Sendable {
    /// Grid points done (measured or reused) and in the grid.
    public var done: Int
    public var total: Int
    /// Distinct plans still to measure (the rest of the grid repeats plans already measured).
    public var toMeasure: Int
    public var point: SweepPoint
    /// Seconds this point took to measure; 0 when its plan was measured before.
    public var seconds: Double
}

public final class SweepRunner {
    public let model: LanguageModel
    public let modelPath: String
    public let settings: SweepSettings
    public let facts: SweepModelFacts
    /// Scores read from a file for a metric (one-shot only), used instead of scoring.
    public let givenScores: [ModuleScores]
    /// The calibration set; called at most once, and only when something still needs scoring.
    let calibrationSource: () throws -> CalibrationSet
    /// The held-out windows; called at most once, and only when a point still needs measuring.
    let windowsSource: () throws -> [[Int]]
    let tasks: [TaskFile]
    /// Measures speed of the variants (the loaded model first) interleaved; nil: no speed.
    let speed: (([BenchVariant]) throws -> [SpeedRun])?

    private var calibrationCache: CalibrationSet?
    private var windowsCache: [[Int]]?
    private var scorerCache: MetricScorer?
    private let reference = ReferenceStates()

    public init(model: LanguageModel, modelPath: String, settings: SweepSettings, loadPlan: DropPlan? = nil,
                givenScores: [ModuleScores] = [], tasks: [TaskFile] = [],
                calibration: @escaping () throws -> CalibrationSet, windows: @escaping () throws -> [[Int]],
                speed: (([BenchVariant]) throws -> [SpeedRun])? = nil) throws {
        try SweepGrid.validate(counts: settings.counts, targets: settings.targets, plan: model.plan)
        if settings.iterative && !givenScores.isEmpty { throw SweepError.scoresNeedOneShot }
        self.model = model
        self.modelPath = modelPath
        self.settings = settings
        facts = SweepModelFacts(model: model, path: modelPath, loadPlan: loadPlan)
        self.givenScores = givenScores
        self.tasks = tasks
        calibrationSource = calibration
        windowsSource = windows
        self.speed = speed
    }

    /// Model fingerprint (file and load plan) and the settings measurements depend on, hashed.
    public var key: String { Self.hash(facts.fingerprint, settings.measurementDefining) }

    /// Model fingerprint and the settings `metric`'s scores and drop orders depend on, hashed.
    public func selectionKey(_ metric: ImportanceMetric) -> String { Self.hash(facts.fingerprint, settings.selectionDefining(metric)) }

    static func hash(_ fingerprint: String, _ settings: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (fingerprint + "|" + settings).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return fingerprint + "-" + String(h, radix: 16)
    }

    private func calibration() throws -> CalibrationSet {
        if let c = calibrationCache { return c }
        let c = try timed { try calibrationSource() } record: { self.timings.scoring["calibration", default: 0] += $0 }
        calibrationCache = c
        return c
    }

    private func windows() throws -> [[Int]] {
        if let w = windowsCache { return w }
        let w = try timed { try windowsSource() } record: { self.timings.heldOut += $0 }
        windowsCache = w
        return w
    }

    private func scorer(_ observer: SweepObserver) throws -> MetricScorer {
        if let s = scorerCache { return s }
        let s = MetricScorer(model: model, calibration: try calibration(), residual: settings.residual, klSamples: settings.klSamples) { what, plan in
            let removed = plan.attention.filter { !$0 }.count + plan.mlp.filter { !$0 }.count
            return observer.scoring(what == "kl" ? "kl: one forward per module" + (removed > 0 ? " (\(removed) sublayers removed)" : "")
                                                 : "activations" + (removed > 0 ? " (\(removed) sublayers removed)" : ""))
        }
        scorerCache = s
        return s
    }

    private var timings = SweepTimings()

    private func timed<T>(_ body: () throws -> T, record: (Double) -> Void) rethrows -> T {
        let clock = ContinuousClock(), t0 = clock.now
        defer { record((clock.now - t0) / .seconds(1)) }
        return try body()
    }

    /// Runs the grid, resuming from `previous` when its key matches; `save` gets the result after every
    /// step (write it atomically). Returns the complete result.
    public func run(previous: SweepResult? = nil, observer: SweepObserver = SweepObserver(),
                    save: (SweepResult) throws -> Void = { _ in }) throws -> SweepResult {
        let clock = ContinuousClock(), started = clock.now
        var result: SweepResult
        if let previous, previous.key == key {
            result = previous
            result.settings = settings
            result.model = facts
            result.complete = false
            timings = previous.timings
            let orders = previous.selections.filter { $0.key == selectionKey($0.metric) }.count
            observer.log("resuming: \(previous.points.count) grid points and \(orders) drop orders saved")
        } else {
            if previous != nil { observer.log("the saved sweep was made with another model or other settings; starting afresh") }
            result = SweepResult(key: key, model: facts, settings: settings)
        }
        // Token ids saved by an earlier run with the same settings are reused as they are.
        let calibrationKey = Self.hash(facts.fingerprint, settings.calibrationArguments.joined(separator: " "))
        if windowsCache == nil, let w = result.heldOutWindows { windowsCache = w }
        if calibrationCache == nil, result.calibrationKey == calibrationKey, let c = result.calibrationSamples {
            calibrationCache = CalibrationSet(samples: c, source: settings.calibration, sampling: "saved")
        }
        let runStartTotal = timings.total
        func persist() throws {
            timings.total = runStartTotal + (clock.now - started) / .seconds(1)
            result.timings = timings
            if result.heldOutWindows == nil, let w = windowsCache { result.heldOutWindows = w }
            if let c = calibrationCache, result.calibrationKey != calibrationKey || result.calibrationSamples == nil {
                result.calibrationSamples = c.samples
                result.calibrationKey = calibrationKey
            }
            try save(result)
        }
        func finish() throws -> SweepResult {
            result.complete = true
            try persist()
            return result
        }
        let top = settings.counts.max() ?? 0
        let base = model.plan

        // 1. Scores and drop orders per metric.
        for metric in settings.metrics {
            let given = givenScores.first { $0.metric == metric }
            let kinds = settings.targets.reduce(into: Set<Module.Kind>()) { $0.formUnion(Module.Kind.ranked(by: $1)) }
            let selectionKey = self.selectionKey(metric)
            let needOrder = settings.targets.filter { t in
                guard let s = result.selection(metric, t), s.key == selectionKey else { return true }
                return s.modules.count < top
            }
            let haveScores = result.scoreKeys[metric.rawValue] == selectionKey
                && (result.scores(metric).map { s in kinds.allSatisfy { k in (0..<s.layerCount).contains { s.value(Module(kind: k, layer: $0)) != nil } } } ?? false)
            if needOrder.isEmpty && haveScores { continue }
            observer.log("scoring: \(metric.rawValue)" + (given != nil ? " (from \(settings.scoresFile ?? "file"))" : ""))
            try timed({
                let scores: ModuleScores
                if let given { scores = given } else { scores = try scorer(observer).scores(metric, plan: base, kinds: kinds) }
                result.scores.removeAll { $0.metric == metric }
                result.scores.append(scores)
                result.scoreKeys[metric.rawValue] = selectionKey
                for t in needOrder {
                    let order: [(module: Module, value: Double)]
                    if let given {
                        order = Array(given.ranking(target: t, plan: base).prefix(top))
                    } else {
                        order = try scorer(observer).order(metric, target: t, count: top, plan: base, iterative: settings.iterative) { step, m, v in
                            if self.settings.iterative { observer.log(String(format: "%@ %@ step %d: drop %@ %d (%.5g)", metric.rawValue, t.rawValue, step, m.kind.rawValue, m.layer, v)) }
                        }
                    }
                    result.selections.removeAll { $0.metric == metric && $0.target == t && $0.iterative == settings.iterative }
                    result.selections.append(SweepSelection(metric: metric, target: t, iterative: settings.iterative,
                                                            modules: order.map { SweepModule($0.module, value: $0.value) }, key: selectionKey))
                }
            }, record: { self.timings.scoring[metric.rawValue, default: 0] += $0 })
            try persist()
        }

        // 2. The grid: every distinct plan measured once.
        var grid: [(ImportanceMetric, DropTarget, Int, LayerPlan)] = []
        for metric in settings.metrics {
            for t in settings.targets {
                let modules = result.selection(metric, t)!.modules.compactMap(\.module)
                for k in settings.counts {
                    grid.append((metric, t, k, modules.prefix(k).reduce(base) { Selection.removing($1, from: $0) }))
                }
            }
        }
        var measured: [String: SweepPoint] = [:]
        for p in result.points where p.tasks.count == settings.tasks.count { measured[p.planKey] = measured[p.planKey] ?? p }
        var points: [SweepPoint] = []
        var pending = Set(grid.map { Self.planKey($0.3) }).subtracting(measured.keys)
        let saved = grid.filter { g in result.point(metric: g.0, target: g.1, count: g.2).map { $0.planKey == Self.planKey(g.3) } ?? false }.count
        if saved > 0 && saved < grid.count { observer.log("\(saved) of \(grid.count) grid points already measured") }
        for (i, (metric, t, k, plan)) in grid.enumerated() {
            let key = Self.planKey(plan)
            var point: SweepPoint
            var seconds = 0.0
            if let m = measured[key] {
                point = m
                point.seconds = 0
            } else {
                let w = try windows()
                let t0 = clock.now
                let dropped = try model.removing(plan)
                let divergence = try DivergenceEvaluator(original: model, dropped: dropped).evaluate(windows: w, reference: reference)
                var taskResults: [String: TaskResult] = [:]
                for task in tasks { taskResults[task.path] = try TaskEvaluator(model: dropped).evaluate(task).result }
                let needle = try settings.needle.map { SweepNeedle(try NeedleEvaluator.evaluate(model: dropped, grid: $0)) }
                seconds = (clock.now - t0) / .seconds(1)
                timings.evaluation += seconds
                point = SweepPoint(metric: metric, target: t, count: k, plan: plan, divergence: divergence, tasks: taskResults, needle: needle,
                                   cost: PlanCost.of(config: model.config, source: model.source, plan: dropped.plan, context: settings.costContext),
                                   seconds: seconds)
                measured[key] = point
            }
            point.metric = metric
            point.target = t
            point.count = k
            points.append(point)
            // Keep earlier saved points of other grids (e.g. other counts) after this grid's.
            result.points = points + result.points.filter { old in !points.contains { $0.metric == old.metric && $0.target == old.target && $0.count == old.count } }
                .filter { old in settings.metrics.contains(old.metric) && settings.targets.contains(old.target) && settings.counts.contains(old.count) }
            if seconds > 0 { try persist() }
            pending.remove(key)
            observer.point(SweepProgress(done: i + 1, total: grid.count, toMeasure: pending.count, point: point, seconds: seconds))
        }
        result.points = points

        // 3. Speed at a few counts, every measured plan and the model interleaved in one benchmark.
        if let speed, !settings.speedCounts.isEmpty {
            let metric = settings.metrics[0]
            var variants = [BenchVariant(model: model, name: facts.name, plan: nil)]
            var meta: [(DropTarget, Int, LayerPlan)] = []
            for t in settings.targets {
                for k in settings.speedCounts where k > 0 && settings.counts.contains(k) {
                    guard let p = result.point(metric: metric, target: t, count: k) else { continue }
                    let plan = try LayerPlan.full(layers: model.layerCount).removing(attention: p.droppedAttention, mlp: p.droppedMLP, blocks: p.droppedBlocks)
                    if meta.contains(where: { Self.planKey($0.2) == Self.planKey(plan) }) { continue }
                    meta.append((t, k, plan))
                    variants.append(BenchVariant(model: try model.removing(plan), name: facts.name, plan: "\(t.rawValue) \(k)"))
                }
            }
            let have = Set(result.speed.map(\.planKey)), need = Set(meta.map { Self.planKey($0.2) })
            if result.speedArguments == settings.speedArguments && need.isSubset(of: have) { return try finish() }
            observer.log("speed: \(variants.count) variants (the model and \(variants.count - 1) plans), interleaved")
            let runs = try timed({ try speed(variants) }, record: { self.timings.speed += $0 })
            result.speed = Self.speedPoints(runs, variants: variants, meta: meta, metric: metric)
            result.speedArguments = settings.speedArguments
            try persist()
        }
        return try finish()
    }

    static func planKey(_ p: LayerPlan) -> String { "a\(p.droppedAttention)m\(p.droppedMLP)b\(p.droppedBlocks)" }

    static func speedPoints(_ runs: [SpeedRun], variants: [BenchVariant], meta: [(DropTarget, Int, LayerPlan)], metric: ImportanceMetric) -> [SweepSpeedPoint] {
        guard let prompt = runs.first?.promptTokens else { return [] }
        // Runs come variant by variant, each with every prompt length; the first length has decode.
        let perVariant = runs.count / max(variants.count, 1)
        let first = (0..<variants.count).map { runs[$0 * perVariant] }
        let base = first[0]
        return first.enumerated().map { i, r in
            let plan = i == 0 ? variants[0].model.plan : meta[i - 1].2
            let decodeSpeedup: Double? = r.decodeTokensPerSecond.flatMap { d in base.decodeTokensPerSecond.map { d / $0 } }
            return SweepSpeedPoint(target: i == 0 ? nil : meta[i - 1].0, count: i == 0 ? 0 : meta[i - 1].1, metric: i == 0 ? nil : metric,
                                   droppedAttention: plan.droppedAttention, droppedMLP: plan.droppedMLP, droppedBlocks: plan.droppedBlocks,
                                   promptTokens: prompt, prefillTokensPerSecond: r.prefillTokensPerSecond,
                                   decodeTokensPerSecond: r.decodeTokensPerSecond,
                                   prefillSpeedup: r.prefillTokensPerSecond / base.prefillTokensPerSecond,
                                   decodeSpeedup: decodeSpeedup, kvCacheBytes: r.kvCacheBytes, peakRSSBytes: r.peakRSSBytes)
        }
    }
}
