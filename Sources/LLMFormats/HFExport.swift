// Writes a model source (a GGUF file, or a Hugging Face folder read as one) as a Hugging Face checkpoint
// folder: the inverse of HFConfig / HFCheckpoint's translation, through the same name table
// (`HFConfig.layerTable`), so the two directions cannot disagree.
//   config.json     per family — LlamaForCausalLM (MistralForCausalLM when a sliding window is set),
//                   Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM — in transformers 5's spelling
//                   (`rope_parameters`, `dtype`) plus transformers 4's (`rope_theta`, `rope_scaling`,
//                   `torch_dtype`, Gemma's `rope_local_base_freq`), from the GGUF metadata; Llama 3 RoPE
//                   factors (`rope_freqs`) back to their `llama3` parameters; Gemma 3's `layer_types` from
//                   its per-layer sliding pattern, one entry per kept layer.
//   weights         GGUF names and ggml shapes back to HF names and row-major shapes; Llama/Mistral Q/K rows
//                   un-permuted; Gemma's norms back from 1 + w to w; every tensor in one float type (F32, F16
//                   or BF16; quantised tensors dequantised), streamed tensor by tensor into safetensors
//                   (sharded above 5 GB).
//   dropped layers  whole blocks are left out and the rest renumbered (the stock architecture); layers with
//                   only their attention or MLP dropped keep the other sublayer, the dropped one's weights
//                   are absent and config.json says which in `drop_attn_list` / `drop_mlp_list` (one boolean
//                   per layer), the layout of the paper's LLM-Drop code.
//   tokenizer       an HF source's own files copied; a GGUF's `tokenizer.ggml.*` written as tokenizer.json +
//                   tokenizer_config.json (HFTokenizerExport.swift).
// The folder is written atomically (AtomicFolder) and never over or inside its input.
import Foundation
import LLMTensor

public enum HFExportError: Error, Equatable, CustomStringConvertible {
    case unsupportedArchitecture(String)
    case unsupportedType(String)
    case unsupportedModel(path: String, reason: String)
    case unsupportedTokenizer(path: String, reason: String)
    case nothingKept

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a):
            return "architecture '\(a)' cannot be written as a Hugging Face checkpoint (supported: llama, deci, qwen2, qwen3, gemma3); convert a model of a supported family"
        case .unsupportedType(let t):
            return "type \(t) cannot be written to a Hugging Face checkpoint; pass --type F32, F16 or BF16"
        case .unsupportedModel(let p, let r):
            return "'\(p)' cannot be written as a Hugging Face checkpoint: \(r)"
        case .unsupportedTokenizer(let p, let r):
            return "the tokenizer of '\(p)' cannot be written as tokenizer.json: \(r)"
        case .nothingKept:
            return "the plan drops every block; keep at least one"
        }
    }
}

public struct HFExportSummary: Sendable {
    public let architecture: String
    public let layers: Int
    public let tensors: Int
    public let bytes: Int
    public let dtype: String
    public let files: [String]
}

public enum HFExport {
    /// The float types a checkpoint is written in.
    public static let types: [GGMLType] = [.f32, .f16, .bf16]

