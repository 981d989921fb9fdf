// Llama-family hyper-parameters, in two stages (after candle's `into_config`): `LlamaMetadata` mirrors the
// GGUF keys as stored (optionals, scalars or per-layer arrays); `LlamaConfig` is resolved, with no optionals
// and per-layer values expanded. Invalid values throw while resolving.
import LLMFormats

public enum Architecture: String, Sendable, CaseIterable {
    /// Plain Llama: every layer has the same shape.
    case llama
    /// llama.cpp's Nemotron-NAS form: per-layer head counts and FFN widths; LLMDrop writes attention-
    /// and MLP-dropped models this way so llama.cpp runs them too.
    case deci
}

/// The GGUF keys of a Llama-family model, as stored.
struct LlamaMetadata {
    let architecture: Architecture
    let prefix: String
    let file: GGUFFile

    init(_ file: GGUFFile) throws {
        guard let arch = file["general.architecture"]?.string else { throw ModelError.missingMetadata(key: "general.architecture") }
        guard let a = Architecture(rawValue: arch) else { throw ModelError.unsupportedArchitecture(arch) }
        architecture = a
        prefix = arch
        self.file = file
    }

    func value(_ key: String) -> GGUFValue? { file["\(prefix).\(key)"] }

    func int(_ key: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.int else { throw ModelError.invalidMetadata(key: "\(prefix).\(key)", reason: "expected an integer, found \(v.summary)") }
        return i
    }

    func float(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.double else { throw ModelError.invalidMetadata(key: "\(prefix).\(key)", reason: "expected a number, found \(v.summary)") }
        return d
    }

    func requiredInt(_ key: String) throws -> Int {
        guard let v = try int(key) else { throw ModelError.missingMetadata(key: "\(prefix).\(key)") }
        return v
    }

    /// A value that may be one scalar for all layers or an array with one entry per layer.
    func perLayer(_ key: String, layers: Int) throws -> [Int]? {
        guard let v = value(key) else { return nil }
        if let i = v.int { return Array(repeating: i, count: layers) }
        guard let a = v.ints else { throw ModelError.invalidMetadata(key: "\(prefix).\(key)", reason: "expected an integer or an integer array, found \(v.summary)") }
        guard a.count == layers else {
            throw ModelError.invalidMetadata(key: "\(prefix).\(key)", reason: "has \(a.count) entries for \(layers) layers")
        }
        return a
    }
}

public struct RopeConfig: Sendable, Equatable {
    /// θ base (`rope.freq_base`).
    public let base: Double
    /// How many leading dimensions of each head rotate (`rope.dimension_count`).
    public let dimensions: Int
    /// Positions are divided by this (`rope.scaling.type = linear`); 1 otherwise.
    public let linearFactor: Double
}

public struct LlamaConfig: Sendable, Equatable {
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
    public let tiedEmbeddings: Bool

    /// Sane caps: far above any released model, low enough that a hostile file cannot make us allocate absurd buffers.
    static let maxDimension = 1 << 17
    static let maxLayers = 4096

