// Qwen2 / Qwen2.5 (Yang et al. 2024): the Llama block with biases on the Q, K and V projections and
// rotate-half RoPE (llama.cpp's NEOX mode; the converter does not permute Q/K).
//   q = W_q x + b_q,  k = W_k x + b_k,  v = W_v x + b_v
enum Qwen2 {
    static func hyperParameters(_ m: Metadata, _ shared: SharedHyperParameters) throws -> FamilyHyperParameters {
        var traits = FamilyTraits()
        traits.qkvBias = true
        return FamilyHyperParameters(shared, ropeStyle: .neox, traits: traits)
    }
}
