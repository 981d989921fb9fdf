// `llm-drop drop MODEL --target T --count K`: choose the K most redundant modules, write the plan
// and, with --output, the pruned model.
import ArgumentParser
import Foundation
import LLMDrop
import LLMModels

struct Drop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop the K most redundant attention layers, MLP layers or blocks, and write the pruned model.",
        discussion: "Selection: one-shot from one scoring (default), --iterative (re-score after each removal), or --consecutive (the run of K blocks whose entry and exit hidden states are most similar).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "What to drop: attention, mlp, block, or joint (attention and MLP ranked together).")
    var target: DropTarget

    @Option(help: "How many modules to drop.")
    var count: Int

    @Flag(help: "Drop one module at a time, re-scoring the model after each removal.")
    var iterative = false

    @Flag(help: "Drop K consecutive blocks (with --target block).")
    var consecutive = false

    @Option(help: "Importance metric: cosine (the paper's), angular (arccos(cos)/π), relative-norm (‖branch‖ / ‖residual‖), or kl (KL divergence with only that module removed).")
    var metric: ImportanceMetric = .cosine

    @Option(help: "Calibration samples the kl metric runs on (default: all).")
    var klSamples: Int?

    @OptionGroup var calibrationOptions: CalibrationOptions
    @OptionGroup var memoryOptions: MemoryOptions

    @Option(help: "Use scores saved by `llm-drop score --output` instead of scoring again.")
    var scores: String?

    @Option(help: "Write the pruned model here: a GGUF file, or a Hugging Face checkpoint folder (see --format).")
    var output: String?

    @Option(help: "Format of --output: gguf (default; also inferred from a .gguf name) or hf (a checkpoint folder: blocks dropped → the stock architecture with fewer layers; sublayers dropped → drop_attn_list / drop_mlp_list, LLM-Drop's layout; inferred for an existing folder or a path ending in /).")
    var format: PrunedModel.Format?

    @Option(help: "Write the drop plan (JSON) here.")
    var planOut: String?

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1 (got \(count))") }
        if consecutive && target != .block { throw ValidationError("--consecutive drops whole blocks; use it with --target block") }
        if consecutive && iterative { throw ValidationError("choose one of --iterative and --consecutive") }
        if consecutive && metric != .cosine { throw ValidationError("--consecutive ranks runs of blocks by cosine; drop --metric \(metric.rawValue)") }
        if scores != nil && metric != .cosine { throw ValidationError("--scores holds cosine scores; pass --calibration to score with --metric \(metric.rawValue)") }
        if let k = klSamples, k < 1 { throw ValidationError("--kl-samples must be at least 1 (got \(k))") }
        if scores != nil && (iterative || consecutive) {
            throw ValidationError("--iterative and --consecutive score the model as they go; pass --calibration instead of --scores")
        }
        if scores != nil && calibrationOptions.calibration != nil { throw ValidationError("pass either --scores or --calibration, not both") }
        if scores == nil && calibrationOptions.calibration == nil { throw ValidationError("pass --calibration FILE (or self) to score the model, or --scores FILE") }
        if format != nil && output == nil { throw ValidationError("--format says how to write --output; pass --output too") }
        if let output { try PrunedModel.validateOutput(output, source: modelOptions.model, format: PrunedModel.Format.of(output, explicit: format)) }
        if let planOut { try PrunedModel.validateOutput(planOut, source: modelOptions.model) }
    }

    func run() throws {
        let (model, fit, _) = try modelOptions.loadFitting(memory: memoryOptions, sequenceLength: calibrationOptions.seqLen)
        let rows = fit.rowsPerBatch
        let base = model.plan
        try Selection.validate(count: count, target: target, plan: base)
        let method = iterative ? "iterative" : consecutive ? "consecutive" : "one-shot"
        var recorded: [String: [Double?]]?
        let plan: LayerPlan
        if let scores {
            let file = try ScoresFile.load(path: scores, expectedFingerprint: ModelFingerprint.of(model.source, plan: base))
            recorded = ["attention": file.attention, "mlp": file.mlp, "block": file.block]
            plan = try Selection.oneShot(file.similarityScores, target: target, count: count, plan: base)
        } else if consecutive {
            let set = try calibrationOptions.load(for: model)
            let bar = ProgressBar("scoring runs of \(count) blocks", total: set.samples.count, layers: true)
            let span = try RedundancyScorer(model: model, rowsPerBatch: rows).consecutiveSimilarity(set, span: count) { done, _ in bar.update(done) }
            recorded = ["consecutive": span.map { $0 }]
            plan = try Selection.consecutive(spanSimilarity: span, count: count, plan: base)
        } else if metric != .cosine {
            let set = try calibrationOptions.load(for: model)
            let scorer = metricScorer(model, set, residual: !calibrationOptions.noResidual, klSamples: klSamples, rowsPerBatch: rows,
                                      keepBytes: iterative ? keepBytes(fit, set) : 0)
            if iterative { logKeptLayers(scorer.keptLayers, layers: model.layerCount, bytes: set.layerInputBytes(model)) }
            let order = try scorer.order(metric, target: target, count: count, plan: base, iterative: iterative) { step, module, value in
                if self.iterative { Log.info(String(format: "step %d: drop %@ %d (%@ %.5g)", step, module.kind.rawValue, module.layer, self.metric.rawValue, value)) }
            }
            plan = order.reduce(base) { Selection.removing($1.module, from: $0) }
            if !iterative {
                let s = try scorer.scores(metric, plan: base, kinds: Module.Kind.ranked(by: target))
                recorded = ["attention": s.attention, "mlp": s.mlp, "block": s.block]
            }
        } else if iterative {
            let set = try calibrationOptions.load(for: model)
            let scorer = planScorer(model, set, residual: !calibrationOptions.noResidual, target: target, rowsPerBatch: rows,
                                    keepBytes: keepBytes(fit, set))
            logKeptLayers(scorer.keptLayers, layers: model.layerCount, bytes: set.layerInputBytes(model))
            plan = try Selection.iterative(target: target, count: count, plan: base, score: scorer.scores, onStep: logStep)
        } else {
            let file = try computeScores(model: model, modelOptions: modelOptions, calibration: calibrationOptions, rowsPerBatch: rows)
            recorded = ["attention": file.attention, "mlp": file.mlp, "block": file.block]
            plan = try Selection.oneShot(file.similarityScores, target: target, count: count, plan: base)
        }

        let record = DropPlan(plan, target: target.rawValue, method: method, model: modelOptions.model, scores: recorded,
                              metric: metric == .cosine ? nil : metric.rawValue)
        let summary = try writeDropOutputs(record, plan: plan, model: model, output: output, planOut: planOut, format: format)
        let kvBefore = model.config.kvCacheBytesPerToken(plan: base)
        let kvAfter = model.config.kvCacheBytesPerToken(plan: plan)
        if outputOptions.json {
            var json: [String: Any] = [
                "dropped_attention": record.droppedAttention, "dropped_mlp": record.droppedMLP, "dropped_blocks": record.droppedBlocks,
                "target": target.rawValue, "method": method, "metric": metric.rawValue,
                "kv_cache_bytes_per_token": ["before": kvBefore, "after": kvAfter],
            ]
            if let recorded { json["scores"] = recorded.mapValues { $0.map { $0 as Any? ?? NSNull() } } }
            if let summary, let output {
                json["output"] = ["path": output, "format": PrunedModel.Format.of(output, explicit: format).rawValue,
                                  "architecture": summary.architecture, "layers": summary.layers, "bytes": summary.bytes,
                                  "runs_in_llama_cpp": summary.runsInLlamaCpp] as [String: Any]
            }
            try printJSON(json)
        } else {
            print("dropped attention  \(record.droppedAttention)")
            print("dropped MLP        \(record.droppedMLP)")
            print("dropped blocks     \(record.droppedBlocks)")
            print("method             \(target.rawValue), \(method), K = \(count)\(metric == .cosine ? "" : ", metric \(metric.rawValue)")")
            print("KV cache per token \(Format.bytes(kvBefore)) → \(Format.bytes(kvAfter))")
            if let summary, let output {
                print("wrote              \(output) (\(summary.architecture), \(summary.layers) layers, \(Format.bytes(summary.bytes)))")
                if PrunedModel.Format.of(output, explicit: format) == .hf {
                    print("llama.cpp          convert it first: llm-drop convert \(output) --to gguf --output OUT.gguf")
                } else if !summary.runsInLlamaCpp {
                    print("llama.cpp          will not run this file: \(PrunedModel.llamaCppSupport(architecture: model.config.architecture, plan: plan).reason)")
                }
            }
            if let planOut { print("plan               \(planOut)") }
        }
    }
}

