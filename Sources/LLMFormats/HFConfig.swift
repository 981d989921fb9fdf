// A Hugging Face `config.json` read into the GGUF metadata and tensor names that llama.cpp's
// convert_hf_to_gguf.py writes for the same model (conversion/llama.py, qwen.py, gemma.py; key names from
// gguf-py's constants.py), so the decoder reads one convention whatever the file on disk:
//   Llama, Mistral → `llama` (Q/K rows permuted for llama.cpp's adjacent-pair RoPE; Llama 3 RoPE scaling
//                    as a `rope_freqs` tensor; Mistral's sliding window kept as `llama.attention.sliding_window`,
//                    which the converter drops but transformers applies)
//   Qwen2 → `qwen2`, Qwen3 → `qwen3` (rotate-half RoPE, nothing permuted)
//   Gemma 3 text (and the text part of Gemma3ForConditionalGeneration) → `gemma3` (RMSNorm weights stored
//                    as 1 + w, as the converter does; `layer_types` as a per-layer sliding-window pattern)
// Both config spellings are read: transformers 5's `rope_parameters` and 4's `rope_theta` / `rope_scaling`.
import Foundation

/// The checkpoint families LLMDrop reads, with their GGUF architecture.
public enum HFFamily: String, Sendable, CaseIterable {
    case llama, mistral, qwen2, qwen3, gemma3

    /// `architectures` entries and the family and tensor-name prefix (of the language model) they mean.
    static let architectures: [String: (HFFamily, prefix: String)] = [
        "LlamaForCausalLM": (.llama, "model."),
        "MistralForCausalLM": (.mistral, "model."),
        "Qwen2ForCausalLM": (.qwen2, "model."),
        "Qwen3ForCausalLM": (.qwen3, "model."),
        "Gemma3ForCausalLM": (.gemma3, "model."),
        // transformers 5 names its language model `model.language_model.`, 4.5x `language_model.model.`.
        "Gemma3ForConditionalGeneration": (.gemma3, "model.language_model."),
    ]

    public static var supportedList: String { architectures.keys.sorted().joined(separator: ", ") }

    var ggufArchitecture: String {
        switch self {
        case .llama, .mistral: return "llama"
        case .qwen2: return "qwen2"
        case .qwen3: return "qwen3"
        case .gemma3: return "gemma3"
        }
    }

    /// llama.cpp's converter permutes Q/K rows for its adjacent-pair (non-NEOX) RoPE.
    var permutesQK: Bool { self == .llama || self == .mistral }
    /// Gemma's RMSNorm scales by 1 + w; the converter stores 1 + w.
    var normShift: Float { self == .gemma3 ? 1 : 0 }
}

/// What a tensor's bytes need on the way from the checkpoint to the model.
enum HFTransform: Equatable {
    case none
    /// Q or K rows reordered for llama.cpp's RoPE, with this many heads.
    case permuteRows(heads: Int)
    /// Decoded to F32 with this added (Gemma's norm weights).
    case addToF32(Float)
}

/// The resolved hyper-parameters of a checkpoint and the GGUF metadata they become.
struct HFConfig {
    let family: HFFamily
    let architectureName: String
    /// Prefixes of the language model's tensor names.
    let tensorPrefixes: [String]
    var isMultimodal: Bool { architectureName == "Gemma3ForConditionalGeneration" }
    let layers: Int
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let tiedEmbeddings: Bool
    let vocabSize: Int
    /// Llama 3 RoPE frequency factors (llama.cpp's `rope_freqs.weight`), when the config asks for them.
    let ropeFactors: [Float]?
    /// Sublayers an LLM-Drop folder says are dropped (`drop_attn_list` / `drop_mlp_list`), per layer.
    let dropAttention: [Bool]
    let dropMLP: [Bool]
    /// GGUF metadata in writing order (architecture keys only; tokenizer keys are added separately).
    let metadata: [(String, GGUFValue)]

