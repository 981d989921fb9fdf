// What one token costs the model in its weight matrices: the bytes a decoded token reads and the
// multiply-adds it performs (attention over the context aside). Benchmarks set speed against these.
extension LanguageModel {
    /// The weight matrices a token goes through: every computed sublayer's, and the output head.
    var tokenMatrices: [WeightMatrix] {
        layers.flatMap { l in [l.attention?.q, l.attention?.k, l.attention?.v, l.attention?.o, l.mlp?.gate, l.mlp?.up, l.mlp?.down].compactMap { $0 } }
            + [output]
    }

    /// Bytes of weights one decoded token reads (the embedding's single row aside): the stored bytes, or
    /// the re-encoded copy a matrix decodes from (`WeightMatrix.repackForProducts`).
    public var decodeWeightBytes: Int { tokenMatrices.reduce(0) { $0 + $1.productBytes } }

    /// Multiply-adds per token in the weight matrices; 2× this is a token's FLOPs outside attention scores.
    public var matrixMultiplyAdds: Int { tokenMatrices.reduce(0) { $0 + $1.rows * $1.cols } }

    /// Multiply-adds of the output head alone: a prompt pays them once (logits of its last position only).
    public var headMultiplyAdds: Int { output.rows * output.cols }
}