/// Memory for the layer inputs iterative re-scoring restarts from: what the budget leaves beside the pass.
func keepBytes(_ fit: MemoryBudget, _ set: CalibrationSet) -> Int {
    fit.spareBytes(rows: set.samples.reduce(0) { $0 + $1.count })
}

/// Says from which layers re-scoring can restart.
func logKeptLayers(_ kept: [Int], layers: Int, bytes: Int) {
    let each = MemoryBudget.format(bytes)
    if kept.isEmpty {
        Log.info("re-scoring starts at the embeddings every time (no room to keep a layer's input: \(each) each)")
    } else if kept.count == layers - 1 {
        Log.info("re-scoring restarts at the removed layer from the kept inputs of layers 1–\(layers - 1) (\(each) each)")
    } else {
        Log.info("re-scoring restarts at the nearest kept layer input at or below the removed layer: layers \(kept.map(String.init).joined(separator: ", ")) (\(each) each)")
    }
}

/// The library's plan scorer with a progress bar per scoring pass.
func planScorer(_ model: LanguageModel, _ set: CalibrationSet, residual: Bool, target: DropTarget, rowsPerBatch: Int = 1024,
                keepBytes: Int = 0) -> PlanScorer {
    PlanScorer(model: model, calibration: set, residual: residual, rowsPerBatch: rowsPerBatch, keepBytes: keepBytes) { plan in
        let bar = ProgressBar("scoring (\(Selection.available(target, plan: plan)) \(target.rawValue) modules left)", total: set.samples.count, layers: true)
        return { done, _ in bar.update(done) }
    }
}

