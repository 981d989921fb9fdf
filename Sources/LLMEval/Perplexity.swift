// Perplexity over non-overlapping windows: the token stream is cut into windows of `context` tokens
// (the last partial window dropped), each window evaluated on its own, every position after the first
// predicted; PPL = exp(mean NLL). A model whose tokenizer adds BOS (Gemma) gets BOS first in every
// window and `context − 1` stream tokens after it, as llama.cpp's perplexity does. The standard error follows by the delta method:
// se(PPL) ≈ PPL · sd(NLL) / √n.
import Foundation
import LLMModels
import LLMTensor

public struct PerplexityResult: Sendable, Codable, Equatable {
    public var perplexity: Double
    public var stderr: Double
    public var windows: Int
    /// Predicted tokens.
    public var tokens: Int
    public var tokensPerSecond: Double
    public var meanNLL: Double

    enum CodingKeys: String, CodingKey {
        case perplexity, stderr, windows, tokens
        case tokensPerSecond = "tokens_per_second"
        case meanNLL = "mean_nll"
    }
}

public enum PerplexityError: Error, Equatable, CustomStringConvertible {
    case tooFewTokens(have: Int, need: Int)
    case invalidContext(Int, max: Int)
    case invalidWindow(tokens: Int, context: Int)

    public var description: String {
        switch self {
        case .tooFewTokens(let have, let need):
            return "the text has \(have) tokens, fewer than one window of \(need); pass more text or a smaller --context"
        case .invalidContext(let c, let max):
            return "--context \(c) must be between 2 and the model's context length \(max)"
        case .invalidWindow(let n, let c):
            return "a window of \(n) tokens cannot be scored with context \(c); windows need 2 to \(c) tokens"
        }
    }
}

public struct PerplexityEvaluator {
    public let model: LanguageModel
    public let context: Int
    /// Windows evaluated together in one batched forward pass.
    public let windowsPerBatch: Int

    public init(model: LanguageModel, context: Int = 256, rowsPerBatch: Int = 1024) throws {
        guard context >= 2, context <= model.config.contextLength else {
            throw PerplexityError.invalidContext(context, max: model.config.contextLength)
        }
        self.model = model
        self.context = context
        windowsPerBatch = max(1, rowsPerBatch / context)
    }

    /// Windows of the token stream, at most `maxWindows`.
    public func windows(_ tokens: [Int], maxWindows: Int? = nil) throws -> [[Int]] {
        let bos = model.tokenizer.addBOS ? model.tokenizer.bosID : nil
        let width = bos == nil ? context : context - 1
        let n = tokens.count / width
        guard n > 0 else { throw PerplexityError.tooFewTokens(have: tokens.count, need: width) }
        return (0..<min(n, maxWindows ?? n)).map { (bos.map { [$0] } ?? []) + tokens[$0 * width..<($0 + 1) * width] }
    }

    /// Negative log-likelihood of every predicted token of each window, window by window.
    public func nll(windows: [[Int]], progress: ((Int, Int) -> Void)? = nil) throws -> [[Double]] {
        var result: [[Double]] = []
        var start = 0
        while start < windows.count {
            let batch = Array(windows[start..<min(windows.count, start + windowsPerBatch)])
            // Every position of a window but its last predicts the next token: rows and their targets.
            var rows: [Int] = [], targets: [Int] = [], owner: [Int] = []
            var offset = 0
            for (i, w) in batch.enumerated() {
                for t in 0..<(w.count - 1) { rows.append(offset + t); targets.append(w[t + 1]); owner.append(i) }
                offset += w.count
            }
            var nll = [[Double]](repeating: [], count: batch.count)
            let V = model.vocabularySize
            try model.forward(batch, rows: rows) { first, chunk, n in
                for i in 0..<n {
                    let row = chunk + i * V
                    nll[owner[first + i]].append(Kernels.logSumExp(row, V) - Double(row[targets[first + i]]))
                }
            }
            result += nll
            start += batch.count
            progress?(start, windows.count)
        }
        return result
    }

    public func evaluate(tokens: [Int], maxWindows: Int? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> PerplexityResult {
        try evaluate(windows: windows(tokens, maxWindows: maxWindows), progress: progress)
    }

    /// Perplexity over given windows (each of at most `context` tokens, evaluated on its own).
    public func evaluate(windows ws: [[Int]], progress: ((Int, Int) -> Void)? = nil) throws -> PerplexityResult {
        for w in ws where w.count < 2 || w.count > context { throw PerplexityError.invalidWindow(tokens: w.count, context: context) }
        let clock = ContinuousClock()
        let start = clock.now
        let all = try nll(windows: ws, progress: progress).flatMap { $0 }
        let seconds = (clock.now - start) / .seconds(1)
        return Self.summarize(all, windows: ws.count, processedTokens: ws.reduce(0) { $0 + $1.count }, seconds: seconds)
    }

    static func summarize(_ nll: [Double], windows: Int, processedTokens: Int, seconds: Double) -> PerplexityResult {
        let n = Double(nll.count)
        let mean = nll.reduce(0, +) / n
        let variance = nll.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(n - 1, 1)
        let ppl = Foundation.exp(mean)
        return PerplexityResult(perplexity: ppl, stderr: ppl * (variance / n).squareRoot(), windows: windows,
                                tokens: nll.count, tokensPerSecond: Double(processedTokens) / max(seconds, 1e-9), meanNLL: mean)
    }
}
