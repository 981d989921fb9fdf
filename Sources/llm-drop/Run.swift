// `llm-drop run MODEL --target T --count K --calibration FILE|self`: the whole story in one command —
// score → drop → divergence, perplexity and task accuracy before/after → speed before/after → a
// summary table and a JSON report.
import ArgumentParser
import Foundation
import LLMDrop
import LLMEval
import LLMFormats
import LLMModels

struct RunAll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Score, drop, and measure before vs after in one command.",
        discussion: "Without --data or --tasks it needs no dataset: --calibration self, and divergence on held-out self-generated text.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "What to drop: attention, mlp, block, or joint.")
    var target: DropTarget = .attention

    @Option(help: "How many modules to drop (default: a quarter of the layers).")
    var count: Int?

    @Flag(help: "Re-score after each removal.")
    var iterative = false

    @OptionGroup var calibrationOptions: CalibrationOptions

    @Option(help: "Text for perplexity before/after.")
    var data: String?

    @Option(parsing: .upToNextOption, help: "Task files (JSONL, mc/winogrande/cloze) for accuracy before/after.")
    var tasks: [String] = []

    @Option(help: "Items per task.")
    var limit: Int?

    @Option(help: "Window length for perplexity and divergence.")
    var context = 256

    @Option(help: "Windows for perplexity and divergence (default: 8 self-generated, or all of --data).")
    var maxWindows: Int?

    @OptionGroup var speed: SpeedOptions

    @OptionGroup var needle: RunNeedleOptions

    @Option(help: "Write the pruned model (GGUF) here.")
    var output: String?

    @Option(help: "Write the drop plan (JSON) here.")
    var planOut: String?

    @Option(help: "Write the report here: HTML (self-contained, with figures) when the name ends in .html, JSON otherwise.")
    var report: String?

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1 (got \(count))") }
        guard context >= 2 else { throw ValidationError("--context must be at least 2 (got \(context))") }
        if let output { try PrunedModel.validateOutput(output, source: modelOptions.model) }
        if let report { try validateOutputPath(report, what: "--report") }
        for t in tasks where !FileManager.default.fileExists(atPath: t) { throw ValidationError("task file '\(t)' does not exist") }
    }

    func run() throws {
        let (original, loadPlan) = try modelOptions.loadOriginal()
        let base = try original.removing(loadPlan ?? .full(layers: original.layerCount))
        try needle.check(base)
        let k = count ?? max(1, original.layerCount / 4)
        try Selection.validate(count: k, target: target, plan: base.plan)
        var calibration = calibrationOptions
        if calibration.calibration == nil { calibration.calibration = "self" }

        // 1. Score and choose.
        Log.info("step 1/5: scoring (\(calibration.calibration!))")
        let set = try calibration.load(for: base)
        let scorer = planScorer(base, set, residual: !calibration.noResidual, target: target)
        let scores = try scorer.scores(base.plan)
        let plan = iterative
            ? try Selection.iterative(target: target, count: k, plan: base.plan, score: scorer.scores, onStep: logStep)
            : try Selection.oneShot(scores, target: target, count: k, plan: base.plan)
        let record = DropPlan(plan, target: target.rawValue, method: iterative ? "iterative" : "one-shot", model: modelOptions.model,
                              scores: ["attention": scores.attention, "mlp": scores.mlp, "block": scores.block])
        let dropped = try original.removing(plan)
        var r = DropReport(model: modelOptions.model, plan: record, calibration: set.source,
                           kvCacheBytesPerToken: BeforeAfter(original: base.kvCacheBytesPerToken, dropped: dropped.kvCacheBytesPerToken))
        if try writeDropOutputs(record, plan: plan, model: original, output: output, planOut: planOut) != nil { r.output = output }

        // 2. Divergence on held-out text (self-generated with another seed unless --data).
        Log.info("step 2/5: divergence")
        let windows = try comparisonWindows(model: base, data: data ?? "self", context: context, maxWindows: maxWindows,
                                            seed: calibrationOptions.seed &+ 1_000_003)
        let bar = ProgressBar("kl-divergence", total: windows.count, layers: true)
        r.divergence = try DivergenceEvaluator(original: base, dropped: dropped).evaluate(windows: windows) { done, _ in bar.update(done) }

        // 3. Perplexity with --data.
        if data != nil {
            Log.info("step 3/5: perplexity")
            func ppl(_ m: LanguageModel) throws -> PerplexityResult {
                try PerplexityEvaluator(model: m, context: context).evaluate(windows: windows)
            }
            r.perplexity = BeforeAfter(original: try ppl(base), dropped: try ppl(dropped))
        }

        // 4. Tasks.
        for task in tasks {
            Log.info("step 4/5: task \(task)")
            r.tasks[task] = BeforeAfter(original: try evaluateTask(task, model: base, limit: limit),
                                        dropped: try evaluateTask(task, model: dropped, limit: limit))
        }

        // 5. Speed, interleaved.
        Log.info("step 5/5: speed")
        r.speed = try speed.measure([BenchVariant(model: base, name: modelOptions.model, plan: nil),
                                     BenchVariant(model: dropped, name: modelOptions.model, plan: planOut ?? "plan")])
        r.speedup = SpeedComparison.speedup(r.speed)

        // Long-context retrieval with --needle.
        if needle.enabled { Log.info("needle: pass-key retrieval before/after") }
        let needleResult = try needle.measure(original: base, dropped: dropped, model: modelOptions.model,
                                                plan: planOut ?? "attention \(record.droppedAttention), MLP \(record.droppedMLP), blocks \(record.droppedBlocks) dropped")
        let full = RunReport(report: r, needle: needleResult)

        if let report, report.lowercased().hasSuffix(".html") {
            try writeRunHTML(r, scores: scores, plan: plan, base: base, target: target, count: k, iterative: iterative,
                             calibration: calibration, data: data, context: context, maxWindows: maxWindows, to: report)
        } else if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(full), to: report)
        }
        if outputOptions.json { try printEncodedJSON(full) } else {
            printSummary(r)
            if let n = needleResult { print("\n" + NeedleText.comparison(n)) }
        }
    }

    func printSummary(_ r: DropReport) {
        print("dropped \(r.plan.target ?? "modules") (\(r.plan.method ?? "given plan")): attention \(r.plan.droppedAttention), MLP \(r.plan.droppedMLP), blocks \(r.plan.droppedBlocks)")
        var rows = [["measure", "original", "dropped", "change"]]
        rows.append(["KV cache per token", Format.bytes(r.kvCacheBytesPerToken.original), Format.bytes(r.kvCacheBytesPerToken.dropped),
                     String(format: "%+.1f %%", 100 * (Double(r.kvCacheBytesPerToken.dropped) / Double(max(r.kvCacheBytesPerToken.original, 1)) - 1))])
        if let d = r.divergence {
            rows.append(["perplexity (\(data == nil ? "self-generated" : "data"), \(d.tokens) tokens)", String(format: "%.3f", d.perplexityOriginal),
                         String(format: "%.3f", d.perplexityDropped), String(format: "×%.3f", d.perplexityRatio)])
            rows.append(["mean KL(original ‖ dropped)", "0", String(format: "%.4f ± %.4f", d.meanKL, d.klStderr), ""])
            rows.append(["top-1 agreement", "100 %", String(format: "%.1f %%", 100 * d.top1Agreement), ""])
        }
        for (task, t) in r.tasks.sorted(by: { $0.key < $1.key }) {
            let name = URL(fileURLWithPath: task).deletingLastPathComponent().lastPathComponent
            rows.append(["\(name) acc (n=\(t.original.n))", String(format: "%.3f", t.original.acc), String(format: "%.3f", t.dropped.acc),
                         String(format: "%+.3f", t.dropped.acc - t.original.acc)])
            if let a = t.original.accNorm, let b = t.dropped.accNorm {
                rows.append(["\(name) acc_norm", String(format: "%.3f", a), String(format: "%.3f", b), String(format: "%+.3f", b - a)])
            }
        }
        for run in r.speed where run.plan == nil {
            guard let d = r.speed.first(where: { $0.plan != nil && $0.promptTokens == run.promptTokens }) else { continue }
            rows.append(["prefill tok/s (\(run.promptTokens) tokens)", String(format: "%.1f", run.prefillTokensPerSecond),
                         String(format: "%.1f", d.prefillTokensPerSecond), String(format: "×%.3f", d.prefillTokensPerSecond / run.prefillTokensPerSecond)])
            if let a = run.decodeTokensPerSecond, let b = d.decodeTokensPerSecond {
                rows.append(["decode tok/s", String(format: "%.1f", a), String(format: "%.1f", b), String(format: "×%.3f", b / a)])
            }
        }
        print(Format.table(rows))
        if let output = r.output { print("pruned model: \(output)") }
    }
}

/// Accuracy of `model` on a task file (format from its content), with a progress bar.
func evaluateTask(_ path: String, model: LanguageModel, limit: Int?) throws -> TaskResult {
    let file = try TaskFile(path: path, limit: limit)
    let bar = ProgressBar(TaskFile.name(of: path), total: file.items.count, layers: true)
    return try TaskEvaluator(model: model).evaluate(file) { done, _ in bar.update(done) }.result
}