/// The library's multi-metric scorer with a progress bar per scoring pass.
func metricScorer(_ model: LanguageModel, _ set: CalibrationSet, residual: Bool, klSamples: Int?, rowsPerBatch: Int = 1024,
                  keepBytes: Int = 0) -> MetricScorer {
    MetricScorer(model: model, calibration: set, residual: residual, klSamples: klSamples, rowsPerBatch: rowsPerBatch, keepBytes: keepBytes) { what, _ in
        // The activation pass's total is known now, so its bar shows the layers of its first call too.
        var bar = what == "kl" ? nil : ProgressBar("scoring", total: set.samples.count, layers: true)
        return { done, total in
            if bar == nil { bar = ProgressBar("kl: one forward per module", total: total, layers: true) }
            bar?.update(done)
        }
    }
}

func logStep(_ step: Int, _ module: Module, _ similarity: Double) {
    Log.info(String(format: "step %d: drop %@ %d (similarity %.4f)", step, module.kind.rawValue, module.layer, similarity))
}

/// Writes the plan (`planOut`) and the pruned model (`output`, as a GGUF or a checkpoint folder) where asked.
func writeDropOutputs(_ record: DropPlan, plan: LayerPlan, model: LanguageModel, output: String?, planOut: String?,
                      format: PrunedModel.Format? = nil) throws -> PrunedModelSummary? {
    if let planOut { try record.write(to: planOut) }
    guard let output else { return nil }
    Log.info("writing \(output)")
    if PrunedModel.Format.of(output, explicit: format) == .hf {
        let bar = ProgressBar("writing \(output)", total: 100)
        return try PrunedModel.writeHF(source: model.source, plan: plan, to: output) { done, total in bar.update(done * 100 / max(total, 1)) }
    }
    return try PrunedModel.write(source: model.source, plan: plan, record: record, to: output)
}

extension PrunedModel.Format: ExpressibleByArgument {}

extension CalibrationSet {
    /// Bytes of one layer's input for every calibration token of `model`.
    func layerInputBytes(_ model: LanguageModel) -> Int { samples.reduce(0) { $0 + $1.count } * model.hiddenSize * MemoryLayout<Float>.size }
}
