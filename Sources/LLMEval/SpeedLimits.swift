// How close a speed run comes to this machine's limits, measured in the same run: decoding reads every
// weight once per token, so decode tokens/s × weight bytes per token is a read rate to set against the
// bandwidth of the memory those bytes live in; prefill is matrix products (the weights' and attention's),
// so its FLOP/s set against f32 GEMM's rate at the model's shapes for the same number of rows.
import LLMModels
import LLMTensor

public struct SpeedLimits: Sendable, Codable, Equatable {
    /// The C kernel set that ran (avx512vnni, avx512, avx2, sse2, neon).
    public var kernels: String
    /// Weight bytes one decoded token reads, and the machine's read rate over a buffer that large.
    public var decodeWeightBytes: Int
    public var readGBPerSecond: Double
    /// FLOPs per token in the weight matrices (attention scores aside).
    public var matrixFLOPsPerToken: Int
    /// BLAS SGEMM's rate for [prompt tokens × hidden] · [hidden × MLP width], one per prompt length.
    public var sgemm: [SGEMMRate]

    public struct SGEMMRate: Sendable, Codable, Equatable {
        public var shape: [Int]
        public var gflopPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case shape
            case gflopPerSecond = "gflop_per_second"
        }
    }

    enum CodingKeys: String, CodingKey {
        case kernels
        case decodeWeightBytes = "decode_weight_bytes"
        case readGBPerSecond = "read_gb_per_second"
        case matrixFLOPsPerToken = "matrix_flops_per_token"
        case sgemm
    }

    /// Measures both limits for `model` (about 1 s each; SGEMM at each prompt length).
    public static func measure(_ model: LanguageModel, promptLengths: [Int]) -> SpeedLimits {
        let (d, f) = (model.config.hiddenSize, model.config.ffnLength.max() ?? model.config.hiddenSize)
        return SpeedLimits(kernels: KernelSet.active, decodeWeightBytes: model.decodeWeightBytes,
                           readGBPerSecond: MachineLimits.readBandwidth(bytes: model.decodeWeightBytes, pool: model.pool),
                           matrixFLOPsPerToken: 2 * model.matrixMultiplyAdds,
                           sgemm: promptLengths.map { t in
                               SGEMMRate(shape: [t, d, f], gflopPerSecond: MachineLimits.sgemmRate(m: t, n: f, k: d, threads: model.pool.threads))
                           })
    }

    /// The SGEMM rate measured for `promptTokens` rows.
    public func sgemmRate(promptTokens: Int) -> Double? {
        sgemm.first { $0.shape.first == promptTokens }?.gflopPerSecond
    }

    /// FLOPs of prefilling `promptTokens` tokens: every layer's matrices for each token, attention's
    /// products over the prompt, and the head once (the last position's logits).
    public static func prefillFLOPs(_ model: LanguageModel, promptTokens: Int) -> Double {
        let layerMACs = Double(model.matrixMultiplyAdds - model.headMultiplyAdds)
        return 2 * (layerMACs * Double(promptTokens) + Double(model.attentionMultiplyAdds(promptTokens: promptTokens))
                    + Double(model.headMultiplyAdds))
    }
}
