// Speed and memory of a model: prefill tokens/s for prompts of given lengths, decode tokens/s over a
// run of generated tokens (greedy, EOS ignored), KV-cache bytes and peak resident memory.
import Foundation
import LLMModels

public struct SpeedResult: Sendable, Codable, Equatable {
    public var promptTokens: Int
    public var prefillTokensPerSecond: Double
    public var decodeTokens: Int
    public var decodeTokensPerSecond: Double
    /// KV cache in use after prefill and decode.
    public var kvCacheBytes: Int

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case prefillTokensPerSecond = "prefill_tokens_per_second"
        case decodeTokens = "decode_tokens"
        case decodeTokensPerSecond = "decode_tokens_per_second"
        case kvCacheBytes = "kv_cache_bytes"
    }
}

public struct SpeedBenchmark {
    public let model: LlamaModel
    /// Timed repetitions per measurement; the median is reported.
    public let repetitions: Int

    public init(model: LlamaModel, repetitions: Int = 3) {
        self.model = model
        self.repetitions = max(1, repetitions)
    }

    /// A deterministic prompt of exactly `count` tokens: ordinary English text, repeated as needed.
    public func prompt(tokens count: Int) -> [Int] {
        let text = "The history of the lighthouse is a story of engineering, weather and patience. Keepers "
            + "trimmed the wicks each night, polished the lenses and logged every passing ship. "
        let ids = model.tokenizer.encode(text, addSpecialTokens: false)
        return (0..<count).map { ids[$0 % ids.count] }
    }

    /// Median of the seconds `body` reports over the repetitions, after one untimed warm-up.
    private func median(_ body: () throws -> Double) rethrows -> Double {
        _ = try body()
        var times: [Double] = []
        for _ in 0..<repetitions { times.append(try body()) }
        return times.sorted()[times.count / 2]
    }

    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let t0 = clock.now
        try body()
        return (clock.now - t0) / .seconds(1)
    }

    /// Prefill of a `promptTokens` prompt, then `decodeTokens` single-token steps after it.
    public func run(promptTokens: Int, decodeTokens: Int) throws -> SpeedResult {
        let prompt = prompt(tokens: promptTokens)
        let prefill = try median {
            let cache = try model.makeCache(capacity: promptTokens)
            return try seconds { _ = try model.forward(appending: prompt, to: cache, logits: .last) }
        }
        var kvBytes = 0
        let decode = decodeTokens == 0 ? 0 : try median {
            let cache = try model.makeCache(capacity: promptTokens + decodeTokens)
            var logits = try model.forward(appending: prompt, to: cache, logits: .last).storage
            let s = try seconds {
                for _ in 0..<decodeTokens {
                    let next = logits.indices.max { logits[$0] < logits[$1] }!
                    logits = try model.forward(appending: [next], to: cache, logits: .last).storage
                }
            }
            kvBytes = cache.usedBytes
            return s
        }
        return SpeedResult(promptTokens: promptTokens, prefillTokensPerSecond: Double(promptTokens) / prefill,
                           decodeTokens: decodeTokens,
                           decodeTokensPerSecond: decodeTokens > 0 ? Double(decodeTokens) / decode : 0,
                           kvCacheBytes: kvBytes)
    }
}

/// Peak resident memory of this process so far (getrusage).
public func peakResidentBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    #if os(Linux)
    return Int(usage.ru_maxrss) * 1024
    #else
    return Int(usage.ru_maxrss)
    #endif
}
