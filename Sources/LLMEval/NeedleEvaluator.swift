// Needle-in-a-haystack evaluation: a grid of (length, depth) cells, a few seeded trials each; per trial
// the prompt is prefilled into a KV cache in one call, then a few tokens are decoded greedily (stopping
// where the answer's form ends: after the number for a pass key, at a line break otherwise, at EOS) and
// scored by exact match on the decoded continuation. Trials run one at a time: a long prompt already
// fills the matrix products, and each trial's prompt differs from the first haystack token on.
import Foundation
import LLMModels
import LLMTokenizer

/// Lengths (tokens), depths (percent) and trials per cell; the seed fixes every trial's key and haystack.
public struct NeedleGrid: Sendable, Codable, Equatable {
    public var lengths: [Int]
    public var depths: [Double]
    public var trials: Int
    public var seed: UInt64

    public init(lengths: [Int], depths: [Double], trials: Int = 4, seed: UInt64 = 1234) {
        self.lengths = lengths
        self.depths = depths
        self.trials = trials
        self.seed = seed
    }

    /// What `run --needle` measures by default: small enough to add a minute or two.
    public static let quick = NeedleGrid(lengths: [1024, 2048], depths: [0, 50, 100], trials: 2)

    /// Throws for an empty list, a non-positive length, a depth outside 0–100 or fewer than one trial.
    public func validate() throws {
        guard !lengths.isEmpty else { throw NeedleError.emptyGrid("lengths") }
        guard !depths.isEmpty else { throw NeedleError.emptyGrid("depths") }
        for n in lengths where n < 1 { throw NeedleError.invalidLength(n) }
        for d in depths where !(0...100).contains(d) { throw NeedleError.invalidDepth(d) }
        guard trials >= 1 else { throw NeedleError.invalidTrials(trials) }
    }
}

/// One trial: the prompt's facts, what the model said and whether it was right.
public struct NeedleTrial: Sendable, Codable, Equatable {
    public var length: Int
    public var depth: Double
    /// Depth as placed, in tokens (see `NeedlePrompt.actualDepth`).
    public var actualDepth: Double
    public var trial: Int
    /// The expected answer (the pass key).
    public var answer: String
    /// The answer as read from the continuation: its leading number for a numeric answer, else its first line.
    public var prediction: String
    /// The decoded continuation.
    public var continuation: String
    public var correct: Bool
    public var promptTokens: Int
    /// Token index where the needle line begins.
    public var needlePosition: Int
    public var generatedTokens: Int
    public var prefillSeconds: Double
    public var decodeSeconds: Double

    public init(length: Int, depth: Double, actualDepth: Double, trial: Int, answer: String, prediction: String, continuation: String,
                correct: Bool, promptTokens: Int, needlePosition: Int, generatedTokens: Int, prefillSeconds: Double, decodeSeconds: Double) {
        (self.length, self.depth, self.actualDepth, self.trial, self.answer) = (length, depth, actualDepth, trial, answer)
        (self.prediction, self.continuation, self.correct, self.promptTokens) = (prediction, continuation, correct, promptTokens)
        (self.needlePosition, self.generatedTokens, self.prefillSeconds, self.decodeSeconds) = (needlePosition, generatedTokens, prefillSeconds, decodeSeconds)
    }

    enum CodingKeys: String, CodingKey {
        case length, depth, trial, answer, prediction, continuation, correct
        case actualDepth = "actual_depth", promptTokens = "prompt_tokens", needlePosition = "needle_position"
        case generatedTokens = "generated_tokens", prefillSeconds = "prefill_seconds", decodeSeconds = "decode_seconds"
    }
}

/// Accuracy of one (length, depth) cell.
public struct NeedleCell: Sendable, Codable, Equatable {
    public var length: Int
    public var depth: Double
    public var correct: Int
    public var trials: Int
    public var accuracy: Double
    /// Wall time of the cell's trials.
    public var seconds: Double

    public init(length: Int, depth: Double, correct: Int, trials: Int, accuracy: Double, seconds: Double) {
        (self.length, self.depth, self.correct, self.trials, self.accuracy, self.seconds) = (length, depth, correct, trials, accuracy, seconds)
    }
}

/// What was tested: the needle kind and haystack, for reports.
public struct NeedleTestInfo: Sendable, Codable, Equatable {
    public var kind: String
    public var haystack: String
    public var needle: String?
    public var question: String
    public var instruction: String?

