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
        let (file, plan) = try openWithPlan()
        return try timedLoad { try LlamaModel(file: file, options: LoadOptions(threads: threads, plan: plan)) }
    }

    /// The model as stored, and the --drop-plan removals for it (not applied): for comparing the two
    /// with shared weights.
    func loadOriginal() throws -> (LlamaModel, LayerPlan?) {
        let (file, plan) = try openWithPlan()
        return (try timedLoad { try LlamaModel(file: file, options: LoadOptions(threads: threads)) }, plan)
    }

    private func openWithPlan() throws -> (GGUFFile, LayerPlan?) {
        let file = try GGUFFile(path: model)
        guard let dropPlan else { return (file, nil) }
        return (file, try PlanFile.load(path: dropPlan, layers: LlamaConfig(file: file).layerCount))
    }

    private func timedLoad(_ body: () throws -> LlamaModel) rethrows -> LlamaModel {
        let start = ContinuousClock.now
        let m = try body()
        Log.info("loaded \(URL(fileURLWithPath: model).lastPathComponent)\(dropPlan.map { " with plan \($0)" } ?? "") in \(Format.seconds(ContinuousClock.now - start))")
        return m
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print machine-readable JSON on stdout.")
    var json = false
}