    init(_ m: LlamaMetadata) throws {
        architecture = m.architecture
        let layers = try m.requiredInt("block_count")
        let hidden = try m.requiredInt("embedding_length")
        guard (1...Self.maxLayers).contains(layers) else { throw ModelError.invalidMetadata(key: "\(m.prefix).block_count", reason: "\(layers) is not in 1...\(Self.maxLayers)") }
        guard (1...Self.maxDimension).contains(hidden) else { throw ModelError.invalidMetadata(key: "\(m.prefix).embedding_length", reason: "\(hidden) is not in 1...\(Self.maxDimension)") }
        layerCount = layers
        hiddenSize = hidden

        guard let heads = try m.perLayer("attention.head_count", layers: layers) else { throw ModelError.missingMetadata(key: "\(m.prefix).attention.head_count") }
        let kv = try m.perLayer("attention.head_count_kv", layers: layers) ?? heads
        guard let ffn = try m.perLayer("feed_forward_length", layers: layers) else { throw ModelError.missingMetadata(key: "\(m.prefix).feed_forward_length") }
        let headDim: Int
        if let keyLength = try m.int("attention.key_length") {
            headDim = keyLength
        } else if let h = heads.first(where: { $0 > 0 }), hidden % h == 0 {
            headDim = hidden / h
        } else {
            throw ModelError.missingMetadata(key: "\(m.prefix).attention.key_length")
        }
        guard headDim > 0, headDim <= Self.maxDimension, headDim % 2 == 0 else {
            throw ModelError.invalidMetadata(key: "\(m.prefix).attention.key_length", reason: "head dimension \(headDim) must be a positive even number")
        }
        for l in 0..<layers {
            let (h, k) = (heads[l], kv[l])
            guard h >= 0, k >= 0, h <= Self.maxDimension, ffn[l] >= 0, ffn[l] <= Self.maxDimension * 8 else {
                throw ModelError.invalidMetadata(key: "\(m.prefix).attention.head_count", reason: "layer \(l) has \(h) heads, \(k) KV heads, FFN \(ffn[l])")
            }
            guard k == 0 || h % k == 0 else {
                throw ModelError.invalidMetadata(key: "\(m.prefix).attention.head_count_kv", reason: "layer \(l): \(h) query heads are not a multiple of \(k) KV heads")
            }
        }
        self.heads = heads
        self.kvHeads = kv
        self.ffnLength = ffn
        self.headDim = headDim

        contextLength = try m.int("context_length") ?? 4096
        guard contextLength > 0 else { throw ModelError.invalidMetadata(key: "\(m.prefix).context_length", reason: "must be positive") }
        let eps = try m.float("attention.layer_norm_rms_epsilon") ?? 1e-5
        guard eps > 0, eps < 1 else { throw ModelError.invalidMetadata(key: "\(m.prefix).attention.layer_norm_rms_epsilon", reason: "\(eps) is not in (0, 1)") }
        normEpsilon = Float(eps)

        let ropeDims = try m.int("rope.dimension_count") ?? headDim
        guard ropeDims > 0, ropeDims <= headDim, ropeDims % 2 == 0 else {
            throw ModelError.invalidMetadata(key: "\(m.prefix).rope.dimension_count", reason: "\(ropeDims) must be even and at most the head dimension \(headDim)")
        }
        var linear = 1.0
        if let type = m.value("rope.scaling.type")?.string, type == "linear" {
            linear = try m.float("rope.scaling.factor") ?? 1
            guard linear > 0 else { throw ModelError.invalidMetadata(key: "\(m.prefix).rope.scaling.factor", reason: "must be positive") }
        }
        rope = RopeConfig(base: try m.float("rope.freq_base") ?? 10000, dimensions: ropeDims, linearFactor: linear)

        let embd = m.file.tensor(named: TensorRole.tokenEmbedding.ggufName)
        let vocab = try m.int("vocab_size") ?? embd?.shape.last ?? m.file["tokenizer.ggml.tokens"]?.array?.count ?? 0
        guard vocab > 0, vocab <= 1 << 22 else { throw ModelError.invalidMetadata(key: "\(m.prefix).vocab_size", reason: "vocabulary size \(vocab) is not in 1...\(1 << 22)") }
        vocabularySize = vocab
        tiedEmbeddings = m.file.tensor(named: TensorRole.output.ggufName) == nil
    }

    public func hasAttention(_ l: Int) -> Bool { heads[l] > 0 && kvHeads[l] > 0 }
    public func hasMLP(_ l: Int) -> Bool { ffnLength[l] > 0 }

    /// Bytes of KV cache one token needs (f32 keys and values) over the layers that keep attention.
    public func kvCacheBytesPerToken(plan: LayerPlan) -> Int {
        (0..<layerCount).reduce(0) { acc, l in
            plan.attention[l] ? acc + 2 * kvHeads[l] * headDim * MemoryLayout<Float>.size : acc
        }
    }
}

extension LlamaConfig {
    /// Resolves the hyper-parameters of a GGUF file without loading weights.
    public init(file: GGUFFile) throws {
        try self.init(LlamaMetadata(file))
    }

    /// The sublayers the file itself has (see `FilePlan`).
    public func filePlan(_ file: GGUFFile) throws -> LayerPlan {
        try FilePlan.read(file: file, config: self)
    }
}
