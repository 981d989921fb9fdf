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
        Log.info("measuring this machine's read bandwidth and SGEMM rates")
        let limits = SpeedLimits.measure(variants[0].model, promptLengths: speed.lengths)
        // Per run: weight bytes read per second while decoding, FLOP/s while prefilling (weights and attention).
        let rates: [[String: Double]] = zip(runs, runs.map { r in variants.first { $0.plan == r.plan }!.model }).map { r, model in
            let prefill = SpeedLimits.prefillFLOPs(model, promptTokens: r.promptTokens) * r.prefillTokensPerSecond / Double(r.promptTokens) / 1e9
            var rate = ["prefill_gflop_per_second": prefill]
            if let sgemm = limits.sgemmRate(promptTokens: r.promptTokens) { rate["prefill_of_sgemm"] = prefill / sgemm }
            if let d = r.decodeTokensPerSecond { rate["decode_read_gb_per_second"] = Double(model.decodeWeightBytes) * d / 1e9 }
            return rate
        }
        var json: [String: Any] = ["runs": try JSONSerialization.jsonObject(with: JSONEncoder().encode(runs)), "threads": modelOptions.threads,
                                   "blas_core": BLAS.coreName, "kernels": KernelSet.active, "activations": modelOptions.activations.rawValue, "rates": rates,
                                   "limits": try JSONSerialization.jsonObject(with: JSONEncoder().encode(limits))]
        if let speedup { json["speedup"] = speedup }
        if let report {
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]), to: report)
        }
        if output.json {
            try printJSON(json)
            return
        }
        print("threads \(modelOptions.threads), kernels \(KernelSet.active), activations \(modelOptions.activations.rawValue), \(speed.repetitions) repetitions, medians")
        let table = [["model", "prompt", "prefill tok/s", "decode tok/s", "KV cache", "peak RSS"]] + runs.map { r in
            [r.plan.map { "dropped (\(URL(fileURLWithPath: $0).lastPathComponent))" } ?? "original", "\(r.promptTokens)",
             String(format: "%.1f", r.prefillTokensPerSecond), r.decodeTokensPerSecond.map { String(format: "%.1f", $0) } ?? "-",
             Format.bytes(r.kvCacheBytes), Format.bytes(r.peakRSSBytes)]
        }
        print(Format.table(table))
        print("")
        print("limits measured in this run: reading \(Format.bytes(limits.decodeWeightBytes)) (the weights of one token) "
              + String(format: "%.1f GB/s; SGEMM ", limits.readGBPerSecond)
              + limits.sgemm.map { String(format: "%@ %.1f", $0.shape.map(String.init).joined(separator: "×"), $0.gflopPerSecond) }.joined(separator: ", ")
              + " GFLOP/s")
        print(Format.table([["model", "prompt", "prefill GFLOP/s", "of SGEMM", "decode GB/s", "of read"]] + zip(runs, rates).map { r, rate in
            let d = rate["decode_read_gb_per_second"]
            return [r.plan == nil ? "original" : "dropped", "\(r.promptTokens)", String(format: "%.1f", rate["prefill_gflop_per_second"]!),
                    rate["prefill_of_sgemm"].map { String(format: "%.2f", $0) } ?? "-", d.map { String(format: "%.1f", $0) } ?? "-",
                    d.map { String(format: "%.2f", $0 / limits.readGBPerSecond) } ?? "-"]
        }))
        print("prefill FLOPs: the weight matrices' for every token, attention's q·k and p·v over the keys each query sees, the head once; "
              + "SGEMM at [prompt × hidden] · [hidden × MLP width]")
        if let speedup {
            print("")
            print(Format.table([["ratio (dropped / original)", "value"]] + speedup.sorted { $0.key < $1.key }.map { [$0.key, String(format: "%.3f", $0.value)] }))
        }
    }
}
