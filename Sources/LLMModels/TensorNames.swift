// Every GGUF tensor name of the supported families, written down once (after llama.cpp's
// `llama-arch.cpp` tables). Models ask for weights by role and layer; this table maps roles to file
// names, and tells which sublayer a layer's tensor belongs to.

public enum TensorRole: Hashable, Sendable {
    case tokenEmbedding, outputNorm, output, ropeFrequencies
    case attnNorm(Int), attnQ(Int), attnK(Int), attnV(Int), attnOutput(Int)
    case attnQBias(Int), attnKBias(Int), attnVBias(Int), attnQNorm(Int), attnKNorm(Int), attnPostNorm(Int)
    case ffnNorm(Int), ffnGate(Int), ffnUp(Int), ffnDown(Int), ffnPostNorm(Int)

    public var ggufName: String {
        switch self {
        case .tokenEmbedding: return "token_embd.weight"
        case .outputNorm: return "output_norm.weight"
        case .output: return "output.weight"
        case .ropeFrequencies: return "rope_freqs.weight"
        case .attnNorm(let l): return "blk.\(l).attn_norm.weight"
        case .attnQ(let l): return "blk.\(l).attn_q.weight"
        case .attnK(let l): return "blk.\(l).attn_k.weight"
        case .attnV(let l): return "blk.\(l).attn_v.weight"
        case .attnOutput(let l): return "blk.\(l).attn_output.weight"
        case .attnQBias(let l): return "blk.\(l).attn_q.bias"
        case .attnKBias(let l): return "blk.\(l).attn_k.bias"
        case .attnVBias(let l): return "blk.\(l).attn_v.bias"
        case .attnQNorm(let l): return "blk.\(l).attn_q_norm.weight"
        case .attnKNorm(let l): return "blk.\(l).attn_k_norm.weight"
        case .attnPostNorm(let l): return "blk.\(l).post_attention_norm.weight"
        case .ffnNorm(let l): return "blk.\(l).ffn_norm.weight"
        case .ffnGate(let l): return "blk.\(l).ffn_gate.weight"
        case .ffnUp(let l): return "blk.\(l).ffn_up.weight"
        case .ffnDown(let l): return "blk.\(l).ffn_down.weight"
        case .ffnPostNorm(let l): return "blk.\(l).post_ffw_norm.weight"
        }
    }

    /// The sublayer a per-layer tensor belongs to.
    public enum Sublayer: Sendable { case attention, mlp }

    /// For a tensor named `blk.N.rest`: its layer N, the rest of the name, and its sublayer (nil when
    /// the name is not a per-layer tensor or belongs to neither sublayer).
    public static func layerTensor(_ name: String) -> (layer: Int, rest: String, sublayer: Sublayer?)? {
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "blk", let l = Int(parts[1]), l >= 0 else { return nil }
        let rest = String(parts[2])
        let sublayer: Sublayer?
        if rest.hasPrefix("attn_") || rest.hasPrefix("post_attention_norm.") { sublayer = .attention }
        else if rest.hasPrefix("ffn_") || rest.hasPrefix("post_ffw_norm.") { sublayer = .mlp }
        else { sublayer = nil }
        return (l, rest, sublayer)
    }
}