    init(path: String, json: [String: Any]) throws {
        let top = JSONFields(path: path, object: json, context: "")
        guard let archs = try top.optionalStrings("architectures"), let name = archs.first else {
            throw HFCheckpointError.invalidConfig(path: path, key: "architectures", reason: "it is missing or empty (it names the model class, e.g. LlamaForCausalLM)")
        }
        guard let (family, prefix) = HFFamily.architectures[name] else {
            throw HFCheckpointError.unsupportedArchitecture(path: path, name: name)
        }
        self.family = family
        architectureName = name
        tensorPrefixes = name == "Gemma3ForConditionalGeneration" ? [prefix, "language_model.model."] : [prefix]
        var c = top
        if name == "Gemma3ForConditionalGeneration" {
            guard let text = json["text_config"] as? [String: Any] else {
                throw HFCheckpointError.invalidConfig(path: path, key: "text_config", reason: "Gemma3ForConditionalGeneration needs its text model's config under 'text_config'")
            }
            c = JSONFields(path: path, object: text, context: "text_config.")
        }

        let hidden = try c.requiredInt("hidden_size")
        layers = try c.requiredInt("num_hidden_layers")
        heads = try c.requiredInt("num_attention_heads")
        kvHeads = try c.optionalInt("num_key_value_heads") ?? heads
        let ffn = try c.requiredInt("intermediate_size")
        for (k, v) in [("hidden_size", hidden), ("num_hidden_layers", layers), ("num_attention_heads", heads),
                       ("num_key_value_heads", kvHeads), ("intermediate_size", ffn)] where v <= 0 || v > 1 << 20 {
            throw HFCheckpointError.invalidConfig(path: path, key: c.context + k, reason: "\(v) is not a positive size")
        }
        guard heads % kvHeads == 0 else {
            throw HFCheckpointError.invalidConfig(path: path, key: c.context + "num_key_value_heads", reason: "\(heads) attention heads are not a multiple of \(kvHeads) key/value heads")
        }
        let explicitHeadDim = try c.optionalInt("head_dim")
        let headDim = explicitHeadDim ?? (family == .gemma3 ? 256 : hidden / heads)
        guard headDim > 0, headDim <= 1 << 17, headDim % 2 == 0, explicitHeadDim != nil || family == .gemma3 || hidden % heads == 0 else {
            throw HFCheckpointError.invalidConfig(path: path, key: c.context + "head_dim", reason: "head dimension \(headDim) must be a positive even number")
        }
        self.headDim = headDim
        vocabSize = try c.requiredInt("vocab_size")
        guard vocabSize > 0, vocabSize <= 1 << 22 else {
            throw HFCheckpointError.invalidConfig(path: path, key: c.context + "vocab_size", reason: "\(vocabSize) is not in 1...\(1 << 22)")
        }
        // transformers' defaults: Gemma ties its head, the others do not. Gemma3ForConditionalGeneration keeps it at the top.
        tiedEmbeddings = try c.optionalBool("tie_word_embeddings") ?? top.optionalBool("tie_word_embeddings") ?? (family == .gemma3)

        let arch = family.ggufArchitecture
        var m: [(String, GGUFValue)] = [("general.architecture", .string(arch))]
        func put(_ key: String, _ v: GGUFValue) { m.append(("\(arch).\(key)", v)) }
        let defaultContext = family == .gemma3 ? 131_072 : 4096
        put("context_length", .uint32(UInt32(clamping: try c.optionalInt("max_position_embeddings") ?? defaultContext)))
        put("embedding_length", .uint32(UInt32(hidden)))
        put("block_count", .uint32(UInt32(layers)))
        dropAttention = try Self.dropList(c, "drop_attn_list", layers: layers)
        dropMLP = try Self.dropList(c, "drop_mlp_list", layers: layers)
        let sublayersDropped = dropAttention.contains(true) || dropMLP.contains(true)
        if sublayersDropped {
            // Per-layer sizes, 0 where LLM-Drop's config says a sublayer is gone (as LLMDrop's pruned GGUFs have).
            func perLayer(_ v: Int, _ gone: [Bool]) -> GGUFValue { .array(elementType: .int32, gone.map { .int32($0 ? 0 : Int32(v)) }) }
            put("feed_forward_length", perLayer(ffn, dropMLP))
            put("attention.head_count", perLayer(heads, dropAttention))
            put("attention.head_count_kv", perLayer(kvHeads, dropAttention))
        } else {
            put("feed_forward_length", .uint32(UInt32(ffn)))
            put("attention.head_count", .uint32(UInt32(heads)))
            put("attention.head_count_kv", .uint32(UInt32(kvHeads)))
        }
        if explicitHeadDim != nil || family == .gemma3 || sublayersDropped {
            put("attention.key_length", .uint32(UInt32(headDim)))
            put("attention.value_length", .uint32(UInt32(headDim)))
        }
        put("attention.layer_norm_rms_epsilon", .float32(Float(try c.optionalDouble("rms_norm_eps") ?? 1e-6)))
        put("vocab_size", .uint32(UInt32(vocabSize)))

        // RoPE: transformers 5 `rope_parameters` (Gemma 3: one per layer type), or 4's `rope_theta`/`rope_scaling`.
        let rope = try Self.rope(c, family: family)
        put("rope.freq_base", .float32(Float(rope.global.theta)))
        var ropeFactors: [Float]?
        switch rope.global.type {
        case "default": break
        case "linear":
            put("rope.scaling.type", .string("linear"))
            put("rope.scaling.factor", .float32(Float(try rope.global.number("factor") ?? 1)))
        case "llama3" where family == .llama || family == .mistral:
            ropeFactors = try Self.llama3Factors(rope.global, headDim: headDim)
        default:
            throw HFCheckpointError.invalidConfig(path: path, key: rope.global.key, reason: "RoPE type '\(rope.global.type)' is not supported (default, linear and, for Llama, llama3 are)")
        }
        self.ropeFactors = ropeFactors

        switch family {
        case .llama, .mistral:
            if let w = try c.optionalInt("sliding_window"), w > 0 { put("attention.sliding_window", .uint32(UInt32(clamping: w))) }
        case .qwen2, .qwen3:
            if try c.optionalBool("use_sliding_window") == true {
                throw HFCheckpointError.invalidConfig(path: path, key: c.context + "use_sliding_window", reason: "sliding-window Qwen layers are not supported; use a checkpoint with use_sliding_window = false")
            }
        case .gemma3:
            let scalar = try c.optionalDouble("query_pre_attn_scalar") ?? Double(headDim)
            // The decoder scales by 1/√head_dim, and by 1/√(hidden/heads) for the 62-layer (27B) model.
            let expected = layers == 62 ? Double(hidden) / Double(heads) : Double(headDim)
            guard abs(scalar - expected) < 1e-9 else {
                throw HFCheckpointError.invalidConfig(path: path, key: c.context + "query_pre_attn_scalar", reason: "\(scalar) differs from \(expected), the attention scale LLMDrop's Gemma 3 uses")
            }
            if let cap = try c.optionalDouble("attn_logit_softcapping"), cap > 0 {
                throw HFCheckpointError.invalidConfig(path: path, key: c.context + "attn_logit_softcapping", reason: "attention logit soft-capping is not part of Gemma 3; remove the key or set it to null")
            }
            if let cap = try c.optionalDouble("final_logit_softcapping"), cap > 0 { put("final_logit_softcapping", .float32(Float(cap))) }
            if let w = try c.optionalInt("sliding_window"), w > 0 {
                put("attention.sliding_window", .uint32(UInt32(clamping: w)))
                let sliding: [Bool]
                if let types = try c.optionalStrings("layer_types") {
                    guard types.count == layers else {
                        throw HFCheckpointError.invalidConfig(path: path, key: c.context + "layer_types", reason: "has \(types.count) entries for \(layers) layers")
                    }
                    sliding = try types.map { t in
                        guard t == "sliding_attention" || t == "full_attention" else {
                            throw HFCheckpointError.invalidConfig(path: path, key: c.context + "layer_types", reason: "unknown layer type '\(t)' (sliding_attention or full_attention)")
                        }
                        return t == "sliding_attention"
                    }
                } else {
                    let n = try c.optionalInt("sliding_window_pattern") ?? 6
                    sliding = (0..<layers).map { n <= 0 || $0 % n < n - 1 }
                }
                put("attention.sliding_window_pattern", .array(elementType: .bool, sliding.map(GGUFValue.bool)))
                if let local = rope.local {
                    guard local.type == "default" else {
                        throw HFCheckpointError.invalidConfig(path: path, key: local.key, reason: "RoPE type '\(local.type)' on sliding layers is not supported (default is)")
                    }
                    put("rope.freq_base_swa", .float32(Float(local.theta)))
                }
            }
        }
        metadata = m
    }

