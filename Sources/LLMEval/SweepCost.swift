// What a drop plan saves, computed from the model's shapes rather than measured: matrix-product FLOPs
// per generated token at a stated context length, bytes of weights a decode step reads, and KV-cache
// bytes. FLOPs count each multiply-add as 2; norms, RoPE, softmax and activations are left out (they
// are a few percent at these sizes). Per layer that keeps
//   attention: 2·D·(H + 2G)·Dh (Q, K, V) + 2·H·Dh·D (output) + 4·H·Dh·Lk (scores and values),
//              Lk = keys visible to the token: min(context, window) on sliding-window layers;
//   MLP:       3 · 2·D·F (gate, up, down);
// plus the head, 2·D·V. Weight bytes are the tensors of the kept sublayers as stored (quantised sizes,
// from the GGUF tensor table), the final norm and the output head (the tied embedding when there is
// no separate head); the one embedding row looked up per token is left out.
import LLMFormats
import LLMModels

public struct PlanCost: Sendable, Codable, Equatable {
    /// Context length the attention FLOPs and the KV cache are stated at.
    public var context: Int
    public var flopsPerToken: Double
    public var weightBytesPerToken: Int
    public var kvCacheBytesPerToken: Int
    /// KV cache holding `context` tokens (sliding-window layers keep only their window).
    public var kvCacheBytes: Int

    enum CodingKeys: String, CodingKey {
        case context
        case flopsPerToken = "flops_per_token"
        case weightBytesPerToken = "weight_bytes_per_token"
        case kvCacheBytesPerToken = "kv_cache_bytes_per_token"
        case kvCacheBytes = "kv_cache_bytes"
    }

    public init(context: Int, flopsPerToken: Double, weightBytesPerToken: Int, kvCacheBytesPerToken: Int, kvCacheBytes: Int) {
        self.context = context
        self.flopsPerToken = flopsPerToken
        self.weightBytesPerToken = weightBytesPerToken
        self.kvCacheBytesPerToken = kvCacheBytesPerToken
        self.kvCacheBytes = kvCacheBytes
    }

    /// The cost of `config` with `plan`'s sublayers (indices of the file's layers), at `context` tokens.
    public static func of(config: ModelConfig, source: any ModelSource, plan: LayerPlan, context: Int) -> PlanCost {
        let D = Double(config.hiddenSize), Dh = Double(config.headDim), V = Double(config.vocabularySize)
        var flops = 2 * D * V
        for l in 0..<config.layerCount {
            if plan.attention[l] && config.hasAttention(l) {
                let H = Double(config.heads[l]), G = Double(config.kvHeads[l])
                let keys = Double(config.isSliding(l) ? min(context, config.slidingWindow[l]) : context)
                flops += 2 * D * (H + 2 * G) * Dh + 2 * H * Dh * D + 4 * H * Dh * keys
            }
            if plan.mlp[l] && config.hasMLP(l) { flops += 6 * D * Double(config.ffnLength[l]) }
        }
        var bytes = 0
        let head = source.tensor(named: TensorRole.output.ggufName) ?? source.tensor(named: TensorRole.tokenEmbedding.ggufName)
        bytes += head?.byteCount ?? 0
        bytes += source.tensor(named: TensorRole.outputNorm.ggufName)?.byteCount ?? 0
        for t in source.tensors {
            guard let (l, _, sublayer) = TensorRole.layerTensor(t.name), l < plan.layerCount, let sublayer else { continue }
            switch sublayer {
            case .attention: if plan.attention[l] && config.hasAttention(l) { bytes += t.byteCount }
            case .mlp: if plan.mlp[l] && config.hasMLP(l) { bytes += t.byteCount }
            }
        }
        return PlanCost(context: context, flopsPerToken: flops, weightBytesPerToken: bytes,
                        kvCacheBytesPerToken: config.kvCacheBytesPerToken(plan: plan),
                        kvCacheBytes: config.kvCacheBytes(plan: plan, tokens: context))
    }
}
