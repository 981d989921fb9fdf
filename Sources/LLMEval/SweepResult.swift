// What a sweep records: the settings, each metric's per-layer scores and drop order, and for every
// (metric, target, count) the plan and its measurements — divergence and perplexity on held-out text,
// task accuracy, analytic cost — plus measured speed at a few counts. The same JSON is the sweep's
// output and its resumable state: it is rewritten after every grid point, and a rerun with the same
// `key` (model fingerprint + settings that change results) skips what it holds.
import Foundation
import LLMDrop
import LLMFormats
import LLMModels

public struct SweepSettings: Sendable, Codable, Equatable {
    public var targets: [DropTarget]
    public var counts: [Int]
    public var metrics: [ImportanceMetric]
    public var iterative: Bool
    /// Cosine and angular in the residual convention (true) or cos(Norm X, F(Norm X)).
    public var residual: Bool
    /// The calibration in words, and the `llm-drop` options that rebuild it.
    public var calibration: String
    public var calibrationArguments: [String]
    /// Calibration samples the kl metric runs on (nil: all).
    public var klSamples: Int?
    /// The held-out windows in words, and the `llm-drop kld` options that rebuild them.
    public var heldOut: String
    public var heldOutArguments: [String]
    public var tasks: [String]
    public var taskLimit: Int?
    /// Pass-key retrieval grid measured at every point (`--needle`; nil: not measured).
    public var needle: NeedleGrid?
    /// Counts at which speed is measured (empty: not measured), and the `bench` options used.
    public var speedCounts: [Int]
    public var speedArguments: [String]
    /// Context length the analytic FLOPs and KV-cache bytes are stated at.
    public var costContext: Int
    /// Saved cosine scores reused instead of scoring (`--scores`).
    public var scoresFile: String?
    /// The command line that ran the sweep, for the report.
    public var command: String

    enum CodingKeys: String, CodingKey {
        case targets, counts, metrics, iterative, residual, calibration, tasks, command, needle
        case calibrationArguments = "calibration_arguments", klSamples = "kl_samples", heldOut = "held_out"
        case heldOutArguments = "held_out_arguments", taskLimit = "task_limit", speedCounts = "speed_counts"
        case speedArguments = "speed_arguments", costContext = "cost_context", scoresFile = "scores_file"
    }

    public init(targets: [DropTarget], counts: [Int], metrics: [ImportanceMetric], iterative: Bool = false, residual: Bool = true,
                calibration: String, calibrationArguments: [String], klSamples: Int? = nil, heldOut: String, heldOutArguments: [String],
                tasks: [String] = [], taskLimit: Int? = nil, needle: NeedleGrid? = nil, speedCounts: [Int] = [], speedArguments: [String] = [],
                costContext: Int, scoresFile: String? = nil, command: String = "") {
        self.targets = targets
        self.counts = counts
        self.metrics = metrics
        self.iterative = iterative
        self.residual = residual
        self.calibration = calibration
        self.calibrationArguments = calibrationArguments
        self.klSamples = klSamples
        self.heldOut = heldOut
        self.heldOutArguments = heldOutArguments
        self.tasks = tasks
        self.taskLimit = taskLimit
        self.needle = needle
        self.speedCounts = speedCounts
        self.speedArguments = speedArguments
        self.costContext = costContext
        self.scoresFile = scoresFile
        self.command = command
    }

    /// What a grid point's measurements depend on besides the model: the held-out text, the tasks and
    /// the needle grid (not the calibration, the metric or the counts — a plan measures the same however
    /// it was chosen).
    var measurementDefining: String {
        var parts = [heldOutArguments.joined(separator: " "), tasks.joined(separator: ","), "limit=\(taskLimit.map(String.init) ?? "all")"]
        if let g = needle { parts.append("needle=\(g.lengths)\(g.depths)\(g.trials)/\(g.seed)") }
        return parts.joined(separator: "|")
    }

    /// What a metric's scores and drop orders depend on: the calibration and how it is scored.
    func selectionDefining(_ metric: ImportanceMetric) -> String {
        var parts = [metric.rawValue, calibrationArguments.joined(separator: " "), "iterative=\(iterative)"]
        if metric == .cosine || metric == .angular { parts.append("residual=\(residual)") }
        if metric == .cosine, let scoresFile { parts.append("scores=\(scoresFile)") }
        if metric == .kl { parts.append("kl=\(klSamples.map(String.init) ?? "all")") }
        return parts.joined(separator: "|")
    }
}

