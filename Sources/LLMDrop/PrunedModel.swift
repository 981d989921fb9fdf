// Writes a pruned GGUF: the source file without the dropped tensors, in the forms llama.cpp runs
// (verified in ../shared/reference/llamacpp-gguf.md):
//   - whole blocks only: the same architecture with fewer blocks, renumbered;
//   - any attention or MLP sublayer dropped: architecture `deci` with per-layer head counts and FFN
//     widths. A dropped attention has head_count = head_count_kv = 0 and no attention tensors, except
//     in layer 0, which keeps the "linear attention" form (head count unchanged, head_count_kv = 0,
//     attn_norm kept, a zero attn_output, no q/k/v). A dropped MLP is never width 0 (llama.cpp would
//     then skip the whole block) but a 32-wide FFN of zeros, marked in `llmdrop.dropped_mlp` so LLMDrop
//     skips it.
// Tokenizer and all other metadata are kept; the plan is recorded under `llmdrop.*`.
import Foundation
import LLMFormats
import LLMModels

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

    /// Writes `source` minus the removals of `plan` (indices of the source's layers) to `output`,
    /// atomically. `record` is stored in the metadata as JSON.
    @discardableResult
    public static func write(source: GGUFFile, plan: LayerPlan, record: DropPlan, to output: String) throws -> PrunedModelSummary {
        try validateOutput(output, source: source.path)
        let config = try LlamaConfig(file: source)
        guard plan.layerCount == config.layerCount else {
            throw ModelError.invalidPlan("it describes \(plan.layerCount) layers but the model has \(config.layerCount)")
        }
        let keep = try config.filePlan(source).intersected(with: plan)
        let kept = (0..<config.layerCount).filter { keep.attention[$0] || keep.mlp[$0] }
        guard !kept.isEmpty else { throw PrunedModelError.nothingKept }
        let perLayer = config.architecture == .deci || kept.contains { !keep.attention[$0] || !keep.mlp[$0] }
        let oldPrefix = config.architecture.rawValue
        let newPrefix = perLayer ? Architecture.deci.rawValue : oldPrefix

        var w = GGUFWriter(alignment: source.alignment)
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
        // Heads of a layer-0 attention in linear form: its own count, else the model's first non-zero.
        let linearHeads = { (l: Int) in config.heads[l] > 0 ? config.heads[l] : (config.heads.first { $0 > 0 } ?? 1) }
        var droppedMLP: [Int] = []
        if perLayer {
            var heads: [Int] = [], kv: [Int] = [], ffn: [Int] = []
            for (new, l) in kept.enumerated() {
                // Layer 0 keeps a head count (llama.cpp derives the head size from it).
                heads.append(keep.attention[l] ? config.heads[l] : new == 0 ? linearHeads(l) : 0)
                kv.append(keep.attention[l] ? config.kvHeads[l] : 0)
                ffn.append(keep.mlp[l] ? config.ffnLength[l] : zeroFFNWidth)
                if !keep.mlp[l] { droppedMLP.append(new) }
            }
            func array(_ v: [Int]) -> GGUFValue { .array(elementType: .int32, v.map { .int32(Int32($0)) }) }
            w.set("\(newPrefix).attention.head_count", array(heads))
            w.set("\(newPrefix).attention.head_count_kv", array(kv))
            w.set("\(newPrefix).feed_forward_length", array(ffn))
            w.set("\(newPrefix).attention.key_length", .uint32(UInt32(config.headDim)))
            w.set("\(newPrefix).attention.value_length", .uint32(UInt32(config.headDim)))
        }
        if !droppedMLP.isEmpty {
            w.set("llmdrop.dropped_mlp", .array(elementType: .int32, droppedMLP.map { .int32(Int32($0)) }))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        w.set(planKey, .string(String(decoding: try encoder.encode(record), as: UTF8.self)))
        w.set("llmdrop.source", .string(URL(fileURLWithPath: source.path).lastPathComponent))

        // Global tensors first, in file order; then each kept layer's, renumbered.
        for info in source.tensors where !info.name.hasPrefix("blk.") {
            try w.addTensor(info, from: source)
        }
        let D = config.hiddenSize
        for (new, l) in kept.enumerated() {
            func copy(_ role: TensorRole, as newRole: TensorRole) throws {
                if let info = source.tensor(named: role.ggufName) { try w.addTensor(info, from: source, as: newRole.ggufName) }
            }
            if keep.attention[l] {
                for (a, b) in zip(TensorRole.attention(l), TensorRole.attention(new)) { try copy(a, as: b) }
            } else if new == 0 {
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
            if keep.mlp[l] {
                for (a, b) in zip(TensorRole.mlp(l), TensorRole.mlp(new)) { try copy(a, as: b) }
            } else {
                let F = zeroFFNWidth
                try copy(.ffnNorm(l), as: .ffnNorm(new))
                if source.tensor(named: TensorRole.ffnNorm(l).ggufName) == nil {
                    try w.addTensor(name: TensorRole.ffnNorm(new).ggufName, shape: [D], floats: Array(repeating: 1, count: D))
                }
                try w.addTensor(name: TensorRole.ffnGate(new).ggufName, shape: [D, F], floats: Array(repeating: 0, count: D * F))
                try w.addTensor(name: TensorRole.ffnUp(new).ggufName, shape: [D, F], floats: Array(repeating: 0, count: D * F))
                try w.addTensor(name: TensorRole.ffnDown(new).ggufName, shape: [F, D], floats: Array(repeating: 0, count: F * D))
            }
        }
        try w.write(to: output)
        let size = (try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? Int ?? 0
        return PrunedModelSummary(architecture: newPrefix, layers: kept.count, tensors: w.tensors.count, bytes: size)
    }
}
