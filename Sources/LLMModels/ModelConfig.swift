// Hyper-parameters in two stages (after candle's `into_config`): `Metadata` reads the GGUF keys of the
// file's architecture as stored (optionals, scalars or per-layer arrays); `ModelConfig` is resolved,
// with no optionals and per-layer values expanded, so dropping or renumbering layers keeps each layer's
// own facts. What every family shares is read here; what differs lives in one file per family
// (Families/). Invalid values throw while resolving.
import LLMFormats

public enum Architecture: String, Sendable, CaseIterable {
    /// Llama, Llama 2/3, SmolLM, Mistral (GGUF architecture `llama`).
    case llama
    /// llama.cpp's Nemotron-NAS form of Llama: per-layer head counts and FFN widths; LLMDrop writes
    /// attention- and MLP-dropped Llama models this way so llama.cpp runs them too.
    case deci
    /// Gemma 3 (text): pre- and post-norms, Q/K norms, GeGLU, sliding-window layers.
    case gemma3
    /// Qwen2 / Qwen2.5: Q/K/V biases, rotate-half RoPE.
    case qwen2
    /// Qwen3 (dense): Q/K norms, rotate-half RoPE.
    case qwen3

    public static var supportedList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// The metadata of one model (GGUF key names), read under its architecture's prefix.
struct Metadata {
    let architecture: Architecture
    let prefix: String
    let source: any ModelSource

    init(_ source: any ModelSource) throws {
        guard let arch = source["general.architecture"]?.string else { throw ModelError.missingMetadata(key: "general.architecture") }
        guard let a = Architecture(rawValue: arch) else { throw ModelError.unsupportedArchitecture(arch) }
        architecture = a
        prefix = arch
        self.source = source
    }

    func key(_ k: String) -> String { "\(prefix).\(k)" }
    func value(_ k: String) -> GGUFValue? { source[key(k)] }

    func int(_ k: String) throws -> Int? {
        guard let v = value(k) else { return nil }
        guard let i = v.int else { throw ModelError.invalidMetadata(key: key(k), reason: "expected an integer, found \(v.summary)") }
        return i
    }

    func float(_ k: String) throws -> Double? {
        guard let v = value(k) else { return nil }
        guard let d = v.double else { throw ModelError.invalidMetadata(key: key(k), reason: "expected a number, found \(v.summary)") }
        return d
    }

    func requiredInt(_ k: String) throws -> Int {
        guard let v = try int(k) else { throw ModelError.missingMetadata(key: key(k)) }
        return v
    }

    /// A value that may be one scalar for all layers or an array with one entry per layer.
    func perLayer(_ k: String, layers: Int) throws -> [Int]? {
        guard let v = value(k) else { return nil }
        if let i = v.int { return Array(repeating: i, count: layers) }
        guard let a = v.ints, a.count == v.array?.count else {
            throw ModelError.invalidMetadata(key: key(k), reason: "expected an integer or an integer array, found \(v.summary)")
        }
        guard a.count == layers else { throw ModelError.invalidMetadata(key: key(k), reason: "has \(a.count) entries for \(layers) layers") }
        return a
    }

    /// One boolean per layer (a GGUF bool array), or nil when absent.
    func boolsPerLayer(_ k: String, layers: Int) throws -> [Bool]? {
        guard let v = value(k), let a = v.array else { return nil }
        let flags = a.compactMap(\.bool)
        guard flags.count == a.count, flags.count == layers else {
            throw ModelError.invalidMetadata(key: key(k), reason: "expected \(layers) booleans, found \(v.summary)")
        }
        return flags
    }
}

/// How RoPE pairs the dimensions it rotates.
public enum RopeStyle: String, Sendable, Equatable {
    /// (x[2i], x[2i+1]): llama.cpp's normal mode; Llama GGUF converters permute Q/K rows for it.
    case adjacent
    /// (x[i], x[i+d/2]): HF's rotate-half, llama.cpp's NEOX mode (Qwen2, Qwen3, Gemma 3).
    case neox
}

public struct RopeConfig: Sendable, Equatable {
    public let style: RopeStyle
    /// How many leading dimensions of each head rotate (`rope.dimension_count`).
    public let dimensions: Int
    /// θ base per layer (`rope.freq_base`; Gemma's sliding layers use their own base).
    public let base: [Double]
    /// Positions are divided by this per layer (`rope.scaling.type = linear`); 1 otherwise.
    public let linearFactor: [Double]
}

/// The MLP's gate nonlinearity.
public enum Activation: String, Sendable, Equatable {
    /// SwiGLU: silu(gate) ⊙ up.
    case silu
    /// GeGLU with the tanh approximation of GELU.
    case geluTanh = "gelu_tanh"
}

/// What a family does differently in the forward pass; resolved once, read by the shared decoder.
public struct FamilyTraits: Sendable, Equatable {
    public var activation: Activation = .silu
    /// Embeddings are multiplied by this (Gemma: √hidden).
    public var embeddingScale: Float = 1
    /// Scale of QKᵀ; nil → 1/√head dim.
    public var attentionScale: Float?
    /// RMSNorm of each query and key head before RoPE (Qwen3, Gemma 3).
    public var qkNorm = false
    /// Biases on the Q, K and V projections (Qwen2).
    public var qkvBias = false
    /// An RMSNorm on each branch's output before it joins the residual (Gemma).
    public var postNorms = false
    /// Final logits = cap · tanh(logits / cap) when set.
    public var logitSoftCap: Float?
}

public struct ModelConfig: Sendable, Equatable {
    public let architecture: Architecture
    public let vocabularySize: Int
    public let hiddenSize: Int
    public let layerCount: Int
    public let headDim: Int
    public let contextLength: Int
    public let normEpsilon: Float
    /// Query heads per layer (0: the layer has no attention).
    public let heads: [Int]
    /// Key/value heads per layer (0: no attention and no KV cache).
    public let kvHeads: [Int]
    /// MLP width per layer (0: the layer has no MLP).
    public let ffnLength: [Int]
    public let rope: RopeConfig
    /// Keys a query sees per layer, itself included: 0 = every earlier position (global attention).
    public let slidingWindow: [Int]
    public let tiedEmbeddings: Bool
    public let traits: FamilyTraits

