// Before/after measurements of a drop plan, in one report: KV cache, divergence, perplexity, task
// accuracy and speed of the original and the dropped model (which share their weights).
import Foundation
import LLMDrop
import LLMModels

public struct BeforeAfter<T: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var original: T
    public var dropped: T

    public init(original: T, dropped: T) {
        self.original = original
        self.dropped = dropped
    }
}

public struct DropReport: Codable, Sendable {
    public var model: String
    public var plan: DropPlan
    public var calibration: String
    public var kvCacheBytesPerToken: BeforeAfter<Int>
    public var divergence: DivergenceResult?
    public var perplexity: BeforeAfter<PerplexityResult>?
    public var tasks: [String: BeforeAfter<TaskResult>]
    public var speed: [SpeedRun]
    public var speedup: [String: Double]
    public var output: String?

    enum CodingKeys: String, CodingKey {
        case model, plan, calibration, divergence, perplexity, tasks, speed, speedup, output
        case kvCacheBytesPerToken = "kv_cache_bytes_per_token"
    }

    public init(model: String, plan: DropPlan, calibration: String, kvCacheBytesPerToken: BeforeAfter<Int>) {
        self.model = model
        self.plan = plan
        self.calibration = calibration
        self.kvCacheBytesPerToken = kvCacheBytesPerToken
        tasks = [:]
        speed = []
        speedup = [:]
    }
}

public enum SpeedComparison {
    /// Ratios dropped / original from interleaved runs: prefill per prompt length, decode, and the
    /// fraction of KV cache saved.
    public static func speedup(_ runs: [SpeedRun]) -> [String: Double] {
        var out: [String: Double] = [:]
        let original = runs.filter { $0.plan == nil }, dropped = runs.filter { $0.plan != nil }
        for a in original {
            if let b = dropped.first(where: { $0.promptTokens == a.promptTokens }) {
                out["prefill_\(a.promptTokens)"] = b.prefillTokensPerSecond / a.prefillTokensPerSecond
            }
        }
        if let a = original.first(where: { $0.decodeTokensPerSecond != nil }), let b = dropped.first(where: { $0.decodeTokensPerSecond != nil }),
           let da = a.decodeTokensPerSecond, let db = b.decodeTokensPerSecond {
            out["decode"] = db / da
            out["kv_cache_saving"] = a.kvCacheBytes > 0 ? 1 - Double(b.kvCacheBytes) / Double(a.kvCacheBytes) : 0
        }
        return out
    }
}