    /// LLM-Drop's `drop_attn_list` / `drop_mlp_list`: one boolean per layer (true = dropped), or layer indices.
    static func dropList(_ c: JSONFields, _ key: String, layers: Int) throws -> [Bool] {
        var out = [Bool](repeating: false, count: layers)
        guard let v = c.object[key], !(v is NSNull) else { return out }
        let bad = { (r: String) in HFCheckpointError.invalidConfig(path: c.path, key: c.context + key, reason: r) }
        guard let list = v as? [Any] else { throw bad("expected a list of booleans (one per layer) or of layer indices") }
        if list.isEmpty { return out }
        if list.allSatisfy({ ($0 as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false }) {
            guard list.count == layers else { throw bad("has \(list.count) booleans for \(layers) layers") }
            return list.map { ($0 as! NSNumber).boolValue }
        }
        for item in list {
            guard let i = SafetensorsFile.integer(item), (0..<layers).contains(i) else { throw bad("\(item) is not a layer index in 0..<\(layers)") }
            out[i] = true
        }
        return out
    }

    /// One RoPE parameter set and where it came from (for messages).
    struct Rope {
        let key: String
        let type: String
        let theta: Double
        let fields: JSONFields
        func number(_ k: String) throws -> Double? { try fields.optionalDouble(k) }
    }

    static func rope(_ c: JSONFields, family: HFFamily) throws -> (global: Rope, local: Rope?) {
        let defaultTheta = family == .gemma3 ? 1_000_000.0 : 10_000.0
        func read(_ f: JSONFields, key: String, fallbackTheta: Double) throws -> Rope {
            let type = try f.optionalString("rope_type") ?? f.optionalString("type") ?? "default"
            return Rope(key: key, type: type, theta: try f.optionalDouble("rope_theta") ?? fallbackTheta, fields: f)
        }
        if let p = c.object["rope_parameters"] as? [String: Any] {
            let f = c.nested("rope_parameters", p)
            if family == .gemma3, let full = p["full_attention"] as? [String: Any] {
                let global = try read(f.nested("full_attention", full), key: c.context + "rope_parameters.full_attention", fallbackTheta: defaultTheta)
                let local = try (p["sliding_attention"] as? [String: Any]).map {
                    try read(f.nested("sliding_attention", $0), key: c.context + "rope_parameters.sliding_attention", fallbackTheta: 10_000)
                }
                return (global, local)
            }
            return (try read(f, key: c.context + "rope_parameters", fallbackTheta: try c.optionalDouble("rope_theta") ?? defaultTheta), nil)
        }
        // transformers 4: rope_theta, rope_scaling {type|rope_type, factor, ...}, Gemma's rope_local_base_freq.
        let theta = try c.optionalDouble("rope_theta") ?? defaultTheta
        let scaling = (c.object["rope_scaling"] as? [String: Any]).map { c.nested("rope_scaling", $0) }
        let global: Rope
        if let s = scaling {
            let type = try s.optionalString("rope_type") ?? s.optionalString("type") ?? "default"
            global = Rope(key: c.context + "rope_scaling", type: type, theta: theta, fields: s)
        } else {
            global = Rope(key: c.context + "rope_theta", type: "default", theta: theta, fields: c)
        }
        var local: Rope?
        if family == .gemma3 {
            local = Rope(key: c.context + "rope_local_base_freq", type: "default", theta: try c.optionalDouble("rope_local_base_freq") ?? 10_000, fields: c)
        }
        return (global, local)
    }

    /// Llama 3's RoPE frequency factors, as convert_hf_to_gguf.py computes them (float32 frequencies).
    static func llama3Factors(_ r: Rope, headDim dim: Int) throws -> [Float] {
        let factor = try r.number("factor") ?? 8
        let low = try r.number("low_freq_factor") ?? 1
        let high = try r.number("high_freq_factor") ?? 4
        let old = try r.number("original_max_position_embeddings") ?? 8192
        guard factor > 0, high != low, old > 0 else {
            throw HFCheckpointError.invalidConfig(path: r.fields.path, key: r.key, reason: "llama3 RoPE needs factor > 0 and low_freq_factor ≠ high_freq_factor")
        }
        return llama3Factors(theta: r.theta, headDim: dim, factor: factor, low: low, high: high, original: old)
    }

    /// The factors of Llama 3's RoPE scaling for head dimension `dim` (validated parameters).
    static func llama3Factors(theta: Double, headDim dim: Int, factor: Double, low: Double, high: Double, original old: Double) -> [Float] {
        let lowWavelength = old / low, highWavelength = old / high
        return stride(from: 0, to: dim, by: 2).map { i in
            let freq = Double(1 / Float(Foundation.pow(Double(Float(theta)), Double(Float(i) / Float(dim)))))
            let wavelength = 2 * Double.pi / freq
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return Float(factor) }
            let smooth = (old / wavelength - low) / (high - low)
            return Float(1 / ((1 - smooth) / factor + smooth))
        }
    }

