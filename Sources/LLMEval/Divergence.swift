// How far a dropped model is from the original, token by token on the same windows (as llama.cpp's
// --kl-divergence): mean KL(original ‖ dropped) of the next-token distributions with its standard
// error, how often both pick the same top-1 token, and both perplexities. Needs no labels, so it
// works on self-generated text too.
import Foundation
import LLMDrop
import LLMFormats
import LLMModels
import LLMTensor

public struct DivergenceResult: Sendable, Codable, Equatable {
    public var meanKL: Double
    public var klStderr: Double
    /// Fraction of positions where both models' argmax agree.
    public var top1Agreement: Double
    public var perplexityOriginal: Double
    public var perplexityDropped: Double
    public var perplexityRatio: Double
    public var tokens: Int
    public var windows: Int

    enum CodingKeys: String, CodingKey {
        case meanKL = "mean_kl", klStderr = "kl_stderr", top1Agreement = "top1_agreement"
        case perplexityOriginal = "perplexity_original", perplexityDropped = "perplexity_dropped"
        case perplexityRatio = "perplexity_ratio", tokens, windows
    }
}

public struct DivergenceEvaluator {
    public let original: LanguageModel
    public let dropped: LanguageModel
    /// Rows per batched forward call.
    public let rowsPerBatch: Int

    public init(original: LanguageModel, dropped: LanguageModel, rowsPerBatch: Int = 1024) {
        self.original = original
        self.dropped = dropped
        self.rowsPerBatch = max(1, rowsPerBatch)
    }

    /// Compares the models on `windows` (each evaluated on its own; every position after the first predicted).
    /// With `reference`, the original's hidden states of each batch are computed once and kept there,
    /// so that many dropped models are compared on the same windows without running the original again.
    public func evaluate(windows: [[Int]], reference: ReferenceStates? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> DivergenceResult {
        var kl: [Double] = [], agree = 0, nllP = 0.0, nllQ = 0.0
        var start = 0
        while start < windows.count {
            var end = start, batchRows = 0
            while end < windows.count && (end == start || batchRows + windows[end].count <= rowsPerBatch) { batchRows += windows[end].count; end += 1 }
            let batch = Array(windows[start..<end])
            // Both models' final hidden states, then their logits a chunk of rows at a time: never a
            // whole [rows × V] matrix of either.
            let hp = try reference?.states(start, batch, original) ?? original.hiddenStates(batch)
            let hq = try dropped.hiddenStates(batch)
            var rows: [Int] = [], targets: [Int] = []
            var offset = 0
            for w in batch {
                for t in 0..<(w.count - 1) { rows.append(offset + t); targets.append(w[t + 1]) }
                offset += w.count
            }
            let V = original.vocabularySize
            var p = [Float](repeating: 0, count: LanguageModel.logitChunkRows * V)
            for first in stride(from: 0, to: rows.count, by: LanguageModel.logitChunkRows) {
                let chunkRows = Array(rows[first..<min(rows.count, first + LanguageModel.logitChunkRows)])
                try p.withUnsafeMutableBufferPointer { pb in
                    try original.logits(hp, rows: chunkRows) { _, chunk, n in pb.baseAddress!.update(from: chunk, count: n * V) }
                    try dropped.logits(hq, rows: chunkRows) { _, q, n in
                        for i in 0..<n {
                            let c = Self.compare(pb.baseAddress! + i * V, q + i * V, V, target: targets[first + i])
                            kl.append(c.kl)
                            agree += c.agree ? 1 : 0
                            nllP += c.nllP
                            nllQ += c.nllQ
                        }
                    }
                }
            }
            start = end
            progress?(start, windows.count)
        }
        let n = Double(kl.count)
        let mean = kl.reduce(0, +) / n
        let variance = kl.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(n - 1, 1)
        let pplP = Foundation.exp(nllP / n), pplQ = Foundation.exp(nllQ / n)
        return DivergenceResult(meanKL: mean, klStderr: (variance / n).squareRoot(), top1Agreement: Double(agree) / n,
                                perplexityOriginal: pplP, perplexityDropped: pplQ, perplexityRatio: pplQ / pplP,
                                tokens: kl.count, windows: windows.count)
    }

    /// KL(p ‖ q) of one row's next-token distributions (Float64), top-1 agreement, and both NLLs of `target`.
    static func compare(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ V: Int, target: Int) -> (kl: Double, agree: Bool, nllP: Double, nllQ: Double) {
        let lseA = Kernels.logSumExp(a, V), lseB = Kernels.logSumExp(b, V)
        var kl = 0.0
        var argA = 0, argB = 0
        for i in 0..<V {
            let la = Double(a[i]) - lseA, lb = Double(b[i]) - lseB
            kl += Foundation.exp(la) * (la - lb)
            if a[i] > a[argA] { argA = i }
            if b[i] > b[argB] { argB = i }
        }
        return (max(kl, 0), argA == argB, lseA - Double(a[target]), lseB - Double(b[target]))
    }
}

/// The original model's final hidden states per batch of comparison windows (a few MiB), for
/// `DivergenceEvaluator.evaluate(windows:reference:)`: one instance per (original, windows) pair.
public final class ReferenceStates {
    private var batches: [Int: HiddenStates] = [:]
    private var owner: ObjectIdentifier?

    public init() {}

    func states(_ start: Int, _ batch: [[Int]], _ model: LanguageModel) throws -> HiddenStates {
        if owner == nil { owner = ObjectIdentifier(model) }
        guard owner == ObjectIdentifier(model) else { return try model.hiddenStates(batch) }
        if let h = batches[start], h.rows == batch.reduce(0, { $0 + $1.count }) { return h }
        let h = try model.hiddenStates(batch)
        batches[start] = h
        return h
    }
}

/// The windows a dropped model is compared with the original on: non-overlapping perplexity windows of
/// a text file (documents joined with blank lines; BOS first in each for models that add it), or
/// samples the original generates itself from its BOS token with a seed calibration did not use.
public enum ComparisonWindows {
    public enum Source: Sendable, Equatable {
        case file(String)
        case selfGenerated(seed: UInt64)
    }

    /// Self-generated windows when no count is given.
    public static let defaultSelfWindows = 8

    public static func make(model: LanguageModel, source: Source, context: Int, maxWindows: Int? = nil,
                            progress: ((Int, Int) -> Void)? = nil) throws -> [[Int]] {
        switch source {
        case .selfGenerated(let seed):
            return try CalibrationSet.selfGenerated(model: model, samples: maxWindows ?? defaultSelfWindows, length: context,
                                                    seed: seed, progress: progress).samples
        case .file(let path):
            let tokens = model.tokenizer.encode(try TextCorpus.documents(at: path).joined(separator: "\n\n"), addSpecialTokens: false)
            return try PerplexityEvaluator(model: model, context: context).windows(tokens, maxWindows: maxWindows)
        }
    }
}
