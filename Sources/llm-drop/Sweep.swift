// `llm-drop sweep MODEL --targets attention,mlp,block --counts 0:16:2 --report report.html`: the
// trade-off at a glance — for every importance metric, target and count, the plan and what it costs
// (divergence, perplexity, task accuracy, analytic FLOPs / weights / KV cache, measured speed at a few
// counts) — as a self-contained HTML report, JSON and CSV. Saves after every point; a rerun resumes.
import ArgumentParser
import Foundation
import LLMDrop
import LLMEval
import LLMFormats
import LLMModels

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop 0…K modules of each kind with each importance metric and measure every point: a self-contained HTML report of the trade-off.",
        discussion: """
            Scores once per metric, takes each target's drop order up to the largest count (one-shot, or one iterative \
            run whose first K steps give the plan at K), then measures each distinct plan on held-out text: KL divergence, \
            top-1 agreement and perplexity against the model as loaded, task accuracy with --tasks, analytic FLOPs, weight \
            bytes and KV cache per token, with --needle pass-key retrieval accuracy (long context), and with --speed the \
            measured prefill/decode speed at a few counts. \
            Metrics: cosine (the paper's similarity), angular (arccos(cos)/π, Gromov et al.), relative-norm \
            (‖branch output‖ / ‖residual‖), kl (KL divergence with only that module removed; one forward per module). \
            Results are saved after every point (to --json, or REPORT.sweep.json next to the report); running the same \
            command again resumes, and --fresh starts over.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "What to drop, comma-separated: attention, mlp, block, joint.")
    var targets = "attention,mlp,block"

    @Option(help: "Counts of modules to drop: start:end:step (end included), or a comma-separated list (default: 0 to half the layers).")
    var counts: String?

    @Flag(help: "Re-score after each removal (the plan at K is the first K steps of one iterative run).")
    var iterative = false

    @Option(help: "Importance metrics, comma-separated: cosine, angular, relative-norm, kl, or all. The first is the report's main one.")
    var metric = "cosine"

    @Option(help: "Calibration samples the kl metric runs on (default: all): it runs the model once per module.")
    var klSamples: Int?

    @OptionGroup var calibrationOptions: CalibrationOptions

    @Option(help: "Reuse cosine scores saved by `llm-drop score --output` instead of scoring (one-shot only).")
    var scores: String?

    @Option(help: "Held-out text for divergence and perplexity (plain, JSON array of {\"text\"}, or JSONL), or `self` for text the model generates.")
    var data = "self"

    @Option(help: "Window length of the held-out text, tokens.")
    var context = 256

    @Option(help: "Held-out windows (with --data self: how many to generate).")
    var maxWindows = 16

    @Option(help: "Seed of the held-out text with --data self (default: the calibration seed + 1000003, as `run` uses).")
    var dataSeed: UInt64?

    @Option(parsing: .upToNextOption, help: "Task files (JSONL: mc, winogrande or cloze) for accuracy at every point.")
    var tasks: [String] = []

    @Option(help: "Items per task.")
    var limit: Int?

    @OptionGroup var needle: NeedleGridOptions

    @Flag(help: "Also measure prefill and decode speed at a few counts (all plans and the model interleaved).")
    var speed = false

    @Option(help: "Counts at which --speed measures, comma-separated (default: the smallest non-zero, middle and largest).")
    var speedCounts: String?

    @OptionGroup var speedOptions: SpeedOptions

    @Option(help: "Context length the analytic attention FLOPs and KV-cache bytes are stated at (default: --context).")
    var costContext: Int?

    @Option(help: "Write the HTML report here.")
    var report: String

    @Option(help: "Write the results as JSON here (also the resumable state, rewritten after every point).")
    var json: String?

    @Option(help: "Write one CSV row per grid point here.")
    var csv: String?

    @Flag(help: "Ignore saved results and measure every point again.")
    var fresh = false

    func validate() throws {
        _ = try SweepGrid.targets(targets)
        if let counts { _ = try SweepGrid.counts(counts) }
        if let speedCounts { _ = try SweepGrid.counts(speedCounts) }
        if let k = klSamples, k < 1 { throw ValidationError("--kl-samples must be at least 1 (got \(k))") }
        guard context >= 2 else { throw ValidationError("--context must be at least 2 (got \(context))") }
        guard maxWindows >= 1 else { throw ValidationError("--max-windows must be at least 1 (got \(maxWindows))") }
        if let c = costContext, c < 1 { throw ValidationError("--cost-context must be at least 1 (got \(c))") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1 (got \(limit))") }
        if scores != nil && iterative { throw ValidationError(SweepError.scoresNeedOneShot.description) }
        let metrics = try ImportanceMetric.list(metric)
        if scores != nil && calibrationOptions.calibration != nil && !metrics.contains(where: { $0 != .cosine }) {
            throw ValidationError("pass either --scores or --calibration, not both")
        }
        if let scores, !FileManager.default.fileExists(atPath: scores) { throw ValidationError(ScoresFileError.notFound(scores).description) }
        if data != "self" && !FileManager.default.fileExists(atPath: data) { throw ValidationError("held-out text file '\(data)' does not exist; pass a text file or --data self") }
        for t in tasks where !FileManager.default.fileExists(atPath: t) { throw ValidationError("task file '\(t)' does not exist") }
        try validateOutputPath(report, what: "--report")
        if let json { try validateOutputPath(json, what: "--json") }
        if let csv { try validateOutputPath(csv, what: "--csv") }
    }

    /// Where the resumable state lives: --json, or REPORT.sweep.json beside the report.
    var statePath: String {
        if let json { return json }
        let url = URL(fileURLWithPath: report)
        return url.deletingPathExtension().path + ".sweep.json"
    }

    func run() throws {
        let targetList = try SweepGrid.targets(targets)
        let metrics = try ImportanceMetric.list(metric)
        // Everything that can be checked without the weights, before any work.
        let file = try ModelSources.open(path: modelOptions.model)
        let config = try ModelConfig(source: file)
        var loadPlan = try config.filePlan(file)
        if let p = modelOptions.dropPlan { loadPlan = loadPlan.intersected(with: try PlanFile.load(path: p, layers: config.layerCount)) }
        let countList = try counts.map(SweepGrid.counts) ?? defaultCounts(targetList, plan: loadPlan, layers: config.layerCount)
        try SweepGrid.validate(counts: countList, targets: targetList, plan: loadPlan)
        guard context <= config.contextLength else { throw ValidationError("--context \(context) exceeds the model's context length \(config.contextLength)") }
        guard calibrationOptions.seqLen <= config.contextLength else {
            throw ValidationError("--seq-len \(calibrationOptions.seqLen) exceeds the model's context length \(config.contextLength)")
        }
        let speedList = speed ? try speedCounts.map(SweepGrid.counts) ?? SweepGrid.defaultSpeedCounts(countList) : []
        if let bad = speedList.first(where: { !countList.contains($0) }) {
            throw ValidationError("--speed-counts has \(bad), which is not one of --counts (\(countList.map(String.init).joined(separator: ",")))")
        }
        if speed { for n in speedOptions.lengths where n + speedOptions.genTokens > config.contextLength {
            throw ModelError.contextOverflow(tokens: n + speedOptions.genTokens, contextLength: config.contextLength)
        } }
        let taskFiles = try tasks.map { try TaskFile(path: $0, limit: limit) }

        let (original, removals) = try modelOptions.loadOriginal()
        let base = try original.removing(removals ?? .full(layers: original.layerCount))
        try needle.check(base)
        try needle.noteSkipped(contextLength: config.contextLength)
        var given: [ModuleScores] = []
        if let scores {
            let f = try ScoresFile.load(path: scores, expectedFingerprint: ModelFingerprint.of(base.source, plan: base.plan))
            given = [ModuleScores(f.similarityScores)]
        }

        var calibration = calibrationOptions
        if calibration.calibration == nil { calibration.calibration = "self" }
        let heldSeed = dataSeed ?? calibrationOptions.seed &+ 1_000_003
        let (calibrationText, calibrationArgs) = calibration.reproduction()
        let (heldText, heldArgs) = heldOutReproduction(data: data, context: context, maxWindows: maxWindows, seed: heldSeed)
        let settings = SweepSettings(
            targets: targetList, counts: countList, metrics: metrics, iterative: iterative, residual: !calibration.noResidual,
            calibration: scores.map { "cosine scores from \($0)" + (metrics.contains { $0 != .cosine } ? "; \(calibrationText)" : "") } ?? calibrationText,
            calibrationArguments: calibrationArgs, klSamples: klSamples, heldOut: heldText, heldOutArguments: heldArgs,
            tasks: tasks, taskLimit: limit, needle: needle.enabled ? try needle.grid() : nil, speedCounts: speedList,
            speedArguments: speed ? ["--prompt-tokens", speedOptions.promptTokens, "--gen-tokens", "\(speedOptions.genTokens)",
                                     "--repetitions", "\(speedOptions.repetitions)", "--threads", "\(modelOptions.threads)"] : [],
            costContext: costContext ?? context, scoresFile: scores,
            command: shellCommandLine())

        let runner = try SweepRunner(
            model: base, modelPath: modelOptions.model, settings: settings,
            loadPlan: removals.map { DropPlan($0, target: "load", method: "given") }, givenScores: given, tasks: taskFiles,
            calibration: {
                Log.info("calibration: \(calibrationText)")
                return try calibration.load(for: base)
            },
            windows: {
                Log.info("held-out text: \(heldText)")
                return try comparisonWindows(model: base, data: data, context: context, maxWindows: maxWindows, seed: heldSeed)
            },
            speed: speed ? { variants in try speedOptions.measure(variants) } : nil)

        let previous = fresh ? nil : SweepResult.load(path: statePath)
        let clock = ContinuousClock(), start = clock.now
        var measuredSeconds: [Double] = []
        var lastPartialReport = clock.now
        let observer = SweepObserver(
            log: { Log.info($0) },
            scoring: { what in
                var bar: ProgressBar?
                return { done, total in
                    if bar == nil { bar = ProgressBar("scoring \(what)", total: total, layers: true) }
                    bar?.update(done)
                }
            },
            point: { progress in
                let p = progress.point, seconds = progress.seconds
                if seconds > 0 { measuredSeconds.append(seconds) }
                let mean = measuredSeconds.isEmpty ? 0 : measuredSeconds.reduce(0, +) / Double(measuredSeconds.count)
                let line = String(format: "sweep %d/%d  %@ %@ %d: perplexity ×%.4f, KL %.4f, top-1 %.1f %%%@  elapsed %@  ETA %@ (%d plans to measure)",
                                  progress.done, progress.total, p.metric.rawValue, p.target.rawValue, p.count, p.divergence.perplexityRatio,
                                  p.divergence.meanKL, 100 * p.divergence.top1Agreement,
                                  seconds > 0 ? String(format: " (%.0f s)", seconds) : " (plan measured before)",
                                  Self.duration((clock.now - start) / .seconds(1)), Self.duration(mean * Double(progress.toMeasure)), progress.toMeasure)
                Log.info(line)
            })
        let result = try runner.run(previous: previous, observer: observer) { partial in
            try AtomicFile.write(try partial.jsonData(), to: statePath)
            // A partial report now and then, so a long sweep can be looked at while it runs.
            if clock.now - lastPartialReport > .seconds(30) {
                try AtomicFile.write(Data(SweepReport.html(partial).utf8), to: report)
                lastPartialReport = clock.now
            }
        }
        try AtomicFile.write(Data(SweepReport.html(result).utf8), to: report)
        if let csv { try AtomicFile.write(Data(result.csv().utf8), to: csv) }
        printSummary(result)
        print("report: \(report)" + (json.map { "\njson:   \($0)" } ?? "\nstate:  \(statePath)") + (csv.map { "\ncsv:    \($0)" } ?? ""))
        Log.info("sweep finished in \(Self.duration((clock.now - start) / .seconds(1))) (all runs: \(Self.duration(result.timings.total)))")
    }

    func defaultCounts(_ targets: [DropTarget], plan: LayerPlan, layers: Int) -> [Int] {
        let cap = targets.map { Selection.available($0, plan: plan) - 1 }.min() ?? 0
        let top = max(0, min(layers / 2, cap))
        let step = top >= 12 ? 2 : 1
        return Array(stride(from: 0, through: top, by: step))
    }

    func printSummary(_ r: SweepResult) {
        let metrics = r.settings.metrics
        var rows = [["target", "count"] + metrics.map { "ppl × (\($0.rawValue))" } + ["KL (\(metrics[0].rawValue))", "top-1", "KV saved", "FLOPs saved"]]
        let base = r.baseline
        for t in r.settings.targets {
            for k in r.settings.counts {
                guard let p = r.point(metric: metrics[0], target: t, count: k) else { continue }
                var row = [t.rawValue, "\(k)"]
                for m in metrics { row.append(r.point(metric: m, target: t, count: k).map { String(format: "%.4f", $0.divergence.perplexityRatio) } ?? "-") }
                row.append(String(format: "%.4f", p.divergence.meanKL))
                row.append(String(format: "%.1f %%", 100 * p.divergence.top1Agreement))
                if let b = base {
                    row.append(String(format: "%.1f %%", 100 * (1 - Double(p.cost.kvCacheBytesPerToken) / Double(max(b.cost.kvCacheBytesPerToken, 1)))))
                    row.append(String(format: "%.1f %%", 100 * (1 - p.cost.flopsPerToken / b.cost.flopsPerToken)))
                } else { row += ["-", "-"] }
                rows.append(row)
            }
        }
        print(Format.table(rows))
    }

    static func duration(_ s: Double) -> String {
        s < 90 ? String(format: "%.0f s", s) : s < 5400 ? String(format: "%.1f min", s / 60) : String(format: "%.1f h", s / 3600)
    }

}

/// The command line as typed, shell-quoted, for reports.
func shellCommandLine() -> String {
    (["llm-drop"] + CommandLine.arguments.dropFirst()).map { a in
        a.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=,+@%".contains($0) }) && !a.isEmpty ? a : "'" + a.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }.joined(separator: " ")
}

extension CalibrationOptions {
    /// The calibration in words, and the options that rebuild it (calibration set; self when unset).
    func reproduction() -> (text: String, arguments: [String]) {
        let cal = calibration ?? "self"
        var args = ["--calibration", cal, "--samples", "\(samples)", "--seq-len", "\(seqLen)"]
        args += cal == "self" ? ["--seed", "\(seed)"] : ["--sampling", sampling.rawValue]
        if noResidual { args.append("--no-residual") }
        let text = cal == "self"
            ? "\(samples) samples of \(seqLen) tokens generated by the model (seed \(seed))"
            : "\(samples) samples of \(seqLen) tokens from \(cal) (\(sampling.rawValue))"
        return (text, args)
    }
}

/// The held-out windows in words, and the `kld` options that rebuild them.
func heldOutReproduction(data: String, context: Int, maxWindows: Int?, seed: UInt64) -> (text: String, arguments: [String]) {
    var args = ["--data", data, "--context", "\(context)"]
    if let maxWindows { args += ["--max-windows", "\(maxWindows)"] }
    if data == "self" { args += ["--seed", "\(seed)"] }
    let n = maxWindows ?? ComparisonWindows.defaultSelfWindows
    let text = data == "self" ? "\(n) windows of \(context) tokens generated by the model (seed \(seed))"
        : "\(maxWindows.map { "up to \($0)" } ?? "all") windows of \(context) tokens of \(data)"
    return (text, args)
}

/// `run --report out.html`: the run drawn as a two-point sweep (the model as loaded and the plan).
func writeRunHTML(_ r: DropReport, scores: SimilarityScores, plan: LayerPlan, base: LanguageModel, target: DropTarget, count: Int,
                  iterative: Bool, calibration: CalibrationOptions, data: String?, context: Int, maxWindows: Int?, to path: String) throws {
    guard let divergence = r.divergence else { return }
    let (calibrationText, calibrationArgs) = calibration.reproduction()
    let (heldText, heldArgs) = heldOutReproduction(data: data ?? "self", context: context, maxWindows: maxWindows,
                                                   seed: calibration.seed &+ 1_000_003)
    let settings = SweepSettings(targets: [target], counts: [0, count], metrics: [.cosine], iterative: iterative, residual: !calibration.noResidual,
                                 calibration: calibrationText, calibrationArguments: calibrationArgs, heldOut: heldText, heldOutArguments: heldArgs,
                                 tasks: r.tasks.keys.sorted(), speedCounts: r.speed.isEmpty ? [] : [count], costContext: context,
                                 command: shellCommandLine())
    let result = SweepResult.single(model: base, path: r.model, plan: plan, target: target, count: count, scores: scores,
                                    residual: !calibration.noResidual, divergence: divergence, tasks: r.tasks, speed: r.speed, settings: settings)
    try AtomicFile.write(Data(SweepReport.html(result).utf8), to: path)
}

/// An output path must be writable before a long run starts: its folder exists and is writable, and
/// the path is not a folder.
func validateOutputPath(_ path: String, what: String) throws {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw ValidationError("\(what) '\(path)' is a folder; pass a file path")
    }
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw ValidationError("\(what) '\(path)': the folder '\(dir)' does not exist; create it or write elsewhere")
    }
    guard access(dir, W_OK) == 0 else { throw ValidationError("\(what) '\(path)': the folder '\(dir)' is not writable; write elsewhere") }
    if FileManager.default.fileExists(atPath: path) && access(path, W_OK) != 0 {
        throw ValidationError("\(what) '\(path)' is not writable; write elsewhere")
    }
}