/// The facts of the swept model, for the report.
public struct SweepModelFacts: Sendable, Codable, Equatable {
    public var name: String
    public var path: String
    public var architecture: String
    public var layers: Int
    public var hiddenSize: Int
    public var heads: [Int]
    public var kvHeads: [Int]
    public var headDim: Int
    public var ffnLength: [Int]
    public var vocabularySize: Int
    public var contextLength: Int
    /// Sliding-window size per layer (0 = global attention).
    public var slidingWindow: [Int]
    public var tiedEmbeddings: Bool
    public var parameters: Int
    public var fileBytes: Int
    public var fingerprint: String
    /// Removals applied at load (`--drop-plan`), on top of which the sweep drops.
    public var loadPlan: DropPlan?

    enum CodingKeys: String, CodingKey {
        case name, path, architecture, layers, heads, fingerprint, parameters
        case hiddenSize = "hidden_size", kvHeads = "kv_heads", headDim = "head_dim", ffnLength = "ffn_length"
        case vocabularySize = "vocabulary_size", contextLength = "context_length", slidingWindow = "sliding_window"
        case tiedEmbeddings = "tied_embeddings", fileBytes = "file_bytes", loadPlan = "load_plan"
    }

    public init(model: LanguageModel, path: String, loadPlan: DropPlan? = nil) {
        let c = model.config
        name = URL(fileURLWithPath: path).lastPathComponent
        self.path = path
        architecture = c.architecture.rawValue
        layers = c.layerCount
        hiddenSize = c.hiddenSize
        heads = c.heads
        kvHeads = c.kvHeads
        headDim = c.headDim
        ffnLength = c.ffnLength
        vocabularySize = c.vocabularySize
        contextLength = c.contextLength
        slidingWindow = c.slidingWindow
        tiedEmbeddings = c.tiedEmbeddings
        parameters = model.source.tensors.reduce(0) { $0 + $1.elementCount }
        fileBytes = model.source.storageBytes
        fingerprint = ModelFingerprint.of(model.source, plan: model.plan)
        self.loadPlan = loadPlan
    }
}

/// A module in a drop order, with its metric value when it was chosen.
public struct SweepModule: Sendable, Codable, Equatable {
    public var kind: String
    public var layer: Int
    public var value: Double

    public init(_ module: Module, value: Double) {
        kind = module.kind.rawValue
        layer = module.layer
        self.value = value
    }

    public var module: Module? { Module.Kind(rawValue: kind).map { Module(kind: $0, layer: layer) } }
}

/// The order in which one metric drops one target's modules: the plan at count K removes the first K.
public struct SweepSelection: Sendable, Codable, Equatable {
    public var metric: ImportanceMetric
    public var target: DropTarget
    public var iterative: Bool
    public var modules: [SweepModule]
    /// Identifies the model, calibration and scoring settings the order was made with.
    public var key: String

    public init(metric: ImportanceMetric, target: DropTarget, iterative: Bool, modules: [SweepModule], key: String = "") {
        self.metric = metric
        self.target = target
        self.iterative = iterative
        self.modules = modules
        self.key = key
    }
}

/// One grid point: a plan and its measurements.
public struct SweepPoint: Sendable, Codable, Equatable {
    public var metric: ImportanceMetric
    public var target: DropTarget
    public var count: Int
    /// Removals relative to the loaded model (layer indices of the file).
    public var droppedAttention: [Int]
    public var droppedMLP: [Int]
    public var droppedBlocks: [Int]
    public var divergence: DivergenceResult
    /// Task results by task file path.
    public var tasks: [String: TaskResult]
    /// Pass-key retrieval with the settings' needle grid (nil: not measured).
    public var needle: SweepNeedle?
    public var cost: PlanCost
    /// Seconds spent measuring this plan (0 when the plan equals an earlier point's).
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case metric, target, count, divergence, tasks, needle, cost, seconds
        case droppedAttention = "dropped_attention", droppedMLP = "dropped_mlp", droppedBlocks = "dropped_blocks"
    }

    public init(metric: ImportanceMetric, target: DropTarget, count: Int, plan: LayerPlan, divergence: DivergenceResult,
                tasks: [String: TaskResult], needle: SweepNeedle? = nil, cost: PlanCost, seconds: Double) {
        self.metric = metric
        self.target = target
        self.count = count
        droppedAttention = plan.droppedAttention
        droppedMLP = plan.droppedMLP
        droppedBlocks = plan.droppedBlocks
        self.divergence = divergence
        self.tasks = tasks
        self.needle = needle
        self.cost = cost
        self.seconds = seconds
    }

    /// The removals as a plan record (for `--drop-plan` files).
    public var dropPlan: DropPlan {
        DropPlan(droppedAttention: droppedAttention, droppedMLP: droppedMLP, droppedBlocks: droppedBlocks,
                 target: target.rawValue, method: nil)
    }

    /// Identifies the removals: points with equal keys have equal measurements.
    public var planKey: String { "a\(droppedAttention)m\(droppedMLP)b\(droppedBlocks)" }
}

