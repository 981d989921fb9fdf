// Every GGUF tensor name of the Llama family, written down once (after llama.cpp's `llama-arch.cpp` tables).
// Models ask for weights by role and layer; this table maps roles to file names.

public enum TensorRole: Hashable, Sendable {
    case tokenEmbedding, outputNorm, output, ropeFrequencies
    case attnNorm(Int), attnQ(Int), attnK(Int), attnV(Int), attnOutput(Int)
    case ffnNorm(Int), ffnGate(Int), ffnUp(Int), ffnDown(Int)

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
        case .ffnNorm(let l): return "blk.\(l).ffn_norm.weight"
        case .ffnGate(let l): return "blk.\(l).ffn_gate.weight"
        case .ffnUp(let l): return "blk.\(l).ffn_up.weight"
        case .ffnDown(let l): return "blk.\(l).ffn_down.weight"
        }
    }

    /// The attention sublayer's tensors of layer `l`, norm first.
    public static func attention(_ l: Int) -> [TensorRole] { [.attnNorm(l), .attnQ(l), .attnK(l), .attnV(l), .attnOutput(l)] }
    /// The MLP sublayer's tensors of layer `l`, norm first.
    public static func mlp(_ l: Int) -> [TensorRole] { [.ffnNorm(l), .ffnGate(l), .ffnUp(l), .ffnDown(l)] }
}
