// Log-likelihood scoring rules of lm-evaluation-harness (EleutherAI, v0.4: `lm_eval/api/task.py`
// `process_results`, `lm_eval/models/huggingface.py` `_encode_pair` and `_loglikelihood_tokens`),
// kept free of the model so they can be tested on their own:
//   • a request is (context, continuation); context + continuation is encoded as ONE string and the
//     tokens after the context's own encoding are the continuation (trailing whitespace of the context
//     moves to the continuation first), so a token merging across the boundary is not split;
//   • log P(continuation | context) = Σ over continuation tokens of log-softmax(logits)[token];
//     the request is "greedy" when every continuation token is its position's argmax;
//   • multiple choice: acc = argmax of the sums, acc_norm = argmax of sum / len(choice), ties to the
//     lowest index (numpy.argmax). lm-eval's len is Python `len()` of the choice without the target
//     delimiter " ": Unicode scalars, not bytes, and the leading space not counted.
import Foundation
import LLMTokenizer

/// One log-likelihood query: how likely is `continuation` right after `context`?
public struct LoglikelihoodRequest: Sendable, Hashable {
    public var context: String
    public var continuation: String

    public init(context: String, continuation: String) {
        self.context = context
        self.continuation = continuation
    }
}

/// A request as token ids: the model sees context + continuation and scores the continuation part.
public struct TokenizedRequest: Sendable, Hashable {
    public var context: [Int]
    public var continuation: [Int]

    public init(context: [Int], continuation: [Int]) {
        self.context = context
        self.continuation = continuation
    }

    /// lm-eval's `_encode_pair`. Special tokens are the tokenizer's defaults (BOS when the model adds
    /// one). An empty context becomes the BOS token (EOS if there is no BOS), as lm-eval's prefix token.
    public init(_ request: LoglikelihoodRequest, tokenizer: any Tokenizer) throws {
        try self.init(request, tokenizer: tokenizer) { tokenizer.encode($0, addSpecialTokens: true) }
    }

    /// `encodeContext` encodes a context with special tokens (a cache may stand in for the tokenizer).
    init(_ request: LoglikelihoodRequest, tokenizer: any Tokenizer, encodeContext: (String) -> [Int]) throws {
        var context = request.context
        var continuation = request.continuation
        var kept = context.endIndex
        while kept > context.startIndex, context[context.index(before: kept)].isWhitespace {
            kept = context.index(before: kept)
        }
        if kept < context.endIndex {
            continuation = String(context[kept...]) + continuation
            context = String(context[..<kept])
        }
        let contextTokens = context.isEmpty ? [] : encodeContext(context)
        if contextTokens.isEmpty {
            guard let prefix = tokenizer.bosID ?? tokenizer.eosID else { throw TaskEvaluationError.noPrefixToken }
            self.init(context: [prefix], continuation: tokenizer.encode(continuation, addSpecialTokens: false))
            return
        }
        let whole = tokenizer.encode(context + continuation, addSpecialTokens: true)
        self.init(context: contextTokens, continuation: Array(whole.dropFirst(contextTokens.count)))
    }
}

/// The score of one request.
public struct Loglikelihood: Sendable, Equatable {
    /// Σ log p(token | everything before it) over the continuation tokens (natural log).
    public var value: Double
    /// Every continuation token is the argmax of the logits at its position (lm-eval `is_greedy`).
    public var isGreedy: Bool
    /// Continuation tokens scored.
    public var tokens: Int
    /// The context was cut from the left to fit the model's context length.
    public var truncated: Bool

    public init(value: Double, isGreedy: Bool, tokens: Int, truncated: Bool = false) {
        self.value = value
        self.isGreedy = isGreedy
        self.tokens = tokens
        self.truncated = truncated
    }
}

/// The multiple-choice decision rule, on numbers only.
public enum MultipleChoiceScoring {
    /// What acc_norm divides a choice's log-likelihood by.
    public enum LengthNormalization: String, Sendable, CaseIterable {
        /// lm-eval: Python `len()` of the choice without its leading target-delimiter space
        /// (Unicode scalars).
        case lmEval = "lm-eval"
        /// UTF-8 bytes of the choice as stored, leading space included.
        case utf8Bytes = "bytes"
    }

    /// Index of the largest value, the first one on ties (numpy.argmax); nil for an empty array.
    public static func argmax(_ values: [Double]) -> Int? {
        guard var best = values.indices.first else { return nil }
        for i in values.indices.dropFirst() where values[i] > values[best] { best = i }
        return best
    }

    /// The length of `choice` that acc_norm divides by, at least 1.
    public static func length(of choice: String, _ normalization: LengthNormalization = .lmEval) -> Int {
        switch normalization {
        case .lmEval:
            let text = choice.hasPrefix(" ") ? choice.dropFirst() : Substring(choice)
            return max(1, text.unicodeScalars.count)
        case .utf8Bytes:
            return max(1, choice.utf8.count)
        }
    }

    /// acc's and acc_norm's predicted indices from each choice's log-likelihood sum and length.
    public static func predictions(logLikelihoods: [Double], lengths: [Int]) -> (acc: Int, accNorm: Int)? {
        guard logLikelihoods.count == lengths.count,
              let acc = argmax(logLikelihoods),
              let norm = argmax(zip(logLikelihoods, lengths).map { $0 / Double(max($1, 1)) }) else { return nil }
        return (acc, norm)
    }

    /// Sample standard error of a mean of 0/1 outcomes, sqrt(p(1−p)/(n−1)) (lm-eval's mean_stderr);
    /// nil below two samples.
    public static func standardError(accuracy p: Double, n: Int) -> Double? {
        guard n >= 2 else { return nil }
        return (p * (1 - p) / Double(n - 1)).squareRoot()
    }
}