    public init(_ test: NeedleTest) {
        kind = test.kind
        haystack = test.haystack.source
        if case .custom(let n, _, _) = test.needle { needle = n } else { needle = NeedleTest.passkeyNeedle("NNNNN") }
        question = test.question
        instruction = test.instruction
    }
}

public struct NeedleResult: Sendable, Codable, Equatable {
    public var test: NeedleTestInfo
    public var grid: NeedleGrid
    /// Lengths left out because they exceed the model's context length.
    public var skippedLengths: [Int]
    public var cells: [NeedleCell]
    public var trials: [NeedleTrial]
    public var correct: Int
    public var total: Int
    public var accuracy: Double
    /// Wall time of all trials, and the part spent in prefill.
    public var seconds: Double
    public var prefillSeconds: Double

    public init(test: NeedleTestInfo, grid: NeedleGrid, skippedLengths: [Int], cells: [NeedleCell], trials: [NeedleTrial],
                correct: Int, total: Int, accuracy: Double, seconds: Double, prefillSeconds: Double) {
        (self.test, self.grid, self.skippedLengths, self.cells, self.trials) = (test, grid, skippedLengths, cells, trials)
        (self.correct, self.total, self.accuracy, self.seconds, self.prefillSeconds) = (correct, total, accuracy, seconds, prefillSeconds)
    }

    enum CodingKeys: String, CodingKey {
        case test, grid, cells, trials, correct, total, accuracy, seconds
        case skippedLengths = "skipped_lengths", prefillSeconds = "prefill_seconds"
    }

    /// Lengths measured, in grid order.
    public var lengths: [Int] { grid.lengths.filter { !skippedLengths.contains($0) } }

    public func cell(length: Int, depth: Double) -> NeedleCell? {
        cells.first { $0.length == length && $0.depth == depth }
    }

    /// Accuracy over all depths of one length.
    public func accuracy(length: Int) -> Double? {
        let c = cells.filter { $0.length == length }
        let n = c.reduce(0) { $0 + $1.trials }
        return n == 0 ? nil : Double(c.reduce(0) { $0 + $1.correct }) / Double(n)
    }

    /// Wall time of all trials of one length.
    public func seconds(length: Int) -> Double {
        cells.filter { $0.length == length }.reduce(0) { $0 + $1.seconds }
    }
}

/// Exact-match scoring of a decoded continuation.
public enum NeedleScoring {
    static func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }

    /// True when `answer` is all ASCII digits (a pass key): read the continuation as a number.
    public static func isNumeric(_ answer: String) -> Bool { !answer.isEmpty && answer.allSatisfy(isDigit) }

    /// Correct when the continuation, leading whitespace removed, begins with the answer and the
    /// character after it (if any) is neither a letter nor a digit: " 12345." is right for 12345,
    /// " 123456" and " 1234" are not.
    public static func isCorrect(continuation: String, answer: String) -> Bool {
        let t = continuation.drop(while: \.isWhitespace)
        guard t.hasPrefix(answer) else { return false }
        guard let next = t.dropFirst(answer.count).first else { return true }
        return !(next.isLetter || next.isNumber)
    }

    /// The answer as read from the continuation: its leading digits for a numeric answer, else its
    /// first line, trimmed.
    public static func prediction(continuation: String, answer: String) -> String {
        let t = continuation.drop(while: \.isWhitespace)
        if isNumeric(answer) { return String(t.prefix(while: isDigit)) }
        return String(t.prefix(while: { !$0.isNewline })).trimmingCharacters(in: .whitespaces)
    }

    /// True once more tokens cannot change the prediction: a numeric answer has ended (a non-digit after
    /// the digits, or a non-digit where the number should start); other answers at a line break after text.
    public static func isDecided(continuation: String, answer: String) -> Bool {
        let t = continuation.drop(while: \.isWhitespace)
        guard let first = t.first else { return false }
        if isNumeric(answer) { return !isDigit(first) || t.contains(where: { !isDigit($0) }) }
        return t.contains(where: \.isNewline)
    }
}

public struct NeedleEvaluator {
    public let model: LanguageModel
    public let test: NeedleTest

    public init(model: LanguageModel, test: NeedleTest = .passkey) {
        self.model = model
        self.test = test
    }

    /// Evaluates `grid` on `model` (the entry point for sweeps): lengths over the context are skipped
    /// and listed in `skippedLengths`.
    public static func evaluate(model: LanguageModel, grid: NeedleGrid, test: NeedleTest = .passkey,
                                progress: ((Int, Int) -> Void)? = nil) throws -> NeedleResult {
        try NeedleEvaluator(model: model, test: test).evaluate(grid: grid, progress: progress)
    }

