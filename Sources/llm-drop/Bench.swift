// `llm-drop bench MODEL`: prefill and decode speed, KV cache and peak memory.
import ArgumentParser
import Foundation
import LLMEval
import LLMModels

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure prefill and decode speed, KV-cache size and peak memory.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Prompt lengths to prefill, comma-separated.")
    var promptTokens = "128,512"

    @Option(help: "Tokens to decode after the first prompt.")
    var decodeTokens = 128

    @Option(help: "Timed repetitions per figure (the median is reported).")
    var repetitions = 3

    @OptionGroup var output: OutputOptions

    var lengths: [Int] { promptTokens.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        let parts = promptTokens.split(separator: ",")
        guard !parts.isEmpty, lengths.count == parts.count, lengths.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--prompt-tokens must be positive integers separated by commas (got '\(promptTokens)')")
        }
        guard decodeTokens >= 0 else { throw ValidationError("--decode-tokens must be 0 or more (got \(decodeTokens))") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1 (got \(repetitions))") }
    }

    func run() throws {
        let model = try modelOptions.load()
        for n in lengths where n + decodeTokens > model.config.contextLength {
            throw ModelError.contextOverflow(tokens: n + decodeTokens, contextLength: model.config.contextLength)
        }
        let bench = SpeedBenchmark(model: model, repetitions: repetitions)
        var results: [SpeedResult] = []
        for (i, n) in lengths.enumerated() {
            Log.info("benchmarking prompt of \(n) tokens\(i == 0 && decodeTokens > 0 ? " + \(decodeTokens) decoded" : "")")
            results.append(try bench.run(promptTokens: n, decodeTokens: i == 0 ? decodeTokens : 0))
        }
        let rss = peakResidentBytes()
        if output.json {
            try printJSON([
                "model": modelOptions.model,
                "threads": modelOptions.threads,
                "runs": results.map { r -> [String: Any] in
                    var d: [String: Any] = ["prompt_tokens": r.promptTokens, "prefill_tokens_per_second": r.prefillTokensPerSecond]
                    if r.decodeTokens > 0 {
                        d["decode_tokens"] = r.decodeTokens
                        d["decode_tokens_per_second"] = r.decodeTokensPerSecond
                        d["kv_cache_bytes"] = r.kvCacheBytes
                    }
                    return d
                },
                "kv_cache_bytes_per_token": model.kvCacheBytesPerToken,
                "peak_rss_bytes": rss,
            ])
        } else {
            print("model \(modelOptions.model), \(modelOptions.threads) threads")
            print("what                      tokens/s")
            for r in results {
                print(String(format: "prefill %4d tokens       %8.1f", r.promptTokens, r.prefillTokensPerSecond))
                if r.decodeTokens > 0 {
                    print(String(format: "decode  %4d tokens       %8.1f", r.decodeTokens, r.decodeTokensPerSecond))
                }
            }
            print("KV cache per token        \(Format.bytes(model.kvCacheBytesPerToken))")
            print("peak RSS                  \(Format.bytes(rss))")
        }
    }
}
