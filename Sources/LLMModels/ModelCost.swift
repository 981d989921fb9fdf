// What tokens cost the model: the bytes a decoded token reads and the multiply-adds of its weight
// matrices, and those of attention over a prompt. Benchmarks set speed against these.
extension LanguageModel {
    /// The weight matrices a token goes through: every computed sublayer's, and the output head.
    var tokenMatrices: [WeightMatrix] {
        layers.flatMap { l in [l.attention?.q, l.attention?.k, l.attention?.v, l.attention?.o, l.mlp?.gate, l.mlp?.up, l.mlp?.down].compactMap { $0 } }
            + [output]
    }

    /// Bytes of weights one decoded token reads (the embedding's single row aside): the stored bytes, or
    /// the re-encoded copy a matrix decodes from (`WeightMatrix.prepareProducts`).
    public var decodeWeightBytes: Int { tokenMatrices.reduce(0) { $0 + $1.productBytes } }

    /// Multiply-adds per token in the weight matrices; 2× this is a token's FLOPs outside attention scores.
    public var matrixMultiplyAdds: Int { tokenMatrices.reduce(0) { $0 + $1.rows * $1.cols } }

    /// Multiply-adds of the output head alone: a prompt pays them once (logits of its last position only).
    public var headMultiplyAdds: Int { output.rows * output.cols }

    /// Multiply-adds of attention's scores and weighted values (q·k and p·v) over a `tokens`-token prompt:
    /// each query of each computed attention layer meets the keys it may see — itself and the earlier
    /// positions, within the layer's sliding window — in every query head.
    public func attentionMultiplyAdds(promptTokens T: Int) -> Int {
        layers.indices.reduce(0) { sum, l in
            guard layers[l].attention != nil else { return sum }
            let w = config.slidingWindow[l]
            // Σ_i min(i + 1, w) over positions i < T (w = 0: every earlier position).
            let keys = w == 0 || w >= T ? T * (T + 1) / 2 : w * (w + 1) / 2 + (T - w) * w
            return sum + 2 * config.heads[l] * config.headDim * keys
        }
    }
}
