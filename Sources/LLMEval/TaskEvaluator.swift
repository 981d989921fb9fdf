// Task accuracy the way lm-evaluation-harness computes it (rules in MultipleChoice.swift): every
// (context, continuation) request of many items is tokenized, cut to the model's context length from
// the left (lm-eval: `(context + continuation)[-(max_length + 1):][:-1]` is the input), and scored in
// batched forward passes of independent sequences, identical inputs run once.
//   mc          acc, acc_norm over the choices
//   winogrande  acc over the contexts (lm-eval reports acc only)
//   cloze       acc = the target is the greedy continuation; perplexity = exp(−mean per-item
//               log-likelihood), lm-eval's `perplexity` aggregation; token perplexity =
//               exp(Σ NLL / Σ target tokens)
import Foundation
import LLMModels
import LLMTensor

public enum TaskEvaluationError: Error, Equatable, CustomStringConvertible {
    case continuationTooLong(tokens: Int, contextLength: Int)
    case noPrefixToken
    case invalidRowsPerBatch(Int)
    case invalidMaxLength(Int, contextLength: Int)
    case noItems

    public var description: String {
        switch self {
        case .continuationTooLong(let t, let c):
            return "a continuation of \(t) tokens does not fit the model's context of \(c) tokens; shorten the choices or use a model with a longer context"
        case .noPrefixToken:
            return "an empty context needs a BOS or EOS token to condition on, and the tokenizer has neither; give every item a context"
        case .invalidRowsPerBatch(let r):
            return "rows per batch must be at least 1 (got \(r))"
        case .invalidMaxLength(let m, let c):
            return "the maximum sequence length \(m) must be between 1 and the model's context length \(c)"
        case .noItems:
            return "there are no items to evaluate; check the task file and --limit"
        }
    }
}

/// The score of one item.
public struct TaskItemScore: Sendable, Equatable {
    /// Position in the evaluation (the few-shot draw's index).
    public var index: Int
    public var id: String
    /// One per request: per choice (mc), per context (winogrande), the target (cloze).
    public var logLikelihoods: [Loglikelihood]
    /// acc_norm divisors (mc only).
    public var lengths: [Int]?
    /// Predicted index (mc, winogrande).
    public var prediction: Int?
    /// Predicted index by length-normalised log-likelihood (mc).
    public var predictionNorm: Int?
    public var correct: Bool
    public var correctNorm: Bool?
    /// Some request of this item had its context cut from the left.
    public var truncated: Bool { logLikelihoods.contains { $0.truncated } }
}

/// Summary figures; JSON keys as `llm-drop eval --json` prints them.
public struct TaskResult: Sendable, Codable, Equatable {
    public var task: String
    public var format: TaskFormat
    /// Items scored.
    public var n: Int
    public var acc: Double
    public var accStderr: Double?
    public var accNorm: Double?
    public var accNormStderr: Double?
    /// Cloze: lm-eval's perplexity, exp(−mean per-item log-likelihood of the target).
    public var perplexity: Double?
    /// Cloze: exp(Σ target NLL / Σ target tokens).
    public var tokenPerplexity: Double?
    /// Items whose context was cut from the left to fit the model's context length.
    public var truncated: Int
    /// Lines of the task file skipped as invalid.
    public var skipped: Int
    public var shots: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case task, format, n, acc, perplexity, truncated, skipped, shots, seconds
        case accStderr = "acc_stderr"
        case accNorm = "acc_norm"
        case accNormStderr = "acc_norm_stderr"
        case tokenPerplexity = "token_perplexity"
    }
}

public struct TaskEvaluation: Sendable {
    public var result: TaskResult
    public var items: [TaskItemScore]
}

public struct TaskEvaluator {
    public let model: LanguageModel
    /// Token rows per forward call (sequences are packed up to this; a longer one runs alone).
    public let rowsPerBatch: Int
    /// Longest input the model is given (lm-eval's max_length): the model's context length by default.
    public let maxLength: Int
    public let normalization: MultipleChoiceScoring.LengthNormalization

    public init(model: LanguageModel, rowsPerBatch: Int = 1024, maxLength: Int? = nil,
                normalization: MultipleChoiceScoring.LengthNormalization = .lmEval) throws {
        guard rowsPerBatch >= 1 else { throw TaskEvaluationError.invalidRowsPerBatch(rowsPerBatch) }
        let limit = maxLength ?? model.config.contextLength
        guard limit >= 1, limit <= model.config.contextLength else {
            throw TaskEvaluationError.invalidMaxLength(limit, contextLength: model.config.contextLength)
        }
        self.model = model
        self.rowsPerBatch = rowsPerBatch
        self.maxLength = limit
        self.normalization = normalization
    }