/// Pass-key retrieval of one plan over a needle grid: overall and by length (lengths over the model's
/// context are not measured).
public struct SweepNeedle: Sendable, Codable, Equatable {
    public var correct: Int
    public var total: Int
    public var accuracy: Double
    public var lengths: [Int]
    public var accuracyByLength: [Double]

    enum CodingKeys: String, CodingKey {
        case correct, total, accuracy, lengths
        case accuracyByLength = "accuracy_by_length"
    }

    public init(_ r: NeedleResult) {
        (correct, total, accuracy) = (r.correct, r.total, r.accuracy)
        lengths = r.grid.lengths.filter { !r.skippedLengths.contains($0) }
        accuracyByLength = lengths.map { n in
            let cells = r.cells.filter { $0.length == n }
            let trials = cells.reduce(0) { $0 + $1.trials }
            return trials == 0 ? 0 : Double(cells.reduce(0) { $0 + $1.correct }) / Double(trials)
        }
    }
}

/// Measured speed of one plan, from one interleaved benchmark of every measured plan and the model.
public struct SweepSpeedPoint: Sendable, Codable, Equatable {
    public var target: DropTarget?
    public var count: Int
    public var metric: ImportanceMetric?
    public var droppedAttention: [Int]
    public var droppedMLP: [Int]
    public var droppedBlocks: [Int]
    public var promptTokens: Int
    public var prefillTokensPerSecond: Double
    public var decodeTokensPerSecond: Double?
    /// Ratios to the model as loaded (> 1: faster).
    public var prefillSpeedup: Double
    public var decodeSpeedup: Double?
    public var kvCacheBytes: Int
    public var peakRSSBytes: Int

    enum CodingKeys: String, CodingKey {
        case target, count, metric
        case droppedAttention = "dropped_attention", droppedMLP = "dropped_mlp", droppedBlocks = "dropped_blocks"
        case promptTokens = "prompt_tokens", prefillTokensPerSecond = "prefill_tokens_per_second"
        case decodeTokensPerSecond = "decode_tokens_per_second", prefillSpeedup = "prefill_speedup"
        case decodeSpeedup = "decode_speedup", kvCacheBytes = "kv_cache_bytes", peakRSSBytes = "peak_rss_bytes"
    }

    public init(target: DropTarget?, count: Int, metric: ImportanceMetric?, droppedAttention: [Int], droppedMLP: [Int], droppedBlocks: [Int],
                promptTokens: Int, prefillTokensPerSecond: Double, decodeTokensPerSecond: Double?, prefillSpeedup: Double,
                decodeSpeedup: Double?, kvCacheBytes: Int, peakRSSBytes: Int) {
        self.target = target
        self.count = count
        self.metric = metric
        self.droppedAttention = droppedAttention
        self.droppedMLP = droppedMLP
        self.droppedBlocks = droppedBlocks
        self.promptTokens = promptTokens
        self.prefillTokensPerSecond = prefillTokensPerSecond
        self.decodeTokensPerSecond = decodeTokensPerSecond
        self.prefillSpeedup = prefillSpeedup
        self.decodeSpeedup = decodeSpeedup
        self.kvCacheBytes = kvCacheBytes
        self.peakRSSBytes = peakRSSBytes
    }

    public var planKey: String { "a\(droppedAttention)m\(droppedMLP)b\(droppedBlocks)" }
}

public struct SweepTimings: Sendable, Codable, Equatable {
    /// Seconds per scoring pass kind ("calibration", "cosine", "kl", …), summed over runs.
    public var scoring: [String: Double] = [:]
    public var heldOut: Double = 0
    public var evaluation: Double = 0
    public var speed: Double = 0
    /// Wall time of all runs that built this result.
    public var total: Double = 0

