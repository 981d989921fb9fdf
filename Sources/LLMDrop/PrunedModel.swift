// Writes a pruned GGUF: the source file without the dropped tensors (every tensor of a kept layer is
// copied, whatever the family has: biases, Q/K norms, post-norms), in the forms llama.cpp runs where it
// can (verified in ../shared/reference/llamacpp-gguf.md):
//   - whole blocks only: the same architecture with fewer blocks, renumbered (Gemma 3: each layer keeps
//     its sliding or global attention through `gemma3.attention.sliding_window_pattern`);
//   - Gemma 3 / Qwen with a sublayer dropped: the same architecture with per-layer head counts and FFN
//     widths, 0 where a sublayer is gone; LLMDrop runs it, llama.cpp does not (`llamaCppSupport`);
//   - Llama with an attention or MLP sublayer dropped: architecture `deci` with per-layer head counts and FFN
//     widths. A dropped attention has head_count = head_count_kv = 0 and no attention tensors, except
//     in layer 0, which keeps the "linear attention" form (head count unchanged, head_count_kv = 0,
//     attn_norm kept, a zero attn_output, no q/k/v). A dropped MLP is never width 0 (llama.cpp would
//     then skip the whole block) but a 32-wide FFN of zeros, marked in `llmdrop.dropped_mlp` so LLMDrop
//     skips it.
// Tokenizer and all other metadata are kept; the plan is recorded under `llmdrop.*`. `type` re-encodes the
// tensors as llama.cpp's converter would (GGUFConvert).
// `writeHF` writes the same removals as a Hugging Face checkpoint folder (LLMFormats' HFExport): whole
// blocks dropped → the stock architecture with fewer layers; sublayers dropped → their weights absent and
// `drop_attn_list` / `drop_mlp_list` in config.json (LLM-Drop's layout).
import Foundation
import LLMFormats
import LLMModels
import LLMTensor

public enum PrunedModelError: Error, Equatable, CustomStringConvertible {
    case outputIsInput(String)
    case missingFolder(String)
    case nothingKept

    public var description: String {
        switch self {
        case .outputIsInput(let p): return "the output path '\(p)' is the input model; pass a different --output path"
        case .missingFolder(let d): return "the output folder '\(d)' does not exist; create it or pass another --output path"
        case .nothingKept: return "the plan drops every block; keep at least one"
        }
    }
}

public struct PrunedModelSummary: Sendable {
    public let architecture: String
    public let layers: Int
    public let tensors: Int
    public let bytes: Int
    /// False when llama.cpp cannot run the written file (see `PrunedModel.llamaCppSupport`).
    public let runsInLlamaCpp: Bool
}

public enum PrunedModel {
    /// Width of the all-zero FFN that stands for a dropped MLP.
    public static let zeroFFNWidth = 32
    static let planKey = "llmdrop.plan"

