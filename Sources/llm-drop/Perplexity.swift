// `llm-drop perplexity MODEL --data FILE`: perplexity over non-overlapping windows.
import ArgumentParser
import Foundation
import LLMEval
import LLMFormats
import LLMModels

struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity of a text: non-overlapping windows, each evaluated on its own.",
        discussion: "FILE is plain text, a JSON array of {\"text\": ...}, or JSONL with a \"text\" field; documents are joined with a blank line.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Text file to evaluate.")
    var data: String

    @Option(help: "Window length in tokens.")
    var context = 256

    @Option(help: "Evaluate at most this many windows.")
    var maxWindows: Int?

    @OptionGroup var memoryOptions: MemoryOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard context >= 2 else { throw ValidationError("--context must be at least 2 (got \(context))") }
        if let w = maxWindows, w < 1 { throw ValidationError("--max-windows must be at least 1 (got \(w))") }
    }

    func run() throws {
        let docs = try TextCorpus.documents(at: data)
        let (model, rows) = try modelOptions.load(memory: memoryOptions, sequenceLength: context, logits: true)
        let tokens = model.tokenizer.encode(docs.joined(separator: "\n\n"), addSpecialTokens: false)
        let evaluator = try PerplexityEvaluator(model: model, context: context, rowsPerBatch: rows)
        let windows = min(tokens.count / context, maxWindows ?? .max)
        let bar = ProgressBar("perplexity", total: windows, layers: true)
        let r = try evaluator.evaluate(tokens: tokens, maxWindows: maxWindows) { done, _ in bar.update(done) }
        if output.json {
            try printJSON(["perplexity": r.perplexity, "stderr": r.stderr, "windows": r.windows, "tokens": r.tokens,
                           "tokens_per_second": r.tokensPerSecond])
        } else {
            print(String(format: "perplexity %.4f ± %.4f  (%d windows of %d tokens, %d predicted, %.1f tokens/s)",
                         r.perplexity, r.stderr, r.windows, context, r.tokens, r.tokensPerSecond))
        }
    }
}