    /// What becomes of a checkpoint tensor.
    enum TensorMapping: Equatable {
        case gguf(String, HFTransform)
        /// Not part of the language model (a vision tower, a rotary cache, a tied head's copy): left out.
        case skipped
        /// No GGUF name in this family's table.
        case unknown
    }

    /// The GGUF name of a checkpoint tensor and what its bytes need (the family's name table, after
    /// llama.cpp's tensor_mapping.py).
    func mapping(_ hf: String) -> TensorMapping {
        if hf.hasSuffix("rotary_emb.inv_freq") { return .skipped }
        if hf == "lm_head.weight" || (isMultimodal && hf == "language_model.lm_head.weight") {
            return tiedEmbeddings ? .skipped : .gguf("output.weight", .none)
        }
        guard let prefix = tensorPrefixes.first(where: { hf.hasPrefix($0) }) else {
            return isMultimodal ? .skipped : .unknown   // a multimodal checkpoint's vision tower and projector
        }
        let rest = hf.dropFirst(prefix.count)
        switch rest {
        case "embed_tokens.weight": return .gguf("token_embd.weight", .none)
        case "norm.weight": return .gguf("output_norm.weight", transform(.norm))
        default: break
        }
        let parts = rest.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "layers", let l = Int(parts[1]), (0..<layers).contains(l), String(l) == parts[1] else {
            return .unknown
        }
        guard let entry = tableEntry({ $0.hf == parts[2] }) else { return .unknown }
        // An LLM-Drop folder's dropped sublayer: its weights may be absent; any present are not used.
        if (entry.sublayer == "attention" && dropAttention[l]) || (entry.sublayer == "mlp" && dropMLP[l]) { return .skipped }
        return .gguf("blk.\(l).\(entry.gguf)", transform(entry.kind))
    }