    /// Tokenizes requests; contexts shared by several requests are encoded once.
    public func tokenize(_ requests: [LoglikelihoodRequest]) throws -> [TokenizedRequest] {
        let tokenizer = model.tokenizer
        var contexts: [String: [Int]] = [:]
        return try requests.map { r in
            try TokenizedRequest(r, tokenizer: tokenizer) { text in
                if let t = contexts[text] { return t }
                let t = tokenizer.encode(text, addSpecialTokens: true)
                contexts[text] = t
                return t
            }
        }
    }

    /// Scores requests in batched forward passes; `progress` gets the number of requests done.
    public func loglikelihoods(_ requests: [TokenizedRequest], progress: ((Int) -> Void)? = nil) throws -> [Loglikelihood] {
        let prepared = try requests.map(prepare)
        var results = [Loglikelihood](repeating: Loglikelihood(value: 0, isGreedy: true, tokens: 0), count: requests.count)
        var next = 0
        while next < prepared.count {
            // Pack sequences up to rowsPerBatch rows; an input already in the batch is not run twice.
            var batch: [[Int]] = []
            var seen: [[Int]: Int] = [:]
            var members: [(request: Int, sequence: Int)] = []
            var rows = 0
            while next < prepared.count {
                let p = prepared[next]
                if p.continuation.isEmpty {
                    results[next] = Loglikelihood(value: 0, isGreedy: true, tokens: 0, truncated: p.truncated)
                } else if let s = seen[p.input] {
                    members.append((next, s))
                } else {
                    if !batch.isEmpty && rows + p.input.count > rowsPerBatch { break }
                    seen[p.input] = batch.count
                    members.append((next, batch.count))
                    batch.append(p.input)
                    rows += p.input.count
                }
                next += 1
            }
            if !batch.isEmpty {
                var firstRow: [Int] = []
                var row = 0
                for s in batch { firstRow.append(row); row += s.count }
                // Continuation token j of a request is predicted at input position count − m + j; only
                // those rows' logits are computed, a chunk at a time.
                var needed: [Int: Set<Int>] = [:]
                for (r, s) in members {
                    let p = prepared[r]
                    let start = firstRow[s] + batch[s].count - p.continuation.count
                    for (j, t) in p.continuation.enumerated() { needed[start + j, default: []].insert(t) }
                }
                let rows = needed.keys.sorted()
                var stats: [Int: RowStatistics] = [:]
                let V = model.vocabularySize
                try model.forward(batch, rows: rows) { first, chunk, n in
                    for i in 0..<n {
                        stats[rows[first + i]] = RowStatistics(chunk + i * V, V, targets: needed[rows[first + i]]!)
                    }
                }
                for (r, s) in members {
                    let p = prepared[r]
                    let start = firstRow[s] + batch[s].count - p.continuation.count
                    results[r] = Self.score(p.continuation.enumerated().map { j, t in (stats[start + j]!, t) }, truncated: p.truncated)
                }
            }
            progress?(next)
        }
        return results
    }

    /// What scoring needs of one row of logits: its log-sum-exp, its argmax (the first maximum) and the
    /// logits of the targets asked for.
    struct RowStatistics {
        let logSumExp: Double
        let argmax: Int
        let logits: [Int: Float]

        init(_ row: UnsafePointer<Float>, _ V: Int, targets: Set<Int>) {
            logSumExp = Kernels.logSumExp(row, V)
            var best = 0
            for v in 1..<V where row[v] > row[best] { best = v }
            argmax = best
            logits = Dictionary(uniqueKeysWithValues: targets.map { ($0, row[$0]) })
        }
    }

    /// Σ log-softmax at the targets, each read from the row that predicts it, and whether every target
    /// is its row's argmax.
    static func score(_ predictions: [(row: RowStatistics, target: Int)], truncated: Bool) -> Loglikelihood {
        var sum = 0.0
        var greedy = true
        for (row, t) in predictions {
            sum += Double(row.logits[t]!) - row.logSumExp
            greedy = greedy && row.argmax == t
        }
        return Loglikelihood(value: sum, isGreedy: greedy, tokens: predictions.count, truncated: truncated)
    }

    struct Prepared {
        /// The model's input: (context + continuation) without its last token, left-truncated to maxLength.
        let input: [Int]
        let continuation: [Int]
        let truncated: Bool
    }