    enum CodingKeys: String, CodingKey { case scoring, evaluation, speed, total, heldOut = "held_out" }

    public init() {}
}

public struct SweepResult: Sendable, Codable, Equatable {
    public static let formatVersion = 1
    public var version = SweepResult.formatVersion
    /// Model fingerprint and the settings measurements depend on: a rerun reuses measured plans only
    /// with the same key (and drop orders only with the same selection key, `SweepSelection.key`).
    public var key: String
    public var model: SweepModelFacts
    public var settings: SweepSettings
    /// Each metric's per-layer values on the loaded model (the layer-wise figure), and the selection
    /// key each was computed under (by metric name).
    public var scores: [ModuleScores]
    public var scoreKeys: [String: String]
    public var selections: [SweepSelection]
    public var points: [SweepPoint]
    public var speed: [SweepSpeedPoint]
    /// The `bench` options `speed` was measured with (a rerun with others measures again).
    public var speedArguments: [String]
    public var timings: SweepTimings
    /// True once every grid point (and speed, when asked) is measured.
    public var complete: Bool
    /// The held-out windows the points were measured on (token ids), kept so that a resumed sweep
    /// does not generate or read them again.
    public var heldOutWindows: [[Int]]?
    /// The calibration samples (token ids) and the calibration they were made by (`calibrationKey`).
    public var calibrationSamples: [[Int]]?
    public var calibrationKey: String?

    public init(key: String, model: SweepModelFacts, settings: SweepSettings) {
        self.key = key
        self.model = model
        self.settings = settings
        scores = []
        scoreKeys = [:]
        selections = []
        points = []
        speed = []
        speedArguments = []
        timings = SweepTimings()
        complete = false
    }

    public func point(metric: ImportanceMetric, target: DropTarget, count: Int) -> SweepPoint? {
        points.first { $0.metric == metric && $0.target == target && $0.count == count }
    }

    public func scores(_ metric: ImportanceMetric) -> ModuleScores? { scores.first { $0.metric == metric } }

    public func selection(_ metric: ImportanceMetric, _ target: DropTarget) -> SweepSelection? {
        selections.first { $0.metric == metric && $0.target == target && $0.iterative == settings.iterative }
    }

    /// The loaded model's measurements (count 0), if any point has them.
    public var baseline: SweepPoint? { points.first { $0.count == 0 } }

    // MARK: - Files

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> SweepResult {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(SweepResult.self, from: data)
    }

    /// A saved sweep at `path`, or nil when there is none or it is not one this version reads.
    public static func load(path: String) -> SweepResult? {
        guard let data = FileManager.default.contents(atPath: path), let r = try? decode(data), r.version == formatVersion else { return nil }
        return r
    }

