// `llm-drop needle MODEL [--drop-plan PLAN] [--baseline] --lengths … --depths …`: long-context retrieval
// (pass key, or a custom needle in real text) as a grid of accuracy by length and depth; with
// --baseline the original and the dropped model side by side (one load, same prompts). Also the
// `--needle` option group of `run`.
import ArgumentParser
import Foundation
import LLMDrop
import LLMEval
import LLMFormats
import LLMModels

struct Needle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "needle",
        abstract: "Long-context retrieval before vs after dropping: pass-key / needle-in-a-haystack accuracy by length and depth.",
        discussion: """
            Default test: pass-key retrieval (Mohtashami & Jaggi, 2023) — an instruction, repeated filler sentences, \
            "The pass key is NNNNN. Remember it. NNNNN is the pass key." at the given depth, then "What is the pass key? \
            The pass key is"; a fresh seeded 5-digit key per trial; greedy decoding; exact match. \
            --haystack FILE uses real text (cut at sentence boundaries) instead of the filler; --needle/--question/--answer \
            hide your own fact. LENGTH counts the model's own tokens: prompt plus the tokens decoded for the answer. \
            DEPTH is the share of haystack tokens before the needle, in percent.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "With --drop-plan: also test the original model (one load, the same prompts) and show both side by side.")
    var baseline = false

    @Option(help: "Lengths in tokens, comma-separated (at most the model's context length).")
    var lengths = "1024,2048,4096,8192"

    @Option(help: "Needle depths in percent of the haystack, comma-separated (0 = start, 100 = end).")
    var depths = "0,25,50,75,100"

    @Option(help: "Trials per (length, depth) cell, each with its own key.")
    var trials = 4

    @Option(help: "Seed for the keys (and haystack offsets).")
    var seed: UInt64 = 1234

    @Option(help: "Real text to hide the needle in (plain, JSON array of {\"text\"}, or JSONL) instead of the filler.")
    var haystack: String?

    @Option(help: "A custom needle sentence (with --question and --answer), instead of the pass key.")
    var needle: String?

    @Option(help: "The text that asks for the needle and that the answer completes (with --needle).")
    var question: String?

    @Option(help: "The expected answer; the needle must contain it (with --needle).")
    var answer: String?

    @Option(help: "Write an HTML report (heat-maps and every trial, self-contained) here.")
    var report: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if baseline && modelOptions.dropPlan == nil { throw ValidationError("--baseline compares with a dropped model; pass --drop-plan PLAN too") }
        let given = [needle, question, answer].filter { $0 != nil }.count
        guard given == 0 || given == 3 else { throw ValidationError("--needle, --question and --answer go together; pass all three or none") }
        _ = try grid()
        _ = try NeedleTest(needle: customNeedle ?? .passkey, haystack: .filler)
        if let haystack { try checkInputFile(haystack, what: "haystack") }
        if let report { try checkOutputFolder(report) }
    }

    var customNeedle: NeedleTest.Needle? {
        guard let needle, let question, let answer else { return nil }
        return .custom(needle: needle, question: question, answer: answer)
    }

    func grid() throws -> NeedleGrid {
        let g = NeedleGrid(lengths: try parseList(lengths, option: "--lengths", as: Int.init),
                           depths: try parseList(depths, option: "--depths", as: Double.init), trials: trials, seed: seed)
        try g.validate()
        return g
    }

    func run() throws {
        let grid = try grid()
        let test = try NeedleTest(needle: customNeedle ?? .passkey, haystack: haystack.map(Haystack.file) ?? .filler)
        let (original, plan) = try modelOptions.loadOriginal()
        let context = original.config.contextLength
        for n in grid.lengths where n > context { throw NeedleError.lengthOverContext(length: n, contextLength: context) }
        var variants: [(name: String, model: LanguageModel)] = []
        if plan == nil || baseline { variants.append(("original", original)) }
        if let plan { variants.append(("dropped", try original.removing(plan))) }

        // All prompts first: a haystack too short or a length too short for the needle fails here.
        let prompts = try NeedleEvaluator(model: original, test: test).prompts(grid: grid).prompts
        Log.info("needle: \(prompts.count) prompts per model (\(grid.lengths.count) lengths × \(grid.depths.count) depths × \(grid.trials) trials), \(prompts.reduce(0) { $0 + $1.prompt.tokens.count }) prompt tokens")
        var results: [(name: String, result: NeedleResult)] = []
        for v in variants {
            let bar = ProgressBar("needle \(v.name)", total: prompts.count)
            let r = try NeedleEvaluator.evaluate(model: v.model, grid: grid, test: test) { done, _ in bar.update(done) }
            Log.info(String(format: "%@: %.1f %% (%ld/%ld) in %.1f s", v.name, 100 * r.accuracy, r.correct, r.total, r.seconds))
            results.append((v.name, r))
        }
        if let report {
            try AtomicFile.write(Data(NeedleReport.html(model: modelOptions.model, plan: modelOptions.dropPlan, results: results).utf8), to: report)
        }
        if output.json {
            try printEncodedJSON(NeedleOutput(model: modelOptions.model, dropPlan: modelOptions.dropPlan, threads: modelOptions.threads,
                                              original: results.first { $0.name == "original" }?.result,
                                              dropped: results.first { $0.name == "dropped" }?.result))
        } else {
            print(NeedleText.describe(results[0].result))
            for (name, r) in results {
                print("")
                print(NeedleText.grid(r, title: name == "dropped" ? "dropped (\(modelOptions.dropPlan ?? "plan"))" : name))
            }
            if results.count == 2 {
                print("")
                print(NeedleText.comparison(BeforeAfter(original: results[0].result, dropped: results[1].result)))
            }
        }
    }
}

struct NeedleOutput: Encodable {
    let model: String
    let dropPlan: String?
    let threads: Int
    let original: NeedleResult?
    let dropped: NeedleResult?

    enum CodingKeys: String, CodingKey { case model, threads, original, dropped, dropPlan = "drop_plan" }
}

/// The pass-key grid of `run --needle` and `sweep --needle`: a small grid by default.
struct NeedleGridOptions: ParsableArguments {
    @Flag(name: .customLong("needle"), help: "Also measure long-context retrieval (pass key), by length and depth.")
    var enabled = false

    @Option(help: "Lengths for --needle, tokens, comma-separated (lengths over the context are skipped).")
    var needleLengths = NeedleGrid.quick.lengths.map(String.init).joined(separator: ",")

    @Option(help: "Depths for --needle, percent, comma-separated.")
    var needleDepths = NeedleGrid.quick.depths.map { NeedleReport.number($0) }.joined(separator: ",")

    @Option(help: "Trials per cell for --needle.")
    var needleTrials = NeedleGrid.quick.trials

    @Option(help: "Seed of the keys for --needle.")
    var needleSeed: UInt64 = NeedleGrid.quick.seed

    func grid() throws -> NeedleGrid {
        let g = NeedleGrid(lengths: try parseList(needleLengths, option: "--needle-lengths", as: Int.init),
                           depths: try parseList(needleDepths, option: "--needle-depths", as: Double.init), trials: needleTrials, seed: needleSeed)
        try g.validate()
        return g
    }

    func validate() throws { _ = try grid() }

    /// Builds every prompt for `model` without running it, so that a length too short for the needle
    /// fails before any work.
    func check(_ model: LanguageModel) throws {
        if enabled { _ = try NeedleEvaluator(model: model).prompts(grid: grid()) }
    }

    /// Says which lengths are over the model's context (they are skipped).
    func noteSkipped(contextLength: Int) throws {
        let over = try grid().lengths.filter { $0 > contextLength }
        if enabled && !over.isEmpty { Log.info("needle: skipping lengths \(over.map(String.init).joined(separator: ", ")): over the context length of \(contextLength)") }
    }
}

/// The `--needle` options of `run`: pass-key retrieval before/after, and its heat-maps.
struct RunNeedleOptions: ParsableArguments {
    @OptionGroup var grid: NeedleGridOptions

    @Option(help: "With --needle: write the heat-maps as a self-contained HTML file here.")
    var needleReport: String?

    var enabled: Bool { grid.enabled }

    func validate() throws {
        if needleReport != nil && !enabled { throw ValidationError("--needle-report needs --needle") }
        if let needleReport { try checkOutputFolder(needleReport) }
    }

    func check(_ model: LanguageModel) throws { try grid.check(model) }

    /// Both models on the grid (lengths over the context skipped, with a note), and the HTML if asked.
    func measure(original: LanguageModel, dropped: LanguageModel, model: String, plan: String?) throws -> BeforeAfter<NeedleResult>? {
        guard enabled else { return nil }
        let grid = try self.grid.grid()
        try self.grid.noteSkipped(contextLength: original.config.contextLength)
        let over = grid.lengths.filter { $0 > original.config.contextLength }
        func one(_ m: LanguageModel, _ name: String) throws -> NeedleResult {
            let count = grid.lengths.filter { !over.contains($0) }.count * grid.depths.count * grid.trials
            let bar = ProgressBar("needle \(name)", total: count)
            return try NeedleEvaluator.evaluate(model: m, grid: grid) { done, _ in bar.update(done) }
        }
        let r = BeforeAfter(original: try one(original, "original"), dropped: try one(dropped, "dropped"))
        if let needleReport {
            try AtomicFile.write(Data(NeedleReport.html(model: model, plan: plan, results: [("original", r.original), ("dropped", r.dropped)]).utf8), to: needleReport)
        }
        return r
    }
}

/// `run`'s JSON report with the needle grids under "needle"; DropReport's own keys are unchanged.
struct RunReport: Encodable {
    let report: DropReport
    let needle: BeforeAfter<NeedleResult>?

    enum CodingKeys: String, CodingKey { case needle }

    func encode(to encoder: Encoder) throws {
        try report.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(needle, forKey: .needle)
    }
}

/// Text tables of needle results.
enum NeedleText {
    static func describe(_ r: NeedleResult) -> String {
        let what = r.test.kind == "passkey" ? "pass key (Mohtashami & Jaggi 2023)" : "custom needle"
        let g = r.grid
        return "needle: \(what) in \(r.test.haystack == "filler" ? "filler" : r.test.haystack); \(g.depths.count) depths × \(g.trials) trials per length, seed \(g.seed), greedy, exact match"
    }

    /// Accuracy in percent, rows = depth, columns = length; a last row per length and the overall figure.
    static func grid(_ r: NeedleResult, title: String) -> String {
        let lengths = r.grid.lengths.filter { !r.skippedLengths.contains($0) }
        var rows = [["depth"] + lengths.map(NeedleReport.lengthLabel)]
        for d in r.grid.depths {
            rows.append(["\(NeedleReport.number(d)) %"] + lengths.map { n in
                r.cell(length: n, depth: d).map { String(format: "%.0f", 100 * $0.accuracy) } ?? "-"
            })
        }
        rows.append(["all"] + lengths.map { n in r.accuracy(length: n).map { String(format: "%.0f", 100 * $0) } ?? "-" })
        rows.append(["time (s)"] + lengths.map { String(format: "%.0f", r.seconds(length: $0)) })
        return "\(title): accuracy % by depth and length — overall "
            + String(format: "%.1f %% (%ld/%ld) in %.0f s", 100 * r.accuracy, r.correct, r.total, r.seconds) + "\n"
            + Format.table(rows)
    }

    /// Original vs dropped accuracy per length and overall.
    static func comparison(_ n: BeforeAfter<NeedleResult>) -> String {
        var rows = [["needle accuracy", "original", "dropped", "change"]]
        for len in n.original.lengths {
            guard let a = n.original.accuracy(length: len), let b = n.dropped.accuracy(length: len) else { continue }
            rows.append(["\(len) tokens", String(format: "%.0f %%", 100 * a), String(format: "%.0f %%", 100 * b), String(format: "%+.0f pts", 100 * (b - a))])
        }
        rows.append(["all", String(format: "%.1f %%", 100 * n.original.accuracy), String(format: "%.1f %%", 100 * n.dropped.accuracy),
                     String(format: "%+.1f pts", 100 * (n.dropped.accuracy - n.original.accuracy))])
        return Format.table(rows)
    }
}

/// Comma-separated values, each parsed by `parse`; one clear error naming the option otherwise.
func parseList<T>(_ text: String, option: String, as parse: (String) -> T?) throws -> [T] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.compactMap(parse)
    guard !parts.isEmpty, values.count == parts.count else {
        throw ValidationError("\(option) must be numbers separated by commas (got '\(text)')")
    }
    return values
}

/// An input file that must exist (checked before any work).
func checkInputFile(_ path: String, what: String) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw ValidationError("\(what) file '\(path)' does not exist") }
    guard !isDir.boolValue else { throw ValidationError("\(what) file '\(path)' is a directory; pass a text file") }
}

/// An output file's folder must exist before a long run starts, not only when the result is written.
func checkOutputFolder(_ path: String) throws {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw ValidationError("the folder of '\(path)' does not exist; create it or write the report elsewhere")
    }
}
