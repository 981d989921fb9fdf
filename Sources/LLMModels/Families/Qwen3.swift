// Qwen3 dense models (Qwen team 2025): the Llama block without biases, with an RMSNorm over the head
// dimension of every query and key head before RoPE, and rotate-half RoPE (NEOX mode).
//   q_h = RMSNorm_q(W_q x)_h,  k_h = RMSNorm_k(W_k x)_h
enum Qwen3 {
    static func hyperParameters(_ m: Metadata, _ shared: SharedHyperParameters) throws -> FamilyHyperParameters {
        var traits = FamilyTraits()
        traits.qkNorm = true
        return FamilyHyperParameters(shared, ropeStyle: .neox, traits: traits)
    }
}