    /// Every prompt of the grid, in evaluation order (length, depth, trial), and the lengths skipped for
    /// the context. Building them all first means bad input (a haystack too short, a length too short
    /// for the needle) fails before any forward pass.
    public func prompts(grid: NeedleGrid) throws -> (prompts: [(trial: Int, prompt: NeedlePrompt)], skipped: [Int]) {
        try grid.validate()
        let context = model.config.contextLength
        let skipped = grid.lengths.filter { $0 > context }
        let lengths = grid.lengths.filter { $0 <= context }
        let builder = NeedlePromptBuilder(tokenizer: model.tokenizer, test: test)
        var out: [(trial: Int, prompt: NeedlePrompt)] = []
        for length in lengths {
            for depth in grid.depths {
                for t in 0..<grid.trials {
                    out.append((trial: t, prompt: try builder.prompt(length: length, depth: depth, seed: grid.seed, trial: t)))
                }
            }
        }
        return (out, skipped)
    }

    public func evaluate(grid: NeedleGrid, progress: ((Int, Int) -> Void)? = nil) throws -> NeedleResult {
        let (prompts, skipped) = try prompts(grid: grid)
        var trials: [NeedleTrial] = []
        let clock = ContinuousClock()
        let start = clock.now
        for (i, p) in prompts.enumerated() {
            trials.append(try run(p.prompt, trial: p.trial))
            progress?(i + 1, prompts.count)
        }
        var cells: [NeedleCell] = []
        for length in grid.lengths where !skipped.contains(length) {
            for depth in grid.depths {
                let t = trials.filter { $0.length == length && $0.depth == depth }
                let correct = t.filter(\.correct).count
                cells.append(NeedleCell(length: length, depth: depth, correct: correct, trials: t.count,
                                        accuracy: t.isEmpty ? 0 : Double(correct) / Double(t.count),
                                        seconds: t.reduce(0) { $0 + $1.prefillSeconds + $1.decodeSeconds }))
            }
        }
        let correct = trials.filter(\.correct).count
        return NeedleResult(test: NeedleTestInfo(test), grid: grid, skippedLengths: skipped, cells: cells, trials: trials,
                            correct: correct, total: trials.count,
                            accuracy: trials.isEmpty ? 0 : Double(correct) / Double(trials.count),
                            seconds: (clock.now - start) / .seconds(1),
                            prefillSeconds: trials.reduce(0) { $0 + $1.prefillSeconds })
    }

    /// One trial: prefill the prompt into a fresh cache, decode greedily until the answer is decided,
    /// EOS or a control token, or the prompt's decode budget; score the continuation.
    public func run(_ prompt: NeedlePrompt, trial: Int = 0) throws -> NeedleTrial {
        let tokenizer = model.tokenizer
        let cache = try model.makeCache(capacity: prompt.tokens.count + prompt.decodeBudget - 1)
        let clock = ContinuousClock()
        let t0 = clock.now
        var logits = try model.forward(appending: prompt.tokens, to: cache, logits: .last).storage
        let t1 = clock.now
        var generated: [Int] = []
        var text = ""
        while true {
            var next = 0
            for i in logits.indices where logits[i] > logits[next] { next = i }
            if next == tokenizer.eosID || tokenizer.bytes(of: next, special: false).isEmpty { break }
            generated.append(next)
            text = tokenizer.decode(generated, special: false)
            if generated.count >= prompt.decodeBudget || NeedleScoring.isDecided(continuation: text, answer: prompt.answer) { break }
            logits = try model.forward(appending: [next], to: cache, logits: .last).storage
        }
        let t2 = clock.now
        return NeedleTrial(length: prompt.length, depth: prompt.depth, actualDepth: prompt.actualDepth, trial: trial,
                           answer: prompt.answer,
                           prediction: NeedleScoring.prediction(continuation: text, answer: prompt.answer),
                           continuation: text,
                           correct: NeedleScoring.isCorrect(continuation: text, answer: prompt.answer),
                           promptTokens: prompt.tokens.count, needlePosition: prompt.needleRange.lowerBound,
                           generatedTokens: generated.count,
                           prefillSeconds: (t1 - t0) / .seconds(1), decodeSeconds: (t2 - t1) / .seconds(1))
    }
}