    /// The table entry that matches in this family: one limited to the family first, else a general one.
    func tableEntry(_ match: ((hf: String, gguf: String, only: HFFamily?, kind: LayerTensorKind, sublayer: String?)) -> Bool)
        -> (hf: String, gguf: String, only: HFFamily?, kind: LayerTensorKind, sublayer: String?)? {
        Self.layerTable.first { $0.only == family && match($0) } ?? Self.layerTable.first { $0.only == nil && match($0) }
    }

    /// What a table entry's bytes need in this family.
    func transform(_ kind: LayerTensorKind) -> HFTransform {
        switch kind {
        case .plain: return .none
        case .norm: return family.normShift != 0 ? .addToF32(family.normShift) : .none
        case .query: return family.permutesQK ? .permuteRows(heads: heads) : .none
        case .key: return family.permutesQK ? .permuteRows(heads: kvHeads) : .none
        }
    }

    enum LayerTensorKind { case plain, norm, query, key }

    /// The per-layer name table, both ways (after llama.cpp's tensor_mapping.py): the checkpoint's name
    /// under `model.layers.N.`, the GGUF name under `blk.N.`, the family it is limited to (the first entry
    /// that fits wins), what the bytes need, and the sublayer it belongs to (nil: `attention` or `mlp`
    /// strings as LLMModels' TensorRole classifies them).
    static let layerTable: [(hf: String, gguf: String, only: HFFamily?, kind: LayerTensorKind, sublayer: String?)] = [
        ("input_layernorm.weight", "attn_norm.weight", nil, .norm, "attention"),
        ("self_attn.q_proj.weight", "attn_q.weight", nil, .query, "attention"),
        ("self_attn.q_proj.bias", "attn_q.bias", nil, .query, "attention"),
        ("self_attn.k_proj.weight", "attn_k.weight", nil, .key, "attention"),
        ("self_attn.k_proj.bias", "attn_k.bias", nil, .key, "attention"),
        ("self_attn.v_proj.weight", "attn_v.weight", nil, .plain, "attention"),
        ("self_attn.v_proj.bias", "attn_v.bias", nil, .plain, "attention"),
        ("self_attn.o_proj.weight", "attn_output.weight", nil, .plain, "attention"),
        ("self_attn.q_norm.weight", "attn_q_norm.weight", .qwen3, .norm, "attention"),
        ("self_attn.k_norm.weight", "attn_k_norm.weight", .qwen3, .norm, "attention"),
        ("self_attn.q_norm.weight", "attn_q_norm.weight", .gemma3, .norm, "attention"),
        ("self_attn.k_norm.weight", "attn_k_norm.weight", .gemma3, .norm, "attention"),
        ("post_attention_layernorm.weight", "post_attention_norm.weight", .gemma3, .norm, "attention"),
        ("post_attention_layernorm.weight", "ffn_norm.weight", nil, .plain, "mlp"),
        ("pre_feedforward_layernorm.weight", "ffn_norm.weight", .gemma3, .norm, "mlp"),
        ("post_feedforward_layernorm.weight", "post_ffw_norm.weight", .gemma3, .norm, "mlp"),
        ("mlp.gate_proj.weight", "ffn_gate.weight", nil, .plain, "mlp"),
        ("mlp.up_proj.weight", "ffn_up.weight", nil, .plain, "mlp"),
        ("mlp.down_proj.weight", "ffn_down.weight", nil, .plain, "mlp"),
    ]

