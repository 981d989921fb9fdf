// Option groups shared by the subcommands: the model and its load settings, and the output format.
import ArgumentParser
import Foundation
import LLMDrop
import LLMEval
import LLMFormats
import LLMModels
import LLMTensor

struct ModelOptions: ParsableArguments {
    @Argument(help: "A GGUF model file, or a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "Threads for matrix products and kernels (default: number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Remove sublayers at load: a plan from `llm-drop drop --plan-out`, or an LLM-Drop config.json (drop_attn_list / drop_mlp_list).")
    var dropPlan: String?

    @Option(help: "Inputs of the quantised matrix products: f32 (default: the figures that match PyTorch) or int8 (8-bit blocks multiplied in integers, as llama.cpp does: slightly different results, and no faster since f32 products read weights interleaved across rows — decoding at 0.6–1.0× of f32 where measured; `llm-drop kld MODEL --activations int8` measures the difference).")
    var activations: ActivationPrecision = .float32

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads)); pass e.g. --threads \(ProcessInfo.processInfo.activeProcessorCount)") }
        guard threads <= 1024 else { throw ValidationError("--threads \(threads) is more than 1024; pass at most the number of cores") }
    }

    func load() throws -> LanguageModel {
        let (file, plan) = try openWithPlan()
        return try timedLoad { try LanguageModel(source: file, options: LoadOptions(threads: threads, plan: plan, activations: activations)) }
    }

    /// The model as stored, and the --drop-plan removals for it (not applied): for comparing the two
    /// with shared weights. `activations` overrides --activations (kld's original computes in f32).
    func loadOriginal(activations asked: ActivationPrecision? = nil) throws -> (LanguageModel, LayerPlan?) {
        let (file, plan) = try openWithPlan()
        let options = LoadOptions(threads: threads, activations: asked ?? activations)
        return (try timedLoad { try LanguageModel(source: file, options: options) }, plan)
    }

    func openWithPlan() throws -> (any ModelSource, LayerPlan?) {
        let file = try ModelSources.open(path: model)
        guard let dropPlan else { return (file, nil) }
        return (file, try PlanFile.load(path: dropPlan, layers: ModelConfig(source: file).layerCount))
    }

    func timedLoad(_ body: () throws -> LanguageModel) rethrows -> LanguageModel {
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

/// What `bench` and `run` measure: prefill at each prompt length, decode after the first.
struct SpeedOptions: ParsableArguments {
    @Option(help: "Prompt lengths to prefill, comma-separated.")
    var promptTokens = "128,512"

    @Option(help: "Tokens to generate after the first prompt length (decode speed).")
    var genTokens = 128

    @Option(help: "Timed repetitions per figure (medians are reported).")
    var repetitions = 3

    var lengths: [Int] { promptTokens.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        let parts = promptTokens.split(separator: ",")
        guard !parts.isEmpty, lengths.count == parts.count, lengths.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--prompt-tokens must be positive integers separated by commas (got '\(promptTokens)')")
        }
        guard genTokens >= 0 else { throw ValidationError("--gen-tokens must be 0 or more (got \(genTokens))") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1 (got \(repetitions))") }
    }

    /// Measures the variants interleaved, with progress on stderr.
    func measure(_ variants: [BenchVariant]) throws -> [SpeedRun] {
        let context = variants[0].model.config.contextLength
        for n in lengths where n + genTokens > context {
            throw ModelError.contextOverflow(tokens: n + genTokens, contextLength: context)
        }
        return try SpeedBenchmark(repetitions: repetitions).run(variants, promptLengths: lengths, genTokens: genTokens) { Log.info($0) }
    }
}

extension ActivationPrecision: ExpressibleByArgument {}
