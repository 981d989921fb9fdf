// Option groups shared by the subcommands: the model and its load settings, and the output format.
import ArgumentParser
import Foundation
import LLMDrop
import LLMFormats
import LLMModels

struct ModelOptions: ParsableArguments {
    @Argument(help: "Path of a GGUF model file.")
    var model: String

    @Option(help: "Threads for matrix products and kernels (default: number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Remove sublayers at load: a plan from `llm-drop drop --plan-out`, or an LLM-Drop config.json (drop_attn_list / drop_mlp_list).")
    var dropPlan: String?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads)); pass e.g. --threads \(ProcessInfo.processInfo.activeProcessorCount)") }
        guard threads <= 1024 else { throw ValidationError("--threads \(threads) is more than 1024; pass at most the number of cores") }
    }

    func load() throws -> LlamaModel {
        let start = ContinuousClock.now
        let file = try GGUFFile(path: model)
        var plan: LayerPlan?
        if let dropPlan {
            plan = try PlanFile.load(path: dropPlan, layers: LlamaConfig(file: file).layerCount)
        }
        let model = try LlamaModel(file: file, options: LoadOptions(threads: threads, plan: plan))
        Log.info("loaded \(URL(fileURLWithPath: self.model).lastPathComponent) in \(Format.seconds(ContinuousClock.now - start))")
        return model
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print machine-readable JSON on stdout.")
    var json = false
}
