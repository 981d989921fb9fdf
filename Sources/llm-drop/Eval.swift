// `llm-drop eval MODEL --task FILE`: accuracy on a multiple-choice, WinoGrande or LAMBADA-style task,
// scored as lm-evaluation-harness scores it (LLMEval `TaskEvaluator`; formats in docs/tasks.md).
import ArgumentParser
import Foundation
import LLMEval
import LLMModels

extension TaskFormat: ExpressibleByArgument {}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy on a task file, scored by log-likelihood as lm-evaluation-harness scores it.",
        discussion: """
            FILE is JSONL, one item per line (docs/tasks.md):
              mc          {"id", "context", "choices": [" a", " b"], "gold": 0}   acc, acc_norm
              winogrande  {"id", "contexts": [c1, c2], "continuation": " …", "gold": 0}   acc
              cloze       {"id", "context", "target": " word"}   acc (greedy match), perplexity
            Bad lines are reported as FILE:LINE and skipped (counted as "skipped"); --strict stops at the first.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Task file (JSONL).")
    var task: String

    @Option(help: "Item format: mc, winogrande or cloze (default: from the first item's fields).")
    var format: TaskFormat?

    @Option(help: "Evaluate the first N items.")
    var limit: Int?

    @Option(help: "Few-shot examples before each item (needs --fewshot-from).")
    var shots = 0

    @Option(help: "Task file the few-shot examples are drawn from (same format; an example with the item's id is never used).")
    var fewshotFrom: String?

    @Option(help: "Seed of the few-shot draw.")
    var seed: UInt64 = FewShotSampler.defaultSeed

    @Option(help: "Length for acc_norm: lm-eval (characters of the choice without its leading space, as lm-eval computes it) or bytes (UTF-8 bytes of the choice as stored).")
    var lengthNorm: MultipleChoiceScoring.LengthNormalization = .lmEval

    @Flag(help: "Stop at the first malformed line instead of skipping it.")
    var strict = false

    @OptionGroup var memoryOptions: MemoryOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let n = limit, n < 1 { throw ValidationError("--limit must be at least 1 (got \(n))") }
        guard shots >= 0 else { throw ValidationError("--shots must be 0 or more (got \(shots))") }
        if shots > 0 && fewshotFrom == nil {
            throw ValidationError("--shots \(shots) needs --fewshot-from FILE to draw the examples from (e.g. the task's training split)")
        }
        if shots == 0 && fewshotFrom != nil {
            throw ValidationError("--fewshot-from is only used with --shots K (K ≥ 1)")
        }
    }

    func run() throws {
        let file = try TaskFile(path: task, format: format, strict: strict, limit: limit)
        report(file)
        var sampler: FewShotSampler?
        if let fewshotFrom {
            let pool = try TaskFile(path: fewshotFrom, format: file.format, strict: strict)
            report(pool)
            sampler = try FewShotSampler(pool: pool.items, shots: shots, seed: seed)
        }
        // Sized for items as long as the model's context (an item is cut to it), one item per call at least.
        let (model, fit, _) = try modelOptions.loadFitting(memory: memoryOptions, sequenceLength: nil, logits: true, keptRowCopies: 0)
        let evaluator = try TaskEvaluator(model: model, rowsPerBatch: fit.rowsPerBatch, normalization: lengthNorm)
        let name = TaskFile.name(of: task)
        let bar = ProgressBar("eval \(name)", total: file.items.count, layers: true)
        let r = try evaluator.evaluate(file, fewShot: sampler) { done, _ in bar.update(done) }.result
        if r.truncated > 0 {
            Log.info("\(r.truncated) item\(r.truncated == 1 ? "" : "s") cut from the left to the model's context of \(evaluator.maxLength) tokens")
        }
        if output.json {
            try printJSON(JSONSerialization.jsonObject(with: JSONEncoder().encode(r)))
        } else {
            print(table(r))
        }
    }

    /// Skipped lines on stderr, at most 20 of them.
    func report(_ file: TaskFile) {
        for p in file.problems.prefix(20) { Log.info("skipped \(p)") }
        if file.problems.count > 20 { Log.info("… and \(file.problems.count - 20) more bad lines in \(file.path)") }
    }

    func table(_ r: TaskResult) -> String {
        func row(_ name: String, _ value: Double?, _ se: Double?) -> String? {
            guard let value else { return nil }
            return pad(name) + String(format: " %9.4f", value) + (se.map { String(format: "  ± %.4f", $0) } ?? "")
        }
        let header = "\(r.task)  (\(r.format.rawValue), \(r.shots)-shot)  n=\(r.n)  skipped=\(r.skipped)  truncated=\(r.truncated)  "
            + String(format: "%.1f s", r.seconds)
        let rows = [
            row("acc", r.acc, r.accStderr),
            row("acc_norm", r.accNorm, r.accNormStderr),
            row("perplexity", r.perplexity, nil),
            row("token_perplexity", r.tokenPerplexity, nil),
        ].compactMap { $0 }
        return ([header, pad("metric") + "     value  stderr"] + rows).joined(separator: "\n")
    }

    func pad(_ s: String) -> String { s + String(repeating: " ", count: max(0, 16 - s.count)) }
}

extension MultipleChoiceScoring.LengthNormalization: ExpressibleByArgument {}