    /// Sane caps: far above any released model, low enough that a hostile file cannot make us allocate absurd buffers.
    static let maxDimension = 1 << 17
    static let maxLayers = 4096

    init(_ m: Metadata) throws {
        architecture = m.architecture
        let layers = try m.requiredInt("block_count")
        let hidden = try m.requiredInt("embedding_length")
        guard (1...Self.maxLayers).contains(layers) else { throw ModelError.invalidMetadata(key: m.key("block_count"), reason: "\(layers) is not in 1...\(Self.maxLayers)") }
        guard (1...Self.maxDimension).contains(hidden) else { throw ModelError.invalidMetadata(key: m.key("embedding_length"), reason: "\(hidden) is not in 1...\(Self.maxDimension)") }
        layerCount = layers
        hiddenSize = hidden

        guard let heads = try m.perLayer("attention.head_count", layers: layers) else { throw ModelError.missingMetadata(key: m.key("attention.head_count")) }
        let kv = try m.perLayer("attention.head_count_kv", layers: layers) ?? heads
        guard let ffn = try m.perLayer("feed_forward_length", layers: layers) else { throw ModelError.missingMetadata(key: m.key("feed_forward_length")) }
        let headDim: Int
        if let keyLength = try m.int("attention.key_length") {
            headDim = keyLength
            if let valueLength = try m.int("attention.value_length"), valueLength != keyLength {
                throw ModelError.invalidMetadata(key: m.key("attention.value_length"), reason: "\(valueLength) differs from the key length \(keyLength), which no supported family does")
            }
        } else if let h = heads.first(where: { $0 > 0 }), hidden % h == 0 {
            headDim = hidden / h
        } else {
            throw ModelError.missingMetadata(key: m.key("attention.key_length"))
        }
        guard headDim > 0, headDim <= Self.maxDimension, headDim % 2 == 0 else {
            throw ModelError.invalidMetadata(key: m.key("attention.key_length"), reason: "head dimension \(headDim) must be a positive even number")
        }
        for l in 0..<layers {
            let (h, k) = (heads[l], kv[l])
            guard h >= 0, k >= 0, h <= Self.maxDimension, ffn[l] >= 0, ffn[l] <= Self.maxDimension * 8 else {
                throw ModelError.invalidMetadata(key: m.key("attention.head_count"), reason: "layer \(l) has \(h) heads, \(k) KV heads, FFN \(ffn[l])")
            }
            guard k == 0 || h % k == 0 else {
                throw ModelError.invalidMetadata(key: m.key("attention.head_count_kv"), reason: "layer \(l): \(h) query heads are not a multiple of \(k) KV heads")
            }
        }
        self.heads = heads
        self.kvHeads = kv
        self.ffnLength = ffn
        self.headDim = headDim

        contextLength = try m.int("context_length") ?? 4096
        guard contextLength > 0, contextLength <= 1 << 24 else {
            throw ModelError.invalidMetadata(key: m.key("context_length"), reason: "\(contextLength) is not in 1...\(1 << 24)")
        }
        let eps = try m.float("attention.layer_norm_rms_epsilon") ?? 1e-5
        guard eps > 0, eps < 1 else { throw ModelError.invalidMetadata(key: m.key("attention.layer_norm_rms_epsilon"), reason: "\(eps) is not in (0, 1)") }
        normEpsilon = Float(eps)

        let ropeDims = try m.int("rope.dimension_count") ?? headDim
        guard ropeDims > 0, ropeDims <= headDim, ropeDims % 2 == 0 else {
            throw ModelError.invalidMetadata(key: m.key("rope.dimension_count"), reason: "\(ropeDims) must be even and at most the head dimension \(headDim)")
        }
        var linear = 1.0
        if let type = m.value("rope.scaling.type")?.string, type == "linear" {
            linear = try m.float("rope.scaling.factor") ?? 1
            guard linear > 0 else { throw ModelError.invalidMetadata(key: m.key("rope.scaling.factor"), reason: "must be positive") }
        }
        let base = try m.float("rope.freq_base") ?? 10000
        guard base > 1 else { throw ModelError.invalidMetadata(key: m.key("rope.freq_base"), reason: "\(base) must be greater than 1") }

        let family: FamilyHyperParameters
        let shared = SharedHyperParameters(layers: layers, hidden: hidden, headDim: headDim, heads: heads, ropeBase: base, ropeLinearFactor: linear)
        switch m.architecture {
        case .llama, .deci: family = try Llama.hyperParameters(m, shared)
        case .gemma3: family = try Gemma3.hyperParameters(m, shared)
        case .qwen2: family = try Qwen2.hyperParameters(m, shared)
        case .qwen3: family = try Qwen3.hyperParameters(m, shared)
        }
        for (l, w) in family.slidingWindow.enumerated() where w < 0 || w > contextLength {
            throw ModelError.invalidMetadata(key: m.key("attention.sliding_window"), reason: "layer \(l)'s window \(w) is not in 0...\(contextLength) (the context length)")
        }
        rope = RopeConfig(style: family.ropeStyle, dimensions: ropeDims, base: family.ropeBase, linearFactor: family.ropeLinearFactor)
        slidingWindow = family.slidingWindow
        traits = family.traits

        let embd = m.source.tensor(named: TensorRole.tokenEmbedding.ggufName)
        let vocab = try m.int("vocab_size") ?? embd?.shape.last ?? m.source["tokenizer.ggml.tokens"]?.array?.count ?? 0
        guard vocab > 0, vocab <= 1 << 22 else { throw ModelError.invalidMetadata(key: m.key("vocab_size"), reason: "vocabulary size \(vocab) is not in 1...\(1 << 22)") }
        vocabularySize = vocab
        tiedEmbeddings = m.source.tensor(named: TensorRole.output.ggufName) == nil
    }

