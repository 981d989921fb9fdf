// The shapes of released checkpoints, by name, for synthetic models (`SyntheticModel`): every number that
// decides speed and memory — hidden size, layers, query and key/value heads, head dimension, MLP width,
// vocabulary, context length, RoPE base and scaling, RMSNorm epsilon, tied head, Qwen2's Q/K/V biases,
// Mistral's sliding window — as each model's Hugging Face config.json states it (the checkpoint is named in
// `source`), and as llama.cpp's convert_hf_to_gguf.py writes it to GGUF metadata. Two tiny shapes exist for
// tests.

/// Llama 3.1's RoPE frequency scaling (`rope_scaling.rope_type = llama3`), stored as `rope_freqs.weight`.
public struct Llama3RopeScaling: Sendable, Equatable {
    public let factor: Double
    public let lowFrequencyFactor: Double
    public let highFrequencyFactor: Double
    public let originalContextLength: Double

    public init(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContextLength: Double) {
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalContextLength = originalContextLength
    }
}

/// The hyper-parameters of one named model.
public struct SyntheticShape: Sendable, Equatable {
    public let name: String
    /// GGUF architecture: `llama` or `qwen2`.
    public let architecture: String
    /// The checkpoint whose config.json these numbers are.
    public let source: String
    public let hiddenSize: Int
    public let layers: Int
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int
    public let ffnLength: Int
    public let vocabularySize: Int
    public let contextLength: Int
    public let ropeBase: Double
    public let ropeScaling: Llama3RopeScaling?
    public let normEpsilon: Double
    public let tiedEmbeddings: Bool
    /// Biases on the Q, K and V projections (Qwen2).
    public let qkvBias: Bool
    /// Keys a query sees (Mistral 7B v0.1: 4096); 0 = global attention.
    public let slidingWindow: Int

    public init(name: String, architecture: String, source: String, hiddenSize: Int, layers: Int, heads: Int, kvHeads: Int,
                headDim: Int? = nil, ffnLength: Int, vocabularySize: Int, contextLength: Int, ropeBase: Double,
                ropeScaling: Llama3RopeScaling? = nil, normEpsilon: Double, tiedEmbeddings: Bool = false,
                qkvBias: Bool = false, slidingWindow: Int = 0) {
        self.name = name
        self.architecture = architecture
        self.source = source
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim ?? hiddenSize / heads
        self.ffnLength = ffnLength
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.ropeBase = ropeBase
        self.ropeScaling = ropeScaling
        self.normEpsilon = normEpsilon
        self.tiedEmbeddings = tiedEmbeddings
        self.qkvBias = qkvBias
        self.slidingWindow = slidingWindow
    }

    /// Weights of the model: embeddings, head (unless tied), and per layer Q, K, V, O, gate, up, down,
    /// two norms (and Qwen2's biases), the final norm.
    public var parameterCount: Int {
        let D = hiddenSize, Q = heads * headDim, K = kvHeads * headDim, F = ffnLength
        let perLayer = D * Q + 2 * D * K + Q * D + 3 * D * F + 2 * D + (qkvBias ? Q + 2 * K : 0)
        return vocabularySize * D * (tiedEmbeddings ? 1 : 2) + layers * perLayer + D
    }

    /// Weights multiplied per token in a forward pass that produces logits (the embedding lookup is not a
    /// product; the head is, tied or not): FLOPs per token ≈ 2 × this, before attention's QKᵀ and AV.
    public var matmulParameterCount: Int {
        let D = hiddenSize, Q = heads * headDim, K = kvHeads * headDim, F = ffnLength
        return layers * (D * Q + 2 * D * K + Q * D + 3 * D * F) + vocabularySize * D
    }
}

public enum SyntheticShapes {
    /// Every known shape, in the order `--like` lists them.
    public static let all: [SyntheticShape] = [
        SyntheticShape(name: "llama-2-7b", architecture: "llama", source: "meta-llama/Llama-2-7b-hf",
                       hiddenSize: 4096, layers: 32, heads: 32, kvHeads: 32, ffnLength: 11008, vocabularySize: 32000,
                       contextLength: 4096, ropeBase: 10000, normEpsilon: 1e-5),
        SyntheticShape(name: "llama-2-13b", architecture: "llama", source: "meta-llama/Llama-2-13b-hf",
                       hiddenSize: 5120, layers: 40, heads: 40, kvHeads: 40, ffnLength: 13824, vocabularySize: 32000,
                       contextLength: 4096, ropeBase: 10000, normEpsilon: 1e-5),
        SyntheticShape(name: "llama-2-70b", architecture: "llama", source: "meta-llama/Llama-2-70b-hf",
                       hiddenSize: 8192, layers: 80, heads: 64, kvHeads: 8, ffnLength: 28672, vocabularySize: 32000,
                       contextLength: 4096, ropeBase: 10000, normEpsilon: 1e-5),
        SyntheticShape(name: "llama-3-8b", architecture: "llama", source: "meta-llama/Meta-Llama-3-8B",
                       hiddenSize: 4096, layers: 32, heads: 32, kvHeads: 8, ffnLength: 14336, vocabularySize: 128256,
                       contextLength: 8192, ropeBase: 500000, normEpsilon: 1e-5),
        SyntheticShape(name: "llama-3.1-8b", architecture: "llama", source: "meta-llama/Llama-3.1-8B",
                       hiddenSize: 4096, layers: 32, heads: 32, kvHeads: 8, ffnLength: 14336, vocabularySize: 128256,
                       contextLength: 131072, ropeBase: 500000,
                       ropeScaling: Llama3RopeScaling(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192),
                       normEpsilon: 1e-5),
        SyntheticShape(name: "mistral-7b", architecture: "llama", source: "mistralai/Mistral-7B-v0.1",
                       hiddenSize: 4096, layers: 32, heads: 32, kvHeads: 8, ffnLength: 14336, vocabularySize: 32000,
                       contextLength: 32768, ropeBase: 10000, normEpsilon: 1e-5, slidingWindow: 4096),
        SyntheticShape(name: "qwen2.5-7b", architecture: "qwen2", source: "Qwen/Qwen2.5-7B-Instruct",
                       hiddenSize: 3584, layers: 28, heads: 28, kvHeads: 4, ffnLength: 18944, vocabularySize: 152064,
                       contextLength: 32768, ropeBase: 1_000_000, normEpsilon: 1e-6, qkvBias: true),
        // Tiny shapes for tests: a Llama with grouped-query attention, and a Qwen2 with biases and a tied head.
        SyntheticShape(name: "tiny", architecture: "llama", source: "a test shape",
                       hiddenSize: 64, layers: 4, heads: 4, kvHeads: 2, ffnLength: 128, vocabularySize: 320,
                       contextLength: 512, ropeBase: 10000, normEpsilon: 1e-5),
        SyntheticShape(name: "tiny-qwen2", architecture: "qwen2", source: "a test shape",
                       hiddenSize: 64, layers: 3, heads: 4, kvHeads: 1, ffnLength: 96, vocabularySize: 300,
                       contextLength: 512, ropeBase: 1_000_000, normEpsilon: 1e-6, tiedEmbeddings: true, qkvBias: true),
    ]

    public static var names: [String] { all.map(\.name) }

    /// The shape called `name` (case-insensitive); an unknown name lists the known ones.
    public static func named(_ name: String) throws(SyntheticModelError) -> SyntheticShape {
        guard let s = all.first(where: { $0.name == name.lowercased() }) else { throw .unknownShape(name, known: names) }
        return s
    }
}
