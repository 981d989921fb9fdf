// How close a speed run comes to this machine's limits, measured in the same run: decoding reads every
// weight once per token, so decode tokens/s × weight bytes per token is a read rate to set against the
// bandwidth of the memory those bytes live in; prefill is matrix products, so its FLOP/s set against
// f32 GEMM's rate at the model's shapes.
import LLMModels
import LLMTensor

public struct SpeedLimits: Sendable, Codable, Equatable {
    /// The C kernel set that ran (avx512vnni, avx512, avx2, sse2, neon).
    public var kernels: String
    /// Weight bytes one decoded token reads, and the machine's read rate over a buffer that large.
    public var decodeWeightBytes: Int
    public var readGBPerSecond: Double
    /// FLOPs per token in the weight matrices (attention scores aside), and BLAS SGEMM's rate for
    /// [promptTokens × hidden] · [hidden × MLP width].
    public var matrixFLOPsPerToken: Int
    public var sgemmGFLOPPerSecond: Double
    public var sgemmShape: [Int]

    enum CodingKeys: String, CodingKey {
        case kernels
        case decodeWeightBytes = "decode_weight_bytes"
        case readGBPerSecond = "read_gb_per_second"
        case matrixFLOPsPerToken = "matrix_flops_per_token"
        case sgemmGFLOPPerSecond = "sgemm_gflop_per_second"
        case sgemmShape = "sgemm_shape"
    }

    /// Measures both limits for `model` (about 1 s each).
    public static func measure(_ model: LanguageModel, promptTokens: Int) -> SpeedLimits {
        let shape = [promptTokens, model.config.hiddenSize, model.config.ffnLength.max() ?? model.config.hiddenSize]
        return SpeedLimits(kernels: KernelSet.active, decodeWeightBytes: model.decodeWeightBytes,
                           readGBPerSecond: MachineLimits.readBandwidth(bytes: model.decodeWeightBytes, pool: model.pool),
                           matrixFLOPsPerToken: 2 * model.matrixMultiplyAdds,
                           sgemmGFLOPPerSecond: MachineLimits.sgemmRate(m: shape[0], n: shape[2], k: shape[1], threads: model.pool.threads),
                           sgemmShape: shape)
    }

}
