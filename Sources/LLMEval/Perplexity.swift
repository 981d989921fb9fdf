// Perplexity over non-overlapping windows: the token stream is cut into windows of `context` tokens
// (the last partial window dropped), each window evaluated on its own, every position after the first
// predicted; PPL = exp(mean NLL). The standard error follows by the delta method:
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

    public var description: String {
        switch self {
        case .tooFewTokens(let have, let need):
            return "the text has \(have) tokens, fewer than one window of \(need); pass more text or a smaller --context"
        case .invalidContext(let c, let max):
            return "--context \(c) must be between 2 and the model's context length \(max)"
        }
    }
}

public struct PerplexityEvaluator {
    public let model: LlamaModel
    public let context: Int
    /// Windows evaluated together in one batched forward pass.
    public let windowsPerBatch: Int

    public init(model: LlamaModel, context: Int = 256, rowsPerBatch: Int = 1024) throws {
        guard context >= 2, context <= model.config.contextLength else {
            throw PerplexityError.invalidContext(context, max: model.config.contextLength)
        }
        self.model = model
        self.context = context
        windowsPerBatch = max(1, rowsPerBatch / context)
    }

    /// Windows of the token stream, at most `maxWindows`.
    public func windows(_ tokens: [Int], maxWindows: Int? = nil) throws -> [[Int]] {
        let n = tokens.count / context
        guard n > 0 else { throw PerplexityError.tooFewTokens(have: tokens.count, need: context) }
        return (0..<min(n, maxWindows ?? n)).map { Array(tokens[$0 * context..<($0 + 1) * context]) }
    }

    /// Negative log-likelihood of every predicted token of each window, window by window.
    public func nll(windows: [[Int]], progress: ((Int, Int) -> Void)? = nil) throws -> [[Double]] {
        var result: [[Double]] = []
        var start = 0
        while start < windows.count {
            let batch = Array(windows[start..<min(windows.count, start + windowsPerBatch)])
            let logits = try model.forward(batch, logits: .all)
            var row = 0
            for w in batch {
                result.append(Self.nll(logits: logits, firstRow: row, targets: w))
                row += w.count
            }
            start += batch.count
            progress?(start, windows.count)
        }
        return result
    }

    /// −log p(targets[t+1] | ≤ t) for t < T−1, from logits rows firstRow..<firstRow+T.
    static func nll(logits: Matrix, firstRow: Int, targets: [Int]) -> [Double] {
        logits.storage.withUnsafeBufferPointer { buf in
            (0..<targets.count - 1).map { t in
                let row = buf.baseAddress! + (firstRow + t) * logits.cols
                return Kernels.logSumExp(row, logits.cols) - Double(row[targets[t + 1]])
            }
        }
    }

    public func evaluate(tokens: [Int], maxWindows: Int? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> PerplexityResult {
        let ws = try windows(tokens, maxWindows: maxWindows)
        let clock = ContinuousClock()
        let start = clock.now
        let all = try nll(windows: ws, progress: progress).flatMap { $0 }
        let seconds = (clock.now - start) / .seconds(1)
        return Self.summarize(all, windows: ws.count, processedTokens: ws.count * context, seconds: seconds)
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
