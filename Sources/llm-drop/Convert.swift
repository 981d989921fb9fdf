// `llm-drop convert MODEL --to gguf|hf --output PATH [--drop-plan PLAN] [--type T]`: a GGUF file or a
// Hugging Face checkpoint folder written as the other (or as itself, re-typed or pruned): HF → GGUF as
// llama.cpp's convert_hf_to_gguf.py writes it (F32/F16/BF16 as stored or converted, Q8_0/Q4_0 by ggml's
// reference quantisers); GGUF → HF dequantised to F32/F16/BF16. With --drop-plan, the plan's removals are
// written as `drop` writes them.
import ArgumentParser
import Foundation
import LLMDrop
import LLMFormats
import LLMModels
import LLMTensor

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a model between GGUF and a Hugging Face checkpoint folder (optionally pruned by a plan, in another type).",
        discussion: """
            --to gguf writes what llama.cpp's convert_hf_to_gguf.py writes for the family (names, metadata, tokenizer keys); \
            without --type each tensor keeps its stored type (1-D tensors F32). --to hf writes config.json, safetensors \
            (sharded above 5 GB) and the tokenizer files (copied from a checkpoint folder, or written from the GGUF's tokenizer); \
            quantised tensors are dequantised (to F32 unless --type says F16 or BF16).
            """)

    enum Target: String, ExpressibleByArgument, CaseIterable { case gguf, hf }

    @Argument(help: "A GGUF model file, or a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "What to write: gguf (a file) or hf (a checkpoint folder).")
    var to: Target

    @Option(help: "Where to write it (a new file or folder; an earlier checkpoint folder is replaced).")
    var output: String

    @Option(help: "Remove sublayers first: a plan from `llm-drop drop --plan-out`, or an LLM-Drop config.json (drop_attn_list / drop_mlp_list).")
    var dropPlan: String?

    @Option(help: "Tensor type: F32, F16 or BF16 (both formats), Q8_0 or Q4_0 (GGUF only). Default: as stored (quantised → F32 for hf).")
    var type: String?

    @OptionGroup var outputOptions: OutputOptions

    func ggmlType() throws -> GGMLType? {
        guard let type else { return nil }
        let allowed = to == .gguf ? GGUFConvert.types : HFExport.types
        guard let t = allowed.first(where: { $0.description == type.uppercased() }) else {
            throw ValidationError("--type \(type) is not written to \(to == .gguf ? "a GGUF" : "a Hugging Face checkpoint"); choose one of \(allowed.map(\.description).joined(separator: ", "))")
        }
        return t
    }

    func validate() throws {
        _ = try ggmlType()
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: model, isDirectory: &isDir), isDir.boolValue || to == .hf {
            try OutputFolderError.checkApart(output: output, input: model)   // never into (or over) the input
        }
        try PrunedModel.validateOutput(output, source: model, format: to == .gguf ? .gguf : .hf)
    }

    func run() throws {
        let start = ContinuousClock.now
        let type = try ggmlType()
        let source = try ModelSources.open(path: model)
        let config = try ModelConfig(source: source)
        let plan = try dropPlan.map { try PlanFile.load(path: $0, layers: config.layerCount) }
        Log.info("converting \(model) (\(config.architecture.rawValue), \(config.layerCount) layers) to \(to == .gguf ? "GGUF" : "a Hugging Face checkpoint")\(type.map { " in \($0)" } ?? "")")
        var json: [String: Any] = ["input": model, "output": output, "to": to.rawValue, "type": type?.description ?? "as stored"]
        switch to {
        case .hf:
            let bar = ProgressBar("writing \(output)", total: 100)
            let s = try PrunedModel.writeHF(source: source, plan: plan ?? .full(layers: config.layerCount), to: output, type: type) { done, total in
                bar.update(done * 100 / max(total, 1))
            }
            json.merge(["architecture": s.architecture, "layers": s.layers, "tensors": s.tensors, "bytes": s.bytes]) { $1 }
        case .gguf:
            // A plan, or a source with sublayers already gone (an LLM-Drop folder): the pruned-model writer,
            // which gives Llama the deci form llama.cpp runs.
            let filePlan = try config.filePlan(source)
            if plan != nil || !filePlan.droppedAttention.isEmpty || !filePlan.droppedMLP.isEmpty {
                let plan = plan ?? .full(layers: config.layerCount)
                let record = DropPlan(plan, target: "plan", method: "convert", model: model)
                let s = try PrunedModel.write(source: source, plan: plan, record: record, to: output, type: type)
                json.merge(["architecture": s.architecture, "layers": s.layers, "tensors": s.tensors, "bytes": s.bytes,
                            "runs_in_llama_cpp": s.runsInLlamaCpp]) { $1 }
            } else {
                let s = try GGUFConvert.write(source: source, to: output, type: type)
                json.merge(["architecture": config.architecture.rawValue, "layers": config.layerCount, "tensors": s.tensors,
                            "bytes": s.bytes, "runs_in_llama_cpp": true]) { $1 }
            }
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        json["seconds"] = seconds
        Log.info("wrote \(output) in \(String(format: "%.2f s", seconds))")
        if outputOptions.json {
            try printJSON(json)
        } else {
            print("wrote \(output) (\(json["architecture"] ?? "?"), \(json["layers"] ?? "?") layers, \(json["tensors"] ?? "?") tensors, \(Format.bytes(json["bytes"] as? Int ?? 0)))")
        }
    }
}
