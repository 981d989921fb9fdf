// `llm-drop bench MODEL [--drop-plan PLAN] [--baseline]`: prefill and decode speed, KV cache and peak
// memory; with --baseline the original and the dropped model are measured interleaved, with ratios.
import ArgumentParser
import Foundation
import LLMEval
import LLMDrop
import LLMModels
import LLMTensor

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure prefill and decode speed, KV-cache size and peak memory.")

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "With --drop-plan: also measure the original model, interleaved, and print the speedups.")
    var baseline = false

    @OptionGroup var speed: SpeedOptions

    @Option(help: "Also write the JSON results to this file.")
    var report: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if baseline && modelOptions.dropPlan == nil { throw ValidationError("--baseline compares with a dropped model; pass --drop-plan PLAN too") }
    }

    func run() throws {
        var variants: [BenchVariant]
        if baseline {
            // One load: the dropped model shares the original's weights, only the plan differs.
            let (original, plan) = try modelOptions.loadOriginal()
            variants = [BenchVariant(model: original, name: modelOptions.model, plan: nil),
                        BenchVariant(model: try original.removing(plan ?? .full(layers: original.layerCount)), name: modelOptions.model, plan: modelOptions.dropPlan)]
        } else {
            variants = [BenchVariant(model: try modelOptions.load(), name: modelOptions.model, plan: modelOptions.dropPlan)]
        }
        let runs = try speed.measure(variants)
        let speedup = baseline ? SpeedComparison.speedup(runs) : nil
        var json: [String: Any] = ["runs": try JSONSerialization.jsonObject(with: JSONEncoder().encode(runs)), "threads": modelOptions.threads,
                                   "blas_core": BLAS.coreName]
        if let speedup { json["speedup"] = speedup }
        if let report {
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]), to: report)
        }
        if output.json {
            try printJSON(json)
            return
        }
        print("threads \(modelOptions.threads), \(speed.repetitions) repetitions, medians")
        let table = [["model", "prompt", "prefill tok/s", "decode tok/s", "KV cache", "peak RSS"]] + runs.map { r in
            [r.plan.map { "dropped (\(URL(fileURLWithPath: $0).lastPathComponent))" } ?? "original", "\(r.promptTokens)",
             String(format: "%.1f", r.prefillTokensPerSecond), r.decodeTokensPerSecond.map { String(format: "%.1f", $0) } ?? "-",
             Format.bytes(r.kvCacheBytes), Format.bytes(r.peakRSSBytes)]
        }
        print(Format.table(table))
        if let speedup {
            print("")
            print(Format.table([["ratio (dropped / original)", "value"]] + speedup.sorted { $0.key < $1.key }.map { [$0.key, String(format: "%.3f", $0.value)] }))
        }
    }
}