    func prepare(_ r: TokenizedRequest) throws -> Prepared {
        guard r.continuation.count <= maxLength else {
            throw TaskEvaluationError.continuationTooLong(tokens: r.continuation.count, contextLength: maxLength)
        }
        let full = r.context + r.continuation
        let keep = min(full.count, maxLength + 1)
        return Prepared(input: Array(full[(full.count - keep)..<(full.count - 1)]), continuation: r.continuation,
                        truncated: full.count > maxLength + 1)
    }

    /// Scores a task file's items; `progress` gets (items done, items).
    public func evaluate(_ file: TaskFile, fewShot: FewShotSampler? = nil,
                         progress: ((Int, Int) -> Void)? = nil) throws -> TaskEvaluation {
        var e = try evaluate(file.items, task: TaskFile.name(of: file.path), fewShot: fewShot, progress: progress)
        e.result.skipped = file.problems.count
        return e
    }

    /// Scores items (all of one format). Item i's few-shot examples are drawn with index i.
    public func evaluate(_ items: [TaskItem], task: String, fewShot: FewShotSampler? = nil,
                         progress: ((Int, Int) -> Void)? = nil) throws -> TaskEvaluation {
        guard let format = items.first?.format else { throw TaskEvaluationError.noItems }
        let clock = ContinuousClock()
        let start = clock.now
        var requests: [TokenizedRequest] = []
        var ends: [Int] = []
        for (i, item) in items.enumerated() {
            let prefix = try fewShot?.prefix(for: item, index: i) ?? ""
            requests += try tokenize(item.requests(prefix: prefix))
            ends.append(requests.count)
        }
        var itemsDone = 0
        let lls = try loglikelihoods(requests) { done in
            while itemsDone < ends.count && ends[itemsDone] <= done { itemsDone += 1 }
            progress?(itemsDone, items.count)
        }
        var scores: [TaskItemScore] = []
        var first = 0
        for (i, item) in items.enumerated() {
            scores.append(score(item, index: i, Array(lls[first..<ends[i]])))
            first = ends[i]
        }
        let seconds = (clock.now - start) / .seconds(1)
        return TaskEvaluation(result: Self.summarize(scores, format: format, task: task, shots: fewShot?.shots ?? 0,
                                                     seconds: seconds), items: scores)
    }

    func score(_ item: TaskItem, index: Int, _ lls: [Loglikelihood]) -> TaskItemScore {
        var s = TaskItemScore(index: index, id: item.id, logLikelihoods: lls, correct: false)
        switch item.body {
        case .multipleChoice(_, let choices, let gold):
            let lengths = choices.map { MultipleChoiceScoring.length(of: $0, normalization) }
            let p = MultipleChoiceScoring.predictions(logLikelihoods: lls.map(\.value), lengths: lengths)
            s.lengths = lengths
            s.prediction = p?.acc
            s.predictionNorm = p?.accNorm
            s.correct = p?.acc == gold
            s.correctNorm = p?.accNorm == gold
        case .winogrande(_, _, let gold):
            s.prediction = MultipleChoiceScoring.argmax(lls.map(\.value))
            s.correct = s.prediction == gold
        case .cloze:
            s.correct = lls.allSatisfy(\.isGreedy)
        }
        return s
    }

    static func summarize(_ scores: [TaskItemScore], format: TaskFormat, task: String, shots: Int, seconds: Double) -> TaskResult {
        let n = scores.count
        func mean(_ f: (TaskItemScore) -> Bool) -> Double { Double(scores.filter(f).count) / Double(max(n, 1)) }
        let acc = mean(\.correct)
        var r = TaskResult(task: task, format: format, n: n, acc: acc,
                           accStderr: MultipleChoiceScoring.standardError(accuracy: acc, n: n),
                           truncated: scores.filter(\.truncated).count, skipped: 0, shots: shots, seconds: seconds)
        switch format {
        case .mc:
            let norm = mean { $0.correctNorm == true }
            r.accNorm = norm
            r.accNormStderr = MultipleChoiceScoring.standardError(accuracy: norm, n: n)
        case .winogrande:
            break
        case .cloze:
            let lls = scores.flatMap(\.logLikelihoods)
            let total = lls.reduce(0) { $0 + $1.value }
            let tokens = lls.reduce(0) { $0 + $1.tokens }
            r.perplexity = Foundation.exp(-total / Double(max(n, 1)))
            r.tokenPerplexity = Foundation.exp(-total / Double(max(tokens, 1)))
        }
        return r
    }
}
