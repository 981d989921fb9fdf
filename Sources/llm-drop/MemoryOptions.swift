// `--max-memory BYTES` (score, drop, perplexity): the model is loaded and its batched passes sized to fit
// the budget (MemoryBudget): rows per forward call from the activations a row needs, and — when the weights
// do not fit beside them — each layer's pages released after use and the next layer's read ahead.
import ArgumentParser
import Foundation
import LLMFormats
import LLMModels

struct MemoryOptions: ParsableArguments {
    @Option(help: "Memory budget, e.g. 3G or 512M: rows per forward pass are sized to fit it, and a model larger than it is streamed layer by layer (pages released after use). Default: no budget (1024 rows per pass).")
    var maxMemory: String?

    var bytes: Int? { maxMemory.flatMap(MemoryBudget.parseBytes) }

    func validate() throws {
        if let maxMemory, bytes == nil {
            throw ValidationError("--max-memory \(maxMemory) is not a byte count; pass e.g. 3G, 512M or 3000000000")
        }
    }
}

extension ModelOptions {
    /// The model loaded within `memory`'s budget for `sequenceLength`-token sequences, and the rows per
    /// forward call (1024 without a budget).
    func load(memory: MemoryOptions, sequenceLength: Int, logits: Bool = false) throws -> (LanguageModel, rowsPerBatch: Int) {
        let (model, fit) = try loadFitting(memory: memory, sequenceLength: sequenceLength, logits: logits)
        return (model, fit?.rowsPerBatch ?? 1024)
    }

    /// As `load(memory:sequenceLength:logits:)`, with the budget's plan (nil without a budget).
    func loadFitting(memory: MemoryOptions, sequenceLength: Int, logits: Bool = false) throws -> (LanguageModel, MemoryBudget?) {
        guard let budget = memory.bytes else { return (try load(), nil) }
        let (file, plan) = try openWithPlan()
        let fit = try MemoryBudget(config: ModelConfig(source: file), source: file, budget: budget, sequenceLength: sequenceLength, logits: logits)
        Log.info("memory budget \(MemoryBudget.format(budget)): \(fit.rowsPerBatch) rows per pass (\(MemoryBudget.format(fit.bytesPerRow)) a row), "
                 + (fit.releaseLayerPages ? "weights streamed layer by layer (\(MemoryBudget.format(file.storageBytes)) file)"
                    : fit.float32CacheBudget > 0 ? "weights resident with an f32 copy" : "weights resident"))
        let options = LoadOptions(threads: threads, plan: plan, float32CacheBudget: fit.float32CacheBudget, releaseLayerPages: fit.releaseLayerPages)
        return (try timedLoad { try LanguageModel(source: file, options: options) }, fit)
    }
}