    /// Checks an output path before any work: not the input, in an existing folder.
    public static func validateOutput(_ output: String, source: String) throws {
        let out = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath()
        let src = URL(fileURLWithPath: source).standardizedFileURL.resolvingSymlinksInPath()
        guard out.path != src.path else { throw PrunedModelError.outputIsInput(output) }
        let dir = out.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw PrunedModelError.missingFolder(dir)
        }
    }

    /// The output formats of a pruned model.
    public enum Format: String, Sendable, CaseIterable {
        case gguf, hf

        /// `explicit`, else inferred from the path: a `.gguf` name is a GGUF, an existing folder or a path
        /// ending in `/` a checkpoint folder, anything else a GGUF (the default).
        public static func of(_ path: String, explicit: Format?) -> Format {
            if let explicit { return explicit }
            if path.lowercased().hasSuffix(".gguf") { return .gguf }
            var isDir: ObjCBool = false
            if path.hasSuffix("/") || (FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue) { return .hf }
            return .gguf
        }
    }

    /// Checks an output before any work, for its format: a GGUF as `validateOutput`; a folder apart from
    /// the input, in an existing folder, and not an existing file.
    public static func validateOutput(_ output: String, source: String, format: Format) throws {
        guard format == .hf else { return try validateOutput(output, source: source) }
        try OutputFolderError.checkApart(output: output, input: source)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDir) {
            guard isDir.boolValue else { throw OutputFolderError.notAFolder(path: output) }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
            guard names.isEmpty || names.contains("config.json") else { throw OutputFolderError.notReplaceable(path: output) }
        }
        var trimmed = output
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        let dir = URL(fileURLWithPath: trimmed).standardizedFileURL.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw PrunedModelError.missingFolder(dir)
        }
    }

    /// Writes `source` minus the removals of `plan` as a Hugging Face checkpoint folder at `output`
    /// (atomically), in `type` (F32, F16, BF16; nil: each tensor as stored, quantised ones F32).
    @discardableResult
    public static func writeHF(source: any ModelSource, plan: LayerPlan, to output: String, type: GGMLType? = nil,
                               progress: ((Int, Int) -> Void)? = nil) throws -> PrunedModelSummary {
        let config = try ModelConfig(source: source)
        guard plan.layerCount == config.layerCount else {
            throw ModelError.invalidPlan("it describes \(plan.layerCount) layers but the model has \(config.layerCount)")
        }
        let keep = try config.filePlan(source).intersected(with: plan)
        guard keep.attention.contains(true) || keep.mlp.contains(true) else { throw PrunedModelError.nothingKept }
        let s = try HFExport.write(source: source, to: output, keepAttention: keep.attention, keepMLP: keep.mlp, type: type, progress: progress)
        return PrunedModelSummary(architecture: s.architecture, layers: s.layers, tensors: s.tensors, bytes: s.bytes,
                                  runsInLlamaCpp: false)
    }

    /// Writes `source` minus the removals of `plan` (indices of the source's layers) to `output`,
    /// atomically. `record` is stored in the metadata as JSON. `type`: re-encode the tensors (nil: as stored).
    @discardableResult
    public static func write(source: any ModelSource, plan: LayerPlan, record: DropPlan, to output: String,
                             type: GGMLType? = nil) throws -> PrunedModelSummary {
        try validateOutput(output, source: source.path)
        let config = try ModelConfig(source: source)
        guard plan.layerCount == config.layerCount else {
            throw ModelError.invalidPlan("it describes \(plan.layerCount) layers but the model has \(config.layerCount)")
        }
        let keep = try config.filePlan(source).intersected(with: plan)
        let kept = (0..<config.layerCount).filter { keep.attention[$0] || keep.mlp[$0] }
        guard !kept.isEmpty else { throw PrunedModelError.nothingKept }
        let sublayersDropped = kept.contains { !keep.attention[$0] || !keep.mlp[$0] }
        let llamaFamily = config.architecture == .llama || config.architecture == .deci
        // Llama files with a sublayer gone become `deci`, which llama.cpp runs; other families keep
        // their architecture with per-layer head counts and widths (0 = gone), which LLMDrop reads.
        let perLayer = config.architecture == .deci || sublayersDropped
        let oldPrefix = config.architecture.rawValue
        let newPrefix = llamaFamily && perLayer ? Architecture.deci.rawValue : oldPrefix
        let deciForm = newPrefix == Architecture.deci.rawValue

        var w = GGUFWriter()   // the source's general.alignment, if any, is copied with the metadata
        for key in source.metadataKeys {
            let value = source.metadata[key]!
            if key == "general.architecture" {
                w.set(key, .string(newPrefix))
            } else if key.hasPrefix(oldPrefix + ".") {
                w.set(newPrefix + key.dropFirst(oldPrefix.count), value)
            } else if !key.hasPrefix("llmdrop.") {
                w.set(key, value)
            }
        }
        w.set("\(newPrefix).block_count", .uint32(UInt32(kept.count)))
        func array(_ v: [Int]) -> GGUFValue { .array(elementType: .int32, v.map { .int32(Int32($0)) }) }
        // Heads of a layer-0 attention in linear form: its own count, else the model's first non-zero.
        let linearHeads = { (l: Int) in config.heads[l] > 0 ? config.heads[l] : (config.heads.first { $0 > 0 } ?? 1) }
        var droppedMLP: [Int] = []
        if perLayer {
            var heads: [Int] = [], kv: [Int] = [], ffn: [Int] = []
            for (new, l) in kept.enumerated() {
                if deciForm {
                    // Layer 0 keeps a head count (llama.cpp derives the head size from it); a dropped MLP
                    // is a zero FFN (llama.cpp skips the whole block on width 0).
                    heads.append(keep.attention[l] ? config.heads[l] : new == 0 ? linearHeads(l) : 0)
                    ffn.append(keep.mlp[l] ? config.ffnLength[l] : zeroFFNWidth)
                    if !keep.mlp[l] { droppedMLP.append(new) }
                } else {
                    heads.append(keep.attention[l] ? config.heads[l] : 0)
                    ffn.append(keep.mlp[l] ? config.ffnLength[l] : 0)
                }
                kv.append(keep.attention[l] ? config.kvHeads[l] : 0)
            }
            w.set("\(newPrefix).attention.head_count", array(heads))
            w.set("\(newPrefix).attention.head_count_kv", array(kv))
            w.set("\(newPrefix).feed_forward_length", array(ffn))
            w.set("\(newPrefix).attention.key_length", .uint32(UInt32(config.headDim)))
            w.set("\(newPrefix).attention.value_length", .uint32(UInt32(config.headDim)))
        }
        if config.architecture == .gemma3, config.slidingWindow.contains(where: { $0 > 0 }) {
            // Each kept layer keeps its attention type (and with it its RoPE base) wherever it lands;
            // llama.cpp reads this per-layer array too.
            w.set("\(newPrefix).attention.sliding_window_pattern", .array(elementType: .bool, kept.map { .bool(config.isSliding($0)) }))
        }
        if !droppedMLP.isEmpty {
            w.set(FilePlan.droppedMLPKey, array(droppedMLP))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        w.set(planKey, .string(String(decoding: try encoder.encode(record), as: UTF8.self)))
        w.set("llmdrop.source", .string(URL(fileURLWithPath: source.path).lastPathComponent))

        // Global tensors first, in file order; then every tensor of each kept layer, renumbered, minus
        // the dropped sublayers' own.
        var byLayer: [Int: [(info: TensorInfo, rest: String, sublayer: TensorRole.Sublayer?)]] = [:]
        for info in source.tensors {
            if let t = TensorRole.layerTensor(info.name) {
                byLayer[t.layer, default: []].append((info, t.rest, t.sublayer))
            } else {
                try w.addTensor(info, from: source)
            }
        }
        let D = config.hiddenSize
        for (new, l) in kept.enumerated() {
            for t in byLayer[l] ?? [] {
                switch t.sublayer {
                case .attention? where !keep.attention[l]: continue
                case .mlp? where !keep.mlp[l] && !(deciForm && t.rest == "ffn_norm.weight"): continue
                default: try w.addTensor(t.info, from: source, as: "blk.\(new).\(t.rest)")
                }
            }
            guard deciForm else { continue }
            if !keep.attention[l] && new == 0 {
                // llama.cpp's linear-attention form: norm kept, zero output projection, no q/k/v.
                let heads = linearHeads(l)
                if let norm = source.tensor(named: TensorRole.attnNorm(l).ggufName) {
                    try w.addTensor(norm, from: source, as: TensorRole.attnNorm(0).ggufName)
                } else {
                    try w.addTensor(name: TensorRole.attnNorm(0).ggufName, shape: [D], floats: Array(repeating: 1, count: D))
                }
                try w.addTensor(name: TensorRole.attnOutput(0).ggufName, shape: [heads * config.headDim, D],
                                floats: Array(repeating: 0, count: heads * config.headDim * D))
            }
            if !keep.mlp[l] {
                let F = zeroFFNWidth
                if source.tensor(named: TensorRole.ffnNorm(l).ggufName) == nil {
                    try w.addTensor(name: TensorRole.ffnNorm(new).ggufName, shape: [D], floats: Array(repeating: 1, count: D))
                }
                try w.addTensor(name: TensorRole.ffnGate(new).ggufName, shape: [D, F], floats: Array(repeating: 0, count: D * F))
                try w.addTensor(name: TensorRole.ffnUp(new).ggufName, shape: [D, F], floats: Array(repeating: 0, count: D * F))
                try w.addTensor(name: TensorRole.ffnDown(new).ggufName, shape: [F, D], floats: Array(repeating: 0, count: F * D))
            }
        }
        if let type { try w.convertTensors(to: type) }
        try w.write(to: output)
        let size = (try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? Int ?? 0
        return PrunedModelSummary(architecture: newPrefix, layers: kept.count, tensors: w.tensors.count, bytes: size,
                                  runsInLlamaCpp: llamaCppSupport(architecture: config.architecture, plan: keep).runs)
    }

    /// Whether llama.cpp can run `architecture` with the sublayers of `plan` removed, and why not.
    /// Whole blocks can go in every family (renumbered; Gemma 3 keeps each layer's attention type in a
    /// per-layer array llama.cpp reads). Sublayers can go only in the Llama family, through `deci`:
    /// llama.cpp's Gemma 3 and Qwen graphs build every layer's attention and MLP.
    public static func llamaCppSupport(architecture: Architecture, plan: LayerPlan) -> (runs: Bool, reason: String) {
        let sublayers = plan.droppedAttention.count + plan.droppedMLP.count
        switch architecture {
        case .llama, .deci: return (true, sublayers > 0 ? "written as llama.cpp's deci architecture" : "the same architecture with fewer blocks")
        case .gemma3, .qwen2, .qwen3:
            if sublayers == 0 { return (true, "the same architecture with fewer blocks") }
            return (false, "llama.cpp's \(architecture.rawValue) graph builds every layer's attention and MLP, so a file without some of them does not load there; LLMDrop runs it, and whole-block drops run in both")
        }
    }
}