    /// One row per grid point: the plan, divergence, perplexity, task accuracy, cost and measured speed.
    public func csv() -> String {
        let taskPaths = settings.tasks
        var header = ["metric", "target", "count", "dropped_attention", "dropped_mlp", "dropped_blocks", "mean_kl", "kl_stderr",
                      "top1_agreement", "perplexity_original", "perplexity_dropped", "perplexity_ratio", "tokens",
                      "kv_cache_bytes_per_token", "kv_cache_bytes_at_context", "flops_per_token", "weight_bytes_per_token", "cost_context"]
        for t in taskPaths { let n = TaskFile.name(of: t); header += ["\(n)_acc", "\(n)_acc_stderr", "\(n)_acc_norm"] }
        if settings.needle != nil { header += ["needle_accuracy", "needle_correct", "needle_trials"] }
        header += ["prefill_speedup", "decode_speedup"]
        func list(_ v: [Int]) -> String { v.map(String.init).joined(separator: " ") }
        func num(_ d: Double?) -> String { d.map { String(format: "%.9g", $0) } ?? "" }
        var lines = [header.joined(separator: ",")]
        for p in points {
            let d = p.divergence
            var row = [p.metric.rawValue, p.target.rawValue, "\(p.count)", list(p.droppedAttention), list(p.droppedMLP), list(p.droppedBlocks),
                       num(d.meanKL), num(d.klStderr), num(d.top1Agreement), num(d.perplexityOriginal), num(d.perplexityDropped),
                       num(d.perplexityRatio), "\(d.tokens)", "\(p.cost.kvCacheBytesPerToken)", "\(p.cost.kvCacheBytes)",
                       num(p.cost.flopsPerToken), "\(p.cost.weightBytesPerToken)", "\(p.cost.context)"]
            for t in taskPaths {
                let r = p.tasks[t]
                row += [num(r?.acc), num(r?.accStderr), num(r?.accNorm)]
            }
            if settings.needle != nil { row += [num(p.needle?.accuracy), p.needle.map { "\($0.correct)" } ?? "", p.needle.map { "\($0.total)" } ?? ""] }
            let s = speed.first { $0.planKey == p.planKey }
            row += [num(s?.prefillSpeedup), num(s?.decodeSpeedup)]
            lines.append(row.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

extension SweepResult {
    /// The result of one `run` (score → drop → measure) as a two-point sweep — the model as loaded and
    /// the plan — so that `run --report out.html` draws the same report.
    public static func single(model: LanguageModel, path: String, plan: LayerPlan, target: DropTarget, count: Int,
                              scores: SimilarityScores, residual: Bool, divergence: DivergenceResult,
                              tasks: [String: BeforeAfter<TaskResult>], speed: [SpeedRun], settings: SweepSettings) -> SweepResult {
        let facts = SweepModelFacts(model: model, path: path)
        var r = SweepResult(key: facts.fingerprint, model: facts, settings: settings)
        let metric = settings.metrics.first ?? .cosine
        r.scores = [ModuleScores(scores.convention(residual: residual))]
        let dropped = (try? model.removing(plan))?.plan ?? plan
        let removed = (0..<plan.layerCount).flatMap { l -> [Module] in
            let a = model.plan.attention[l] && !dropped.attention[l], m = model.plan.mlp[l] && !dropped.mlp[l]
            if target == .block && a && m || (a && m && target != .joint) { return [Module(kind: .block, layer: l)] }
            return (a ? [Module(kind: .attention, layer: l)] : []) + (m ? [Module(kind: .mlp, layer: l)] : [])
        }
        let cosine = ModuleScores(scores.convention(residual: residual))
        r.selections = [SweepSelection(metric: metric, target: target, iterative: settings.iterative,
                                       modules: removed.map { SweepModule($0, value: cosine.value($0) ?? .nan) })]
        let identity = DivergenceResult(meanKL: 0, klStderr: 0, top1Agreement: 1, perplexityOriginal: divergence.perplexityOriginal,
                                        perplexityDropped: divergence.perplexityOriginal, perplexityRatio: 1,
                                        tokens: divergence.tokens, windows: divergence.windows)
        func cost(_ p: LayerPlan) -> PlanCost { PlanCost.of(config: model.config, source: model.source, plan: p, context: settings.costContext) }
        r.points = [
            SweepPoint(metric: metric, target: target, count: 0, plan: model.plan, divergence: identity,
                       tasks: tasks.mapValues(\.original), cost: cost(model.plan), seconds: 0),
            SweepPoint(metric: metric, target: target, count: count, plan: dropped, divergence: divergence,
                       tasks: tasks.mapValues(\.dropped), cost: cost(dropped), seconds: 0),
        ]
        // Speed: the original's and the dropped model's runs at the first prompt length.
        if let prompt = speed.first?.promptTokens,
           let a = speed.first(where: { $0.plan == nil && $0.promptTokens == prompt }),
           let b = speed.first(where: { $0.plan != nil && $0.promptTokens == prompt }) {
            func point(_ s: SpeedRun, _ p: LayerPlan, _ k: Int) -> SweepSpeedPoint {
                SweepSpeedPoint(target: k == 0 ? nil : target, count: k, metric: k == 0 ? nil : metric,
                                droppedAttention: p.droppedAttention, droppedMLP: p.droppedMLP, droppedBlocks: p.droppedBlocks,
                                promptTokens: prompt, prefillTokensPerSecond: s.prefillTokensPerSecond,
                                decodeTokensPerSecond: s.decodeTokensPerSecond,
                                prefillSpeedup: s.prefillTokensPerSecond / a.prefillTokensPerSecond,
                                decodeSpeedup: s.decodeTokensPerSecond.flatMap { d in a.decodeTokensPerSecond.map { d / $0 } },
                                kvCacheBytes: s.kvCacheBytes, peakRSSBytes: s.peakRSSBytes)
            }
            r.speed = [point(a, model.plan, 0), point(b, dropped, count)]
        }
        r.complete = true
        return r
    }
}
