// `--max-memory BYTES` (score, drop, perplexity, kld, eval): the model is loaded and its batched passes sized
// to fit the budget (MemoryBudget): rows per forward call from the activations a row needs, and — when the
// weights do not fit beside them — each layer's pages released after use and the next layer's read ahead.
// Without the option the budget is MemoryBudget.systemDefault (80 % of the memory available), so a model
// too big for the machine is streamed rather than paged in and out.
import ArgumentParser
import Foundation
import LLMFormats
import LLMModels
import LLMTensor

struct MemoryOptions: ParsableArguments {
    @Option(help: "Memory budget, e.g. 3G or 512M: rows per forward pass are sized to fit it, and a model larger than it is streamed layer by layer (pages released after use). One sequence (a calibration sample, a window, a task item) is never split: the budget must hold one through one layer, or the job stops and names the minimum. Default: 80% of the memory available at start (MemAvailable; physical memory where the system does not report it).")
    var maxMemory: String?

    /// The budget in bytes, and where it comes from (for the log).
    var budget: (bytes: Int, basis: String) {
        if let maxMemory, let bytes = MemoryBudget.parseBytes(maxMemory) { return (bytes, "--max-memory") }
        let d = MemoryBudget.systemDefault
        return (d.bytes, "default: \(d.basis); --max-memory to change")
    }

    func validate() throws {
        if let maxMemory, MemoryBudget.parseBytes(maxMemory) == nil {
            throw ValidationError("--max-memory \(maxMemory) is not a byte count; pass e.g. 3G, 512M or 3000000000")
        }
    }
}

extension ModelOptions {
    /// The model loaded within `memory`'s budget for sequences of at most `sequenceLength` tokens, and the
    /// rows per forward call.
    func load(memory: MemoryOptions, sequenceLength: Int, logits: Bool = false) throws -> (LanguageModel, rowsPerBatch: Int) {
        let (model, fit, _) = try loadFitting(memory: memory, sequenceLength: sequenceLength, logits: logits)
        return (model, fit.rowsPerBatch)
    }

    /// As `load(memory:sequenceLength:logits:)`, with the budget's plan and the --drop-plan removals: applied
    /// at load, or with `original` returned unapplied (kld runs the model as stored and without them on one
    /// load). `sequenceLength` nil: as long as the model's context (eval, whose items may reach it);
    /// `keptRowCopies`: hidden-size values per row the job keeps beside a call (MemoryBudget).
    /// `activations` overrides --activations (kld's original computes in f32).
    func loadFitting(memory: MemoryOptions, sequenceLength: Int?, logits: Bool = false, keptRowCopies: Int = 3,
                     original: Bool = false, activations asked: ActivationPrecision? = nil) throws -> (LanguageModel, MemoryBudget, LayerPlan?) {
        let (budget, basis) = memory.budget
        let (file, plan) = try openWithPlan()
        let config = try ModelConfig(source: file)
        let fit = try MemoryBudget(config: config, source: file, budget: budget, sequenceLength: sequenceLength ?? config.contextLength,
                                   logits: logits, observerRowCopies: keptRowCopies)
        Log.info("memory budget \(MemoryBudget.format(budget)) (\(basis)): \(fit.rowsPerBatch) rows per pass (\(MemoryBudget.format(fit.bytesPerRow)) a row), "
                 + (fit.releaseLayerPages ? "weights streamed layer by layer (\(MemoryBudget.format(file.storageBytes)) file)"
                    : fit.float32CacheBudget > 0 ? "weights resident with an f32 copy" : "weights resident"))
        let options = LoadOptions(threads: threads, plan: original ? nil : plan, float32CacheBudget: fit.float32CacheBudget,
                                  releaseLayerPages: fit.releaseLayerPages,
                                  activations: asked ?? activations)
        return (try timedLoad { try LanguageModel(source: file, options: options) }, fit, plan)
    }
}
