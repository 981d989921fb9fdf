// `llm-drop inspect MODEL`: architecture, hyper-parameters, tensors, parameter count, tokenizer.
import ArgumentParser
import Foundation
import LLMDrop
import LLMFormats
import LLMModels
import LLMTokenizer

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model (GGUF file or Hugging Face folder): architecture, hyper-parameters, tensors, tokenizer.")

    @Argument(help: "A GGUF model file, or a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "Also show what a drop plan (ours or an LLM-Drop config.json) removes.")
    var dropPlan: String?

    @OptionGroup var output: OutputOptions

    func run() throws {
        let file = try ModelSources.open(path: model)
        let gguf = file as? GGUFFile
        let config = try ModelConfig(source: file)
        let filePlan = try config.filePlan(file)
        let plan = try dropPlan.map { try filePlan.intersected(with: PlanFile.load(path: $0, layers: config.layerCount)) } ?? filePlan
        let tokenizer = try loadTokenizer(from: file)
        let parameters = file.tensors.reduce(0) { $0 + $1.elementCount }
        let uniform = Set(config.heads).count == 1 && Set(config.kvHeads).count == 1 && Set(config.ffnLength).count == 1
        let traits = config.traits
        let sliding = (0..<config.layerCount).filter(config.isSliding)
        let llamaCpp = PrunedModel.llamaCppSupport(architecture: config.architecture, plan: plan)
        let features = [
            traits.qkvBias ? "Q/K/V biases" : nil, traits.qkNorm ? "Q/K RMSNorm per head" : nil,
            traits.postNorms ? "post-norms on both branches" : nil,
            traits.embeddingScale != 1 ? "embeddings × \(traits.embeddingScale)" : nil,
            traits.logitSoftCap.map { "logit soft-cap \($0)" },
        ].compactMap { $0 }

        // A model written by `llm-drop synth`: random weights of a named model's shape.
        let synthetic: [String: Any]? = file["general.synthetic"]?.bool == true ? [
            "like": file["general.synthetic.like"]?.string ?? "",
            "seed": file["general.synthetic.seed"]?.int ?? 0,
            "source": file["general.synthetic.source"]?.string ?? "",
            "tokenizer": file["general.synthetic.tokenizer"]?.string ?? "",
        ] : nil

        if output.json {
            try printJSON([
                "synthetic": synthetic as Any,
                "path": model,
                "format": gguf != nil ? "gguf" : "hf",
                "file_size": file.storageBytes,
                "gguf_version": gguf.map { Int($0.version) } as Any,
                "architecture": config.architecture.rawValue,
                "name": file["general.name"]?.string ?? "",
                "parameters": parameters,
                "layers": config.layerCount,
                "hidden_size": config.hiddenSize,
                "head_dim": config.headDim,
                "heads": config.heads,
                "kv_heads": config.kvHeads,
                "ffn_length": config.ffnLength,
                "vocab_size": config.vocabularySize,
                "context_length": config.contextLength,
                "rope_freq_base": config.rope.base,
                "rope_style": config.rope.style.rawValue,
                "rope_dimensions": config.rope.dimensions,
                "sliding_window": config.slidingWindow,
                "activation": config.traits.activation.rawValue,
                "qkv_bias": traits.qkvBias,
                "qk_norm": traits.qkNorm,
                "post_norms": traits.postNorms,
                "embedding_scale": Double(traits.embeddingScale),
                "attention_scale": Double(traits.attentionScale ?? 1 / Float(config.headDim).squareRoot()),
                "logit_softcap": traits.logitSoftCap.map(Double.init) as Any,
                "runs_in_llama_cpp": llamaCpp.runs,
                "norm_epsilon": Double(config.normEpsilon),
                "tied_embeddings": config.tiedEmbeddings,
                "tokenizer": [
                    "kind": tokenizer.kind.rawValue,
                    "vocab_size": tokenizer.vocabularySize,
                    "bos_id": tokenizer.bosID as Any,
                    "eos_id": tokenizer.eosID as Any,
                    "add_bos": tokenizer.addBOS,
                ] as [String: Any],
                "dropped_attention": plan.droppedAttention,
                "dropped_mlp": plan.droppedMLP,
                "dropped_blocks": plan.droppedBlocks,
                "kv_cache_bytes_per_token": config.kvCacheBytesPerToken(plan: plan),
                "kv_cache_bytes_per_token_without_plan": config.kvCacheBytesPerToken(plan: filePlan),
                "tensors": file.tensors.map { ["name": $0.name, "type": $0.type.description, "shape": $0.shape, "bytes": $0.byteCount] as [String: Any] },
            ])
            return
        }
        var lines: [String] = []
        lines.append("model         \(model)")
        lines.append("name          \(file["general.name"]?.string ?? "-")")
        if let synthetic {
            lines.append("synthetic     yes: random weights (seed \(synthetic["seed"]!)) shaped like \(synthetic["like"]!) (\(synthetic["source"]!)), \(synthetic["tokenizer"]!) tokenizer")
        }
        let format = gguf.map { "GGUF v\($0.version)" } ?? "Hugging Face checkpoint (\((file as? HFCheckpoint)?.architectureName ?? "?"), safetensors)"
        lines.append("file          \(Format.bytes(file.storageBytes)), \(format), \(file.tensors.count) tensors")
        lines.append("architecture  \(config.architecture.rawValue)")
        lines.append("parameters    \(Format.count(parameters)) (\(parameters))")
        lines.append("layers        \(config.layerCount)")
        lines.append("hidden size   \(config.hiddenSize)")
        if uniform {
            lines.append("heads         \(config.heads[0]) query, \(config.kvHeads[0]) key/value, head dim \(config.headDim)")
            lines.append("MLP width     \(config.ffnLength[0])")
        } else {
            lines.append("heads         per layer \(config.heads), key/value \(config.kvHeads), head dim \(config.headDim)")
            lines.append("MLP width     per layer \(config.ffnLength)")
        }
        lines.append("vocabulary    \(config.vocabularySize)")
        lines.append("context       \(config.contextLength)")
        let bases = Set(config.rope.base).sorted().map { String(format: "%g", $0) }.joined(separator: " / ")
        lines.append("RoPE          base \(bases), \(config.rope.dimensions) dims, \(config.rope.style == .neox ? "rotate-half (NEOX)" : "adjacent pairs")")
        if sliding.isEmpty {
            lines.append("attention     global on every layer")
        } else {
            let global = (0..<config.layerCount).filter { !config.isSliding($0) }
            lines.append("attention     sliding window \(Set(sliding.map { config.slidingWindow[$0] }).sorted()) on \(sliding.count) layers; global on \(global.isEmpty ? "none" : "\(global)")")
        }
        lines.append("MLP           \(config.traits.activation == .silu ? "SwiGLU" : "GeGLU (tanh GELU)")")
        if !features.isEmpty { lines.append("family        " + features.joined(separator: ", ")) }
        lines.append("RMSNorm eps   \(config.normEpsilon)")
        lines.append("output head   \(config.tiedEmbeddings ? "tied to token embeddings" : "separate")")
        lines.append("tokenizer     \(tokenizer.kind.rawValue), \(tokenizer.vocabularySize) tokens, BOS \(tokenizer.bosID.map(String.init) ?? "-") (added: \(tokenizer.addBOS)), EOS \(tokenizer.eosID.map(String.init) ?? "-")")
        lines.append("dropped       attention \(plan.droppedAttention), MLP \(plan.droppedMLP), blocks \(plan.droppedBlocks)\(dropPlan == nil ? " (in the file)" : " (file + plan)")")
        if dropPlan != nil {
            lines.append("KV cache      \(Format.bytes(config.kvCacheBytesPerToken(plan: filePlan))) → \(Format.bytes(config.kvCacheBytesPerToken(plan: plan))) per token with the plan (f32)")
            lines.append("llama.cpp     \(llamaCpp.runs ? "runs" : "does not run") the pruned file: \(llamaCpp.reason)")
        } else {
            lines.append("KV cache      \(Format.bytes(config.kvCacheBytesPerToken(plan: plan))) per token (f32)")
        }
        var types: [String: Int] = [:]
        for t in file.tensors { types[t.type.description, default: 0] += 1 }
        lines.append("tensor types  " + types.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", "))
        lines.append("")
        lines.append("tensor".padding(toLength: 34, withPad: " ", startingAt: 0) + "type   shape")
        for t in file.tensors {
            lines.append(t.name.padding(toLength: 34, withPad: " ", startingAt: 0) + t.type.description.padding(toLength: 7, withPad: " ", startingAt: 0) + "\(t.shape)")
        }
        print(lines.joined(separator: "\n"))
    }
}