    /// The checkpoint name and transform of a GGUF tensor name in this family (the inverse of `mapping`).
    func checkpointName(_ gguf: String) -> (name: String, transform: HFTransform)? {
        let prefix = tensorPrefixes[0]
        let norm = transform(.norm)
        switch gguf {
        case "token_embd.weight": return (prefix + "embed_tokens.weight", .none)
        case "output_norm.weight": return (prefix + "norm.weight", norm)
        case "output.weight": return ("lm_head.weight", .none)
        default: break
        }
        let parts = gguf.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "blk", let l = Int(parts[1]) else { return nil }
        guard let entry = tableEntry({ $0.gguf == parts[2] }) else { return nil }
        return ("\(prefix)layers.\(l).\(entry.hf)", transform(entry.kind))
    }
}

/// Typed reads of a JSON object's fields; a present field of the wrong type is an error naming it.
struct JSONFields {
    let path: String
    let object: [String: Any]
    /// Prefix of the keys in messages ("text_config.").
    let context: String

    func nested(_ key: String, _ o: [String: Any]) -> JSONFields { JSONFields(path: path, object: o, context: context + key + ".") }

    private func wrong(_ k: String, _ expected: String) -> HFCheckpointError {
        .invalidConfig(path: path, key: context + k, reason: "expected \(expected), found \(object[k].map { "\($0)" } ?? "nothing")")
    }

    func optionalInt(_ k: String) throws -> Int? {
        guard let v = object[k], !(v is NSNull) else { return nil }
        guard let i = SafetensorsFile.integer(v) else { throw wrong(k, "an integer") }
        return i
    }

    func requiredInt(_ k: String) throws -> Int {
        guard let i = try optionalInt(k) else { throw HFCheckpointError.invalidConfig(path: path, key: context + k, reason: "it is missing") }
        return i
    }

    func optionalDouble(_ k: String) throws -> Double? {
        guard let v = object[k], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue.isFinite else { throw wrong(k, "a number") }
        return n.doubleValue
    }

    func optionalBool(_ k: String) throws -> Bool? {
        guard let v = object[k], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, String(cString: n.objCType) == "c" else { throw wrong(k, "true or false") }
        return n.boolValue
    }

    func optionalString(_ k: String) throws -> String? {
        guard let v = object[k], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw wrong(k, "a string") }
        return s
    }

    func optionalStrings(_ k: String) throws -> [String]? {
        guard let v = object[k], !(v is NSNull) else { return nil }
        guard let a = v as? [Any], case let s = a.compactMap({ $0 as? String }), s.count == a.count else { throw wrong(k, "a list of strings") }
        return s
    }
}