    public func hasAttention(_ l: Int) -> Bool { heads[l] > 0 && kvHeads[l] > 0 }
    public func hasMLP(_ l: Int) -> Bool { ffnLength[l] > 0 }
    /// True when layer l attends to a sliding window rather than to every earlier position.
    public func isSliding(_ l: Int) -> Bool { slidingWindow[l] > 0 }

    /// Bytes of KV cache one token needs (f32 keys and values) over the layers that keep attention,
    /// while the context is shorter than every sliding window.
    public func kvCacheBytesPerToken(plan: LayerPlan) -> Int {
        (0..<layerCount).reduce(0) { acc, l in
            plan.attention[l] ? acc + 2 * kvHeads[l] * headDim * MemoryLayout<Float>.size : acc
        }
    }

    /// Bytes of KV cache for `tokens` tokens of context: sliding layers keep only their window.
    public func kvCacheBytes(plan: LayerPlan, tokens: Int) -> Int {
        (0..<layerCount).reduce(0) { acc, l in
            guard plan.attention[l] else { return acc }
            let kept = isSliding(l) ? min(tokens, slidingWindow[l]) : tokens
            return acc + 2 * kvHeads[l] * headDim * MemoryLayout<Float>.size * kept
        }
    }
}

/// What every family reads the same way, handed to the family's own reader.
struct SharedHyperParameters {
    let layers: Int
    let hidden: Int
    let headDim: Int
    let heads: [Int]
    let ropeBase: Double
    let ropeLinearFactor: Double
}

/// What a family file resolves.
struct FamilyHyperParameters {
    var ropeStyle: RopeStyle
    var ropeBase: [Double]
    var ropeLinearFactor: [Double]
    var slidingWindow: [Int]
    var traits: FamilyTraits

    /// Every layer alike: one RoPE base and factor, one window (0 = none).
    init(_ shared: SharedHyperParameters, ropeStyle: RopeStyle, window: Int = 0, traits: FamilyTraits = FamilyTraits()) {
        self.ropeStyle = ropeStyle
        ropeBase = Array(repeating: shared.ropeBase, count: shared.layers)
        ropeLinearFactor = Array(repeating: shared.ropeLinearFactor, count: shared.layers)
        slidingWindow = Array(repeating: window, count: shared.layers)
        self.traits = traits
    }
}

extension ModelConfig {
    /// Resolves the hyper-parameters of a model without loading weights.
    public init(source: any ModelSource) throws {
        try self.init(Metadata(source))
    }

    /// The sublayers the model file itself has (see `FilePlan`).
    public func filePlan(_ source: any ModelSource) throws -> LayerPlan {
        try FilePlan.read(source: source, config: self)
    }
}
