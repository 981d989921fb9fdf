// Speed and memory, in the spirit of llama-bench and the paper's benchmark: prefill tokens/s per
// prompt length (median over repetitions), decode tokens/s (median per-token time over all generated
// tokens, greedy, EOS ignored), KV-cache bytes at the end, peak resident memory. Several variants of
// a model (e.g. original and dropped) are measured interleaved in one run, so that machine noise
// hits them alike and their ratios are fair.
import Foundation
import LLMModels
import LLMTokenizer

public struct SpeedRun: Sendable, Codable, Equatable {
    public var model: String
    /// The drop plan of this variant, or nil for the model as loaded.
    public var plan: String?
    public var promptTokens: Int
    public var prefillTokensPerSecond: Double
    /// Tokens generated after the prompt (0: prefill only).
    public var genTokens: Int
    public var decodeTokensPerSecond: Double?
    /// KV cache in use after prefill and generation.
    public var kvCacheBytes: Int
    public var peakRSSBytes: Int

    enum CodingKeys: String, CodingKey {
        case model, plan
        case promptTokens = "prompt_tokens"
        case prefillTokensPerSecond = "prefill_tokens_per_second"
        case genTokens = "gen_tokens"
        case decodeTokensPerSecond = "decode_tokens_per_second"
        case kvCacheBytes = "kv_cache_bytes"
        case peakRSSBytes = "peak_rss_bytes"
    }

    public init(model: String, plan: String?, promptTokens: Int, prefillTokensPerSecond: Double, genTokens: Int,
                decodeTokensPerSecond: Double?, kvCacheBytes: Int, peakRSSBytes: Int) {
        self.model = model
        self.plan = plan
        self.promptTokens = promptTokens
        self.prefillTokensPerSecond = prefillTokensPerSecond
        self.genTokens = genTokens
        self.decodeTokensPerSecond = decodeTokensPerSecond
        self.kvCacheBytes = kvCacheBytes
        self.peakRSSBytes = peakRSSBytes
    }
}

public struct BenchVariant {
    public let model: LanguageModel
    public let name: String
    public let plan: String?

    public init(model: LanguageModel, name: String, plan: String?) {
        self.model = model
        self.name = name
        self.plan = plan
    }
}

public struct SpeedBenchmark {
    public let repetitions: Int

    public init(repetitions: Int = 3) {
        self.repetitions = max(1, repetitions)
    }

    /// A deterministic prompt of exactly `count` tokens: ordinary English text, repeated as needed.
    public static func prompt(tokens count: Int, tokenizer: any Tokenizer) -> [Int] {
        let text = "The history of the lighthouse is a story of engineering, weather and patience. Keepers "
            + "trimmed the wicks each night, polished the lenses and logged every passing ship. "
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        return (0..<count).map { ids[$0 % ids.count] }
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let t0 = clock.now
        try body()
        return (clock.now - t0) / .seconds(1)
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? 0 : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Measures every variant at every prompt length, and decoding `genTokens` tokens after the first
    /// prompt length; one untimed warm-up per variant, then the repetitions interleaved.
    public func run(_ variants: [BenchVariant], promptLengths: [Int], genTokens: Int,
                    progress: ((String) -> Void)? = nil) throws -> [SpeedRun] {
        var prefill = Array(repeating: Array(repeating: [Double](), count: promptLengths.count), count: variants.count)
        var decode = Array(repeating: [Double](), count: variants.count)
        var kvBytes = Array(repeating: Array(repeating: 0, count: promptLengths.count), count: variants.count)
        for v in variants { _ = try v.model.forward([Self.prompt(tokens: 16, tokenizer: v.model.tokenizer)], logits: .last) }
        for rep in 1...repetitions {
            for (i, n) in promptLengths.enumerated() {
                for (j, v) in variants.enumerated() {
                    progress?("repetition \(rep)/\(repetitions): \(v.plan == nil ? "original" : "dropped") model, prefill \(n) tokens")
                    let prompt = Self.prompt(tokens: n, tokenizer: v.model.tokenizer)
                    let cache = try v.model.makeCache(capacity: n + (i == 0 ? genTokens : 0))
                    var logits: [Float] = []
                    prefill[j][i].append(try Self.seconds { logits = try v.model.forward(appending: prompt, to: cache, logits: .last).storage })
                    if i == 0 && genTokens > 0 {
                        progress?("repetition \(rep)/\(repetitions): \(v.plan == nil ? "original" : "dropped") model, decode \(genTokens) tokens")
                        decode[j] += try decodeTimes(v.model, cache: cache, logits: logits, count: genTokens)
                    }
                    kvBytes[j][i] = cache.usedBytes
                }
            }
        }
        let rss = peakResidentBytes()
        var runs: [SpeedRun] = []
        for (j, v) in variants.enumerated() {
            for (i, n) in promptLengths.enumerated() {
                let decodes = i == 0 && genTokens > 0
                runs.append(SpeedRun(model: v.name, plan: v.plan, promptTokens: n,
                                     prefillTokensPerSecond: Double(n) / Self.median(prefill[j][i]),
                                     genTokens: decodes ? genTokens : 0,
                                     decodeTokensPerSecond: decodes ? 1 / Self.median(decode[j]) : nil,
                                     kvCacheBytes: kvBytes[j][i], peakRSSBytes: rss))
            }
        }
        return runs
    }

    /// Seconds of each single-token step of greedy decoding, continuing `cache` from its last `logits`.
    func decodeTimes(_ model: LanguageModel, cache: KVCache, logits: [Float], count: Int) throws -> [Double] {
        var logits = logits
        var times: [Double] = []
        for _ in 0..<count {
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            times.append(try Self.seconds { logits = try model.forward(appending: [next], to: cache, logits: .last).storage })
        }
        return times
    }
}

/// Peak resident memory of this process so far (getrusage).
public func peakResidentBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss)
    #endif
}