    /// Writes `source` as a checkpoint folder at `folder`.
    /// - Parameters:
    ///   - keepAttention, keepMLP: per source layer, whether the sublayer is written (nil: every sublayer
    ///     the source has). A layer with neither is left out and the rest renumbered.
    ///   - type: F32, F16 or BF16 for every tensor; nil: each tensor as stored when it is one of these (a
    ///     lossless copy), quantised ones as F32; config.json's `dtype` is then the embedding's.
    @discardableResult
    public static func write(source: any ModelSource, to folder: String, keepAttention: [Bool]? = nil, keepMLP: [Bool]? = nil,
                             type: GGMLType? = nil, maxShardBytes: Int = SafetensorsWriter.defaultMaxShardBytes,
                             progress: ((_ bytesDone: Int, _ bytesTotal: Int) -> Void)? = nil) throws -> HFExportSummary {
        if let type, !types.contains(type) { throw HFExportError.unsupportedType(type.description) }
        try OutputFolderError.checkApart(output: folder, input: source.path)
        let model = try ExportedModel(source: source, keepAttention: keepAttention, keepMLP: keepMLP, type: type)
        var writer = SafetensorsWriter()
        for t in try model.tensors() { try writer.add(t) }

        let out = try AtomicFolder(finalPath: folder)
        do {
            try out.write(try jsonData(model.config), as: "config.json")
            try writeTokenizer(source: source, model: model, into: out)
            let files = try writer.write(into: out.tempPath, maxShardBytes: maxShardBytes, progress: progress)
            try out.commit()
            return HFExportSummary(architecture: model.architectureName, layers: model.kept.count, tensors: writer.tensors.count,
                                   bytes: writer.totalBytes, dtype: model.type?.description ?? "as stored", files: files)
        } catch {
            out.discard()
            throw error
        }
    }

    static func jsonData(_ o: Any) throws -> Data {
        var d = try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        d.append(UInt8(ascii: "\n"))
        return HFCheckpoint.escapingBOMs(d)   // a raw U+FEFF opening a string is lost by Foundation's reader
    }

    /// tokenizer.json and tokenizer_config.json written from a GGUF source's `tokenizer.ggml.*` metadata.
    public static func tokenizerFiles(of source: any ModelSource) throws -> [(name: String, data: Data)] {
        let arch = source["general.architecture"]?.string ?? ""
        let t = try HFTokenizerExport(source: source, contextLength: source["\(arch).context_length"]?.int ?? 4096)
        return [("tokenizer.json", t.tokenizerJSON), ("tokenizer_config.json", t.tokenizerConfig)]
    }

    /// The tokenizer files: copied from an HF source, else written from the GGUF metadata.
    static func writeTokenizer(source: any ModelSource, model: ExportedModel, into out: AtomicFolder) throws {
        if let hf = source as? HFCheckpoint {
            for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
                         "chat_template.jinja", "chat_template.json", "tokenizer.model"] {
                let p = (hf.path as NSString).appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: p) else { continue }
                try out.write(try Data(contentsOf: URL(fileURLWithPath: p)), as: name)
            }
            return
        }
        let files = try HFTokenizerExport(source: source, contextLength: model.contextLength)
        try out.write(files.tokenizerJSON, as: "tokenizer.json")
        try out.write(files.tokenizerConfig, as: "tokenizer_config.json")
        var generation: [String: Any] = ["_from_model_config": true]
        for (k, v) in [("bos_token_id", model.bos), ("eos_token_id", model.eos), ("pad_token_id", model.pad)] { if let v { generation[k] = v } }
        try out.write(try jsonData(generation), as: "generation_config.json")
    }
}

/// What the exporter resolves from a source before writing: family, sizes, kept layers, config.json.
struct ExportedModel {
    let source: any ModelSource
    let family: HFFamily
    let architectureName: String
    let layers: Int
    /// Source layers written, in order (a block with neither sublayer left is not).
    let kept: [Int]
    let keepAttention: [Bool]
    let keepMLP: [Bool]
    /// The type of every tensor, or nil: each as stored (quantised ones F32).
    let type: GGMLType?
    /// config.json's dtype.
    let configType: GGMLType
    let contextLength: Int
    let bos: Int?, eos: Int?, pad: Int?
    let config: [String: Any]
    let hf: HFConfig

