// Gemma 3 text models (Gemma Team 2025), as llama.cpp reads them (src/models/gemma3.cpp):
//   x₀  = √D · Embed(tokens)
//   h   = x + PostNorm_attn(Attn(Norm_attn(x)))      Q/K: RMSNorm per head, then rotate-half RoPE
//   out = h + PostNorm_ffn(MLP(Norm_ffn(h))),        MLP(x) = W_down(gelu_tanh(W_gate x) ⊙ W_up x)
// RMSNorm weights as stored: the converter already added Gemma's +1. Attention scale 1/√head dim
// (the 27B model, 62 layers, uses 1/√(D/H), its query_pre_attn_scalar). Five of every six layers
// attend to a sliding window (`attention.sliding_window`) with the local RoPE base
// (`rope.freq_base_swa`, default 10000, no scaling); the others attend globally with the global base
// and any RoPE scaling. Which layers slide: `attention.sliding_window_pattern`, a per-layer boolean
// array or a period n (layer l slides when l mod n < n − 1), default 6. Logit soft-capping when
// `final_logit_softcapping` is set.
import Foundation

enum Gemma3 {
    static let defaultPattern = 6
    static let defaultLocalRopeBase = 10000.0

    static func hyperParameters(_ m: Metadata, _ shared: SharedHyperParameters) throws -> FamilyHyperParameters {
        var traits = FamilyTraits()
        traits.activation = .geluTanh
        traits.embeddingScale = Float(Double(shared.hidden).squareRoot())
        traits.qkNorm = true
        traits.postNorms = true
        if shared.layers == 62, let h = shared.heads.first(where: { $0 > 0 }) {
            traits.attentionScale = Float(1 / (Double(shared.hidden) / Double(h)).squareRoot())
        }
        if let cap = try m.float("final_logit_softcapping"), cap > 0 { traits.logitSoftCap = Float(cap) }

        var p = FamilyHyperParameters(shared, ropeStyle: .neox, traits: traits)
        let window = try m.int("attention.sliding_window") ?? 0
        guard window > 0 else { return p }
        let sliding = try slidingLayers(m, layers: shared.layers)
        let localBase = try m.float("rope.freq_base_swa") ?? defaultLocalRopeBase
        for l in 0..<shared.layers where sliding[l] {
            p.slidingWindow[l] = window
            p.ropeBase[l] = localBase
            p.ropeLinearFactor[l] = 1
        }
        return p
    }

    /// Which layers use the sliding window.
    static func slidingLayers(_ m: Metadata, layers: Int) throws -> [Bool] {
        if let flags = try m.boolsPerLayer("attention.sliding_window_pattern", layers: layers) { return flags }
        let n = try m.int("attention.sliding_window_pattern") ?? defaultPattern
        guard n >= 0 else { throw ModelError.invalidMetadata(key: m.key("attention.sliding_window_pattern"), reason: "\(n) must not be negative") }
        return (0..<layers).map { n == 0 || $0 % n < n - 1 }
    }
}
