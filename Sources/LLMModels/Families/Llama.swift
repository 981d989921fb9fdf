// Llama (Touvron et al. 2023) and the files that share its GGUF form: Llama 2/3, SmolLM, Mistral, and
// llama.cpp's `deci` (per-layer head counts and FFN widths). Pre-norm block, SwiGLU MLP, RoPE on
// adjacent pairs (the GGUF converter permutes Q/K rows for it), no biases.
//   h   = x + Attn(RMSNorm(x))
//   out = h + MLP(RMSNorm(h)),  MLP(x) = W_down(silu(W_gate x) ⊙ W_up x)
// Mistral's sliding-window attention applies to every layer when the file sets
// `llama.attention.sliding_window` (llama.cpp itself ignores the window for this architecture).
enum Llama {
    static func hyperParameters(_ m: Metadata, _ shared: SharedHyperParameters) throws -> FamilyHyperParameters {
        let window = try m.int("attention.sliding_window") ?? 0
        return FamilyHyperParameters(shared, ropeStyle: .adjacent, window: window)
    }
}