    init(source: any ModelSource, keepAttention: [Bool]?, keepMLP: [Bool]?, type: GGMLType?) throws {
        self.source = source
        let path = source.path
        func fail(_ r: String) -> HFExportError { .unsupportedModel(path: path, reason: r) }
        guard let arch = source["general.architecture"]?.string else { throw fail("it has no general.architecture") }
        let familyOf: [String: HFFamily] = ["llama": .llama, "deci": .llama, "qwen2": .qwen2, "qwen3": .qwen3, "gemma3": .gemma3]
        guard var family = familyOf[arch] else { throw HFExportError.unsupportedArchitecture(arch) }
        func value(_ k: String) -> GGUFValue? { source["\(arch).\(k)"] }
        func int(_ k: String) -> Int? { value(k)?.int }
        func double(_ k: String) -> Double? { value(k)?.double }
        guard let layers = int("block_count"), layers > 0, let hidden = int("embedding_length"), hidden > 0 else {
            throw fail("\(arch).block_count or \(arch).embedding_length is missing")
        }
        self.layers = layers
        func perLayer(_ k: String) throws -> [Int]? {
            guard let v = value(k) else { return nil }
            if let i = v.int { return Array(repeating: i, count: layers) }
            guard let a = v.ints, a.count == layers else { throw fail("\(arch).\(k) is not one value or one per layer") }
            return a
        }
        guard let headsPL = try perLayer("attention.head_count"), let ffnPL = try perLayer("feed_forward_length") else {
            throw fail("\(arch).attention.head_count or feed_forward_length is missing")
        }
        let kvPL = try perLayer("attention.head_count_kv") ?? headsPL
        // Sublayers the source has: attention with query and KV heads (deci's layer-0 "linear attention" has
        // no KV heads), an MLP of non-zero width not marked as LLMDrop's zero stand-in.
        let droppedMLPMarks = Set(source["llmdrop.dropped_mlp"]?.ints ?? [])
        var hasAttention = (0..<layers).map { headsPL[$0] > 0 && kvPL[$0] > 0 }
        var hasMLP = (0..<layers).map { ffnPL[$0] > 0 && !droppedMLPMarks.contains($0) }
        if let k = keepAttention {
            guard k.count == layers else { throw fail("the plan has \(k.count) layers, the model \(layers)") }
            hasAttention = zip(hasAttention, k).map { $0 && $1 }
        }
        if let k = keepMLP {
            guard k.count == layers else { throw fail("the plan has \(k.count) layers, the model \(layers)") }
            hasMLP = zip(hasMLP, k).map { $0 && $1 }
        }
        self.keepAttention = hasAttention
        self.keepMLP = hasMLP
        kept = (0..<layers).filter { hasAttention[$0] || hasMLP[$0] }
        guard !kept.isEmpty else { throw HFExportError.nothingKept }
        // A checkpoint has one size for every layer: the layers that have a sublayer must agree.
        func uniform(_ values: [Int], _ where_: [Bool], _ what: String) throws -> Int {
            let set = Set((0..<layers).filter { where_[$0] }.map { values[$0] })
            guard set.count <= 1 else { throw fail("its layers have different \(what) (\(set.sorted())); a checkpoint config has one") }
            return set.first ?? values.first { $0 > 0 } ?? 0
        }
        let heads = try uniform(headsPL, hasAttention, "head counts")
        let kvHeads = try uniform(kvPL, hasAttention, "KV head counts")
        let ffn = try uniform(ffnPL, hasMLP, "feed-forward widths")
        guard heads > 0, kvHeads > 0, ffn > 0 else { throw fail("no layer keeps an attention and an MLP to take the sizes from") }
        let headDim = int("attention.key_length") ?? hidden / heads
        if let r = int("rope.dimension_count"), r != headDim { throw fail("RoPE rotates \(r) of \(headDim) dimensions per head (partial rotary is not written)") }
        guard let embd = source.tensor(named: "token_embd.weight"), embd.shape.count == 2 else { throw fail("it has no token_embd.weight") }
        let vocab = embd.shape[1]
        let tied = source.tensor(named: "output.weight") == nil
        contextLength = int("context_length") ?? 4096
        let eps = double("attention.layer_norm_rms_epsilon") ?? 1e-5
        let theta = double("rope.freq_base") ?? (family == .gemma3 ? 1_000_000 : 10_000)
        let window = int("attention.sliding_window") ?? 0
        if family == .llama && window > 0 { family = .mistral }
        self.family = family
        let outType = type ?? (HFExport.types.contains(embd.type) ? embd.type : .f32)
        self.type = type
        configType = outType
        bos = source["tokenizer.ggml.bos_token_id"]?.int
        eos = source["tokenizer.ggml.eos_token_id"]?.int
        pad = source["tokenizer.ggml.padding_token_id"]?.int

        /// A float as the shortest decimal that reads back as the same Float (1e-06, not 9.99999997e-07).
        func num(_ x: Double) -> Double { Double("\(Float(x))") ?? x }
        var c: [String: Any] = [
            "hidden_size": hidden, "intermediate_size": ffn, "num_hidden_layers": kept.count,
            "num_attention_heads": heads, "num_key_value_heads": kvHeads, "head_dim": headDim,
            "max_position_embeddings": contextLength, "rms_norm_eps": num(eps), "vocab_size": vocab,
            "tie_word_embeddings": tied, "use_cache": true, "attention_dropout": 0.0, "initializer_range": 0.02,
            "dtype": Self.torchName(outType), "torch_dtype": Self.torchName(outType),
        ]
        for (k, v) in [("bos_token_id", bos), ("eos_token_id", eos), ("pad_token_id", pad)] { if let v { c[k] = v } }
        var rope: [String: Any] = ["rope_theta": num(theta), "rope_type": "default"]
        var ropeScaling: Any = NSNull()
        if value("rope.scaling.type")?.string == "linear", let f = double("rope.scaling.factor"), f != 1 {
            rope["rope_type"] = "linear"
            rope["factor"] = num(f)
            ropeScaling = ["rope_type": "linear", "type": "linear", "factor": num(f)]
        }
        if let freqs = source.tensor(named: "rope_freqs.weight") {
            guard family == .llama || family == .mistral else { throw fail("rope_freqs is only written for Llama") }
            var f = [Float](repeating: 0, count: freqs.elementCount)
            Dequant.reference(freqs.type, source.data(for: freqs), &f, count: f.count)
            if f.contains(where: { $0 != 1 }) {
                guard let p = Self.llama3Parameters(factors: f, theta: theta, headDim: headDim, contextLength: contextLength) else {
                    throw fail("its rope_freqs factors are not those of Llama 3 RoPE scaling, the only kind a config can state")
                }
                rope = p.merging(["rope_theta": num(theta), "rope_type": "llama3"]) { a, _ in a }
                ropeScaling = p.merging(["rope_type": "llama3"]) { a, _ in a }
            }
        }
        c["rope_theta"] = num(theta)
        c["rope_scaling"] = ropeScaling
        let keptSliding: [Bool]
        switch family {
        case .llama, .mistral:
            c.merge(["architectures": [family == .mistral ? "MistralForCausalLM" : "LlamaForCausalLM"],
                     "model_type": family == .mistral ? "mistral" : "llama", "hidden_act": "silu",
                     "attention_bias": false, "mlp_bias": false, "pretraining_tp": 1]) { $1 }
            if family == .mistral { c["sliding_window"] = window }
            c["rope_parameters"] = rope
            keptSliding = []
        case .qwen2, .qwen3:
            c.merge(["architectures": [family == .qwen2 ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM"],
                     "model_type": family.rawValue, "hidden_act": "silu", "use_sliding_window": false,
                     "sliding_window": NSNull(), "max_window_layers": kept.count,
                     "layer_types": Array(repeating: "full_attention", count: kept.count)]) { $1 }
            if family == .qwen3 { c["attention_bias"] = false }
            c["rope_parameters"] = rope
            keptSliding = []
        case .gemma3:
            var sliding = [Bool](repeating: false, count: layers)
            if window > 0 {
                if let v = value("attention.sliding_window_pattern"), let flags = v.array?.compactMap(\.bool), flags.count == layers {
                    sliding = flags
                } else {
                    let n = int("attention.sliding_window_pattern") ?? 6
                    sliding = (0..<layers).map { n == 0 || $0 % n < n - 1 }
                }
            }
            keptSliding = kept.map { sliding[$0] }
            let local = num(double("rope.freq_base_swa") ?? 10_000)
            c.merge(["architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text",
                     "hidden_activation": "gelu_pytorch_tanh", "attention_bias": false,
                     "query_pre_attn_scalar": layers == 62 ? hidden / heads : headDim,
                     "sliding_window": window > 0 ? window : contextLength,
                     "layer_types": keptSliding.map { $0 ? "sliding_attention" : "full_attention" },
                     "attn_logit_softcapping": NSNull(),
                     "final_logit_softcapping": double("final_logit_softcapping").map { num($0) as Any } ?? NSNull(),
                     "use_bidirectional_attention": false, "rope_local_base_freq": local,
                     "rope_parameters": ["full_attention": rope, "sliding_attention": ["rope_theta": local, "rope_type": "default"]]]) { $1 }
        }
        let attentionGone = kept.map { !hasAttention[$0] }, mlpGone = kept.map { !hasMLP[$0] }
        if attentionGone.contains(true) || mlpGone.contains(true) {
            c["drop_attn_list"] = attentionGone
            c["drop_mlp_list"] = mlpGone
        }
        // As a reader sees it (JSON numbers and booleans), and read back by our own reader: what it accepts
        // and how it names the tensors is what the file will be read with.
        config = try Self.reparsed(c)
        architectureName = (c["architectures"] as! [String])[0]
        hf = try HFConfig(path: path, json: config)
    }

    static func reparsed(_ o: [String: Any]) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: HFExport.jsonData(o)) as! [String: Any]
    }

    static func torchName(_ t: GGMLType) -> String {
        switch t {
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        default: return "float32"
        }
    }

    /// The `llama3` RoPE parameters that give exactly `factors` (llama.cpp's rope_freqs) by transformers'
    /// and the converter's formula, or nil. The converter does not keep the parameters; they are found
    /// from the factors: `factor` is the largest, and with low_freq_factor 1 and high_freq_factor 4 (Llama
    /// 3's) `original_max_position_embeddings` follows from a factor between 1 and `factor`, or from the
    /// wavelengths either side of the jump when there is none. Verified by recomputing every factor.
    static func llama3Parameters(factors: [Float], theta: Double, headDim: Int, contextLength: Int) -> [String: Any]? {
        guard let factor = factors.max(), factor > 1 else { return nil }
        let low = 1.0, high = 4.0, F = Double(factor)
        let wavelengths = (0..<factors.count).map { i -> Double in
            let freq = Double(1 / Float(Foundation.pow(Double(Float(theta)), Double(Float(2 * i) / Float(headDim)))))
            return 2 * Double.pi / freq
        }
        var candidates: [Double] = []
        for (i, f) in factors.enumerated() where f > 1 && f < factor {
            let s = (1 / Double(f) - 1 / F) / (1 - 1 / F)
            candidates.append(wavelengths[i] * (s * (high - low) + low))
        }
        if let firstFull = factors.firstIndex(of: factor) {
            candidates.append(wavelengths[firstFull] * low * 0.999)
            if firstFull > 0 { candidates.append(wavelengths[firstFull - 1] * high * 1.001) }
        }
        candidates += [8192, Double(contextLength)]
        for old in candidates.flatMap({ [$0.rounded(), $0] }) where old > 0 {
            let params: [String: Any] = ["factor": F, "low_freq_factor": low, "high_freq_factor": high,
                                         "original_max_position_embeddings": old == old.rounded() ? Int(old) as Any : old]
            guard let parsed = try? reparsed(params) else { continue }
            let rope = HFConfig.Rope(key: "rope_parameters", type: "llama3", theta: theta,
                                     fields: JSONFields(path: "", object: parsed, context: ""))
            if let again = try? HFConfig.llama3Factors(rope, headDim: headDim), again == factors { return params }
        }
        return nil
    }

    /// Where each written tensor comes from: HF name, source tensor, transform, in the model's order.
    func tensors() throws -> [SafetensorsTensorSource] {
        var newIndex: [Int: Int] = [:]
        for (n, l) in kept.enumerated() { newIndex[l] = n }
        var items: [(order: (Int, Int), source: TensorInfo, name: String, transform: HFTransform)] = []
        for info in source.tensors {
            if info.name == "rope_freqs.weight" { continue }   // stated in config.json
            var gguf = info.name
            var order = (info.name == "token_embd.weight" ? -1 : layers + (info.name == "output.weight" ? 1 : 0), 0)
            let parts = info.name.split(separator: ".", maxSplits: 2)
            if parts.count == 3, parts[0] == "blk", let l = Int(parts[1]) {
                guard let n = newIndex[l] else { continue }
                guard let entry = hf.tableEntry({ $0.gguf == parts[2] }) else {
                    throw HFExportError.unsupportedModel(path: source.path, reason: "tensor '\(info.name)' has no Hugging Face name in \(architectureName)")
                }
                if entry.sublayer == "attention" && !keepAttention[l] { continue }
                if entry.sublayer == "mlp" && !keepMLP[l] { continue }
                gguf = "blk.\(n).\(parts[2])"
                order = (n, HFConfig.layerTable.firstIndex { $0.hf == entry.hf } ?? 0)
            }
            guard let (name, transform) = hf.checkpointName(gguf) else {
                throw HFExportError.unsupportedModel(path: source.path, reason: "tensor '\(info.name)' has no Hugging Face name in \(architectureName)")
            }
            items.append((order, info, name, transform))
        }
        items.sort { $0.order < $1.order }
        return try items.map { try tensorSource($0.source, name: $0.name, transform: $0.transform) }
    }

    func tensorSource(_ info: TensorInfo, name: String, transform: HFTransform) throws -> SafetensorsTensorSource {
        let outType = type ?? (HFExport.types.contains(info.type) ? info.type : .f32)
        guard let dtype = SafetensorsDType(rawValue: outType.description) else { throw HFExportError.unsupportedType(outType.description) }
        let shape = Array(info.shape.reversed())
        let rowLength = info.shape[0]
        let rows = info.elementCount / rowLength
        let source = self.source
        return SafetensorsTensorSource(name: name, dtype: dtype, shape: shape) { body in
            let src = source.bytes(for: info)
            if info.type == outType, transform == .none {
                try body(src)   // the stored bytes as they are
                return
            }
            guard let srcRowBytes = info.type.byteCount(elements: rowLength) else { return }
            let outRowBytes = rowLength * dtype.size
            // Rows in pieces of about 4 MB of f32 (a permutation needs the whole tensor).
            var chunkRows = max(1, (1 << 20) / rowLength)
            var rowMap: ((Int) -> Int)?
            if case .permuteRows(let heads) = transform {
                chunkRows = rows
                let d = rows / heads, half = d / 2
                // HF row h·d + j·d/2 + i is GGUF row h·d + 2i + j (HFCheckpoint.permuteRows undone).
                rowMap = { r in let h = r / d, k = r % d, j = k / half, i = k % half; return h * d + 2 * i + j }
            }
            var f = [Float](repeating: 0, count: chunkRows * rowLength)
            var out = [UInt8](repeating: 0, count: chunkRows * outRowBytes)
            var start = 0
            while start < rows {
                let n = min(chunkRows, rows - start)
                f.withUnsafeMutableBufferPointer { fb in
                    for r in 0..<n {
                        let from = rowMap?(start + r) ?? (start + r)
                        Dequant.dequantize(info.type, src.baseAddress! + from * srcRowBytes, fb.baseAddress! + r * rowLength, count: rowLength)
                    }
                    if case .addToF32(let shift) = transform { for i in 0..<(n * rowLength) { fb[i] -= shift } }
                    out.withUnsafeMutableBytes { ob in Quantize.encode(outType, fb.baseAddress!, ob.baseAddress!, count: n * rowLength) }
                }
                try out.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<(n * outRowBytes)])) }
                start += n
            }
        }
    }
}
