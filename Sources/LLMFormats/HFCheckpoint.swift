// A Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json) as a ModelSource: the
// metadata and tensors that llama.cpp's convert_hf_to_gguf.py would write for it (HFConfig: names, keys,
// Q/K permutation, Gemma's 1 + w norms; HFTokenizerJSON: tokenizer keys), so the decoder, the tokenizer,
// the scorer and the writer read it as they read a GGUF file. Weights stay in the memory maps of their
// safetensors files in their stored type (F32, F16, BF16, as the kernels read them); only tensors the
// translation changes (permuted Q/K rows, Gemma's norms, RoPE factors) or whose bytes are misaligned for
// their type are copied into memory this object owns.
import Foundation
import LLMTensor

public enum HFCheckpointError: Error, Equatable, CustomStringConvertible {
    case notACheckpoint(path: String)
    case noWeights(folder: String)
    case invalidJSON(path: String, reason: String)
    case unsupportedArchitecture(path: String, name: String)
    case invalidConfig(path: String, key: String, reason: String)
    case unknownTensor(path: String, tensor: String, architecture: String)
    case unexpectedShape(path: String, tensor: String, expected: String, actual: [Int])
    case missingTokenizer(folder: String)
    case invalidTokenizer(path: String, key: String, reason: String)
    case unsupportedTokenizer(path: String, what: String)

    public var description: String {
        switch self {
        case .notACheckpoint(let p):
            return "'\(p)' is a directory without config.json, so it is not a Hugging Face checkpoint folder; pass a .gguf file, or a folder with config.json, *.safetensors and tokenizer.json"
        case .noWeights(let f):
            return "checkpoint folder '\(f)' has no *.safetensors file (nor model.safetensors.index.json); download the weights in safetensors format (PyTorch .bin files are not read)"
        case .invalidJSON(let p, let r):
            return "'\(p)' is not valid JSON: \(r); download the file again"
        case .unsupportedArchitecture(let p, let n):
            return "'\(p)' names architecture '\(n)', which LLMDrop does not read (supported: \(HFFamily.supportedList)); use a checkpoint of a supported family"
        case .invalidConfig(let p, let k, let r):
            return "'\(p)': '\(k)' is invalid: \(r)"
        case .unknownTensor(let p, let t, let a):
            return "'\(p)': tensor '\(t)' is not part of a \(a) model as LLMDrop knows it (no GGUF name for it); use a checkpoint saved by transformers for \(a), without extra modules"
        case .unexpectedShape(let p, let t, let e, let a):
            return "'\(p)': tensor '\(t)' has shape \(a), expected \(e) from config.json; the weights do not belong to this config"
        case .missingTokenizer(let f):
            return "checkpoint folder '\(f)' has no tokenizer.json; save the tokenizer with the model (tokenizer.save_pretrained) into the same folder"
        case .invalidTokenizer(let p, let k, let r):
            return "'\(p)': '\(k)' is invalid: \(r)"
        case .unsupportedTokenizer(let p, let w):
            return "'\(p)': \(w) is not supported; LLMDrop reads byte-level BPE (GPT-2, SmolLM, Llama 3, Qwen2) and SentencePiece-style BPE with byte fallback (Llama 2, Gemma) tokenizers"
        }
    }
}

public final class HFCheckpoint: ModelSource, @unchecked Sendable {
    /// The checkpoint folder.
    public let path: String
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    public let tensors: [TensorInfo]
    public let storageBytes: Int
    /// The family's `architectures` entry in config.json.
    public let architectureName: String

    private let checkpoint: SafetensorsCheckpoint
    private let tensorIndex: [String: Int]
    /// Per tensor: its bytes (in a map, or in `owned`).
    private let pointers: [UnsafeRawPointer]
    private let owned: [UnsafeMutableRawPointer]

    /// Reads the checkpoint in `folder`; `weights` restricts it to one safetensors file of an unsharded folder.
    public init(folder: String, weights: String? = nil) throws {
        let fm = FileManager.default
        let folder = (folder as NSString).standardizingPath
        path = folder
        let configPath = (folder as NSString).appendingPathComponent("config.json")
        guard fm.fileExists(atPath: configPath) else { throw HFCheckpointError.notACheckpoint(path: folder) }
        let configJSON = try Self.readJSON(configPath)
        let config = try HFConfig(path: configPath, json: configJSON)
        architectureName = config.architectureName

        let tokenizer = try Self.tokenizerMetadata(folder: folder, vocabSize: config.vocabSize)

        var keys: [String] = []
        var values: [String: GGUFValue] = [:]
        for (k, v) in config.metadata + [("general.name", .string((folder as NSString).lastPathComponent))] + tokenizer {
            if values[k] == nil { keys.append(k) }
            values[k] = v
        }
        metadataKeys = keys
        metadata = values

        // Weights.
        let checkpoint = try SafetensorsCheckpoint(folder: folder, only: weights)
        guard !checkpoint.files.isEmpty else { throw HFCheckpointError.noWeights(folder: folder) }
        self.checkpoint = checkpoint
        storageBytes = checkpoint.files.reduce(0) { $0 + $1.fileSize }

        var infos: [TensorInfo] = []
        var pointers: [UnsafeRawPointer] = []
        var owned: [UnsafeMutableRawPointer] = []
        var index: [String: Int] = [:]
        func add(_ name: String, shape: [Int], type: GGMLType, offset: Int, bytes: UnsafeRawPointer, count: Int) {
            index[name] = infos.count
            infos.append(TensorInfo(name: name, shape: shape, type: type, offset: offset, byteCount: count))
            pointers.append(bytes)
        }
        do {
            for (fileIndex, t) in checkpoint.tensors {
                let file = checkpoint.files[fileIndex]
                let name: String, transform: HFTransform
                switch config.mapping(t.name) {
                case .skipped: continue
                case .unknown: throw HFCheckpointError.unknownTensor(path: file.path, tensor: t.name, architecture: config.architectureName)
                case .gguf(let n, let tr): (name, transform) = (n, tr)
                }
                guard let type = t.dtype.ggmlType else {
                    throw SafetensorsError.unsupportedDType(path: file.path, tensor: t.name, dtype: t.dtype.rawValue)
                }
                guard (1...4).contains(t.shape.count), t.shape.allSatisfy({ $0 > 0 }) else {
                    throw HFCheckpointError.unexpectedShape(path: file.path, tensor: t.name, expected: "1 to 4 positive dimensions", actual: t.shape)
                }
                let shape = Array(t.shape.reversed())   // ggml order: the contiguous dimension first
                let src = file.bytes(for: t)
                switch transform {
                case .none:
                    if t.fileOffset % t.dtype.size == 0 {
                        add(name, shape: shape, type: type, offset: t.fileOffset, bytes: src.baseAddress!, count: t.byteCount)
                    } else {
                        // Misaligned for its element type: an aligned copy.
                        let p = UnsafeMutableRawPointer.allocate(byteCount: t.byteCount, alignment: 64)
                        owned.append(p)
                        p.copyMemory(from: src.baseAddress!, byteCount: t.byteCount)
                        add(name, shape: shape, type: type, offset: 0, bytes: p, count: t.byteCount)
                    }
                case .permuteRows(let heads):
                    let rows = t.shape[0]
                    guard rows % (2 * heads) == 0, rows / heads == config.headDim else {
                        throw HFCheckpointError.unexpectedShape(path: file.path, tensor: t.name, expected: "\(heads) heads × \(config.headDim) rows first", actual: t.shape)
                    }
                    let p = UnsafeMutableRawPointer.allocate(byteCount: t.byteCount, alignment: 64)
                    owned.append(p)
                    Self.permuteRows(src, into: p, rows: rows, rowBytes: t.byteCount / rows, heads: heads)
                    add(name, shape: shape, type: type, offset: 0, bytes: p, count: t.byteCount)
                case .addToF32(let shift):
                    let n = t.elementCount
                    let p = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
                    owned.append(p)
                    let f = p.bindMemory(to: Float.self, capacity: n)
                    Self.decode(src, dtype: t.dtype, into: f, count: n)
                    for i in 0..<n { f[i] += shift }
                    add(name, shape: shape, type: .f32, offset: 0, bytes: p, count: n * 4)
                }
            }
            if let factors = config.ropeFactors {
                let p = UnsafeMutableRawPointer.allocate(byteCount: factors.count * 4, alignment: 64)
                owned.append(p)
                factors.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                add("rope_freqs.weight", shape: [factors.count], type: .f32, offset: 0, bytes: p, count: factors.count * 4)
            }
        } catch {
            owned.forEach { $0.deallocate() }
            throw error
        }
        tensors = infos
        tensorIndex = index
        self.pointers = pointers
        self.owned = owned
    }

    deinit { owned.forEach { $0.deallocate() } }

    public func tensor(named name: String) -> TensorInfo? { tensorIndex[name].map { tensors[$0] } }

    public func data(for info: TensorInfo) -> UnsafeRawPointer {
        guard let i = tensorIndex[info.name] else { preconditionFailure("tensor '\(info.name)' is not a tensor of \(path)") }
        return pointers[i]
    }

    /// The `tokenizer.*` metadata of the tokenizer files in `folder` (tokenizer.json; tokenizer_config.json,
    /// chat_template.jinja, config.json and generation_config.json when present). `vocabSize`: the model's
    /// vocabulary, when known (ids the tokenizer leaves free become unused `[PADn]` tokens).
    public static func tokenizerMetadata(folder: String, vocabSize: Int? = nil) throws -> [(String, GGUFValue)] {
        let fm = FileManager.default
        func file(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        func optionalJSON(_ name: String) throws -> [String: Any]? { fm.fileExists(atPath: file(name)) ? try readJSON(file(name)) : nil }
        guard fm.fileExists(atPath: file("tokenizer.json")) else { throw HFCheckpointError.missingTokenizer(folder: folder) }
        let tokenizerConfig = try optionalJSON("tokenizer_config.json")
        var configs: [[String: Any]] = []
        if let c = try optionalJSON("config.json") {
            configs.append(c)
            if let text = c["text_config"] as? [String: Any] { configs.append(text) }
        }
        if let g = try optionalJSON("generation_config.json") { configs.append(g) }
        var chatTemplate = tokenizerConfig?["chat_template"] as? String
        if chatTemplate == nil, let list = tokenizerConfig?["chat_template"] as? [Any] {
            // Several named templates: the default one (the one llama.cpp writes as tokenizer.chat_template).
            chatTemplate = list.compactMap { $0 as? [String: Any] }.first { $0["name"] as? String == "default" }?["template"] as? String
        }
        if chatTemplate == nil, let t = try? String(contentsOfFile: file("chat_template.jinja"), encoding: .utf8) { chatTemplate = t }
        let tokenizerData = (try? Data(contentsOf: URL(fileURLWithPath: file("tokenizer.json")))) ?? Data()
        return try HFTokenizerJSON(
            path: file("tokenizer.json"), json: readJSON(file("tokenizer.json")), exactVocab: HFTokenizerJSON.exactVocab(tokenizerData),
            tokenizerConfig: tokenizerConfig,
            configPath: file("config.json"), configs: configs, vocabSize: vocabSize, chatTemplate: chatTemplate).metadata
    }

    /// llama.cpp's converter permutation of Q/K rows (LlamaModel.permute): within each head, the rows of
    /// the two rotate-half halves are interleaved, so that adjacent-pair RoPE computes what HF's rotate-half
    /// RoPE computes: row h·d + 2i + j of the result is row h·d + j·d/2 + i of the checkpoint.
    static func permuteRows(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawPointer, rows: Int, rowBytes: Int, heads: Int) {
        let d = rows / heads, half = d / 2
        for h in 0..<heads {
            for i in 0..<half {
                for j in 0..<2 {
                    let to = h * d + 2 * i + j, from = h * d + j * half + i
                    (dst + to * rowBytes).copyMemory(from: src.baseAddress! + from * rowBytes, byteCount: rowBytes)
                }
            }
        }
    }

    static func decode(_ src: UnsafeRawBufferPointer, dtype: SafetensorsDType, into dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            switch dtype {
            case .f32: dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            case .f16: dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
            case .bf16: dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
            default: dst[i] = .nan   // callers check ggmlType first
            }
        }
    }

    /// Foundation's JSON parser (Linux) drops a U+FEFF at the start of a string — Gemma's vocabulary has
    /// "\u{FEFF}#" beside "#" — but keeps the escaped form: every raw U+FEFF inside the text is escaped
    /// (one at the very start of the file, a byte-order mark, is dropped).
    static func escapingBOMs(_ data: Data) -> Data {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        guard data.count >= 3, data.firstRange(of: Data(bom)) != nil else { return data }
        var out = Data(capacity: data.count + 64)
        var i = data.startIndex
        if data.starts(with: bom) { i += 3 }
        while i < data.endIndex {
            if data[i] == 0xEF, i + 2 < data.endIndex, data[i + 1] == 0xBB, data[i + 2] == 0xBF {
                out.append(contentsOf: Array(#"\ufeff"#.utf8))
                i += 3
            } else {
                out.append(data[i])
                i += 1
            }
        }
        return out
    }

    static func readJSON(_ path: String) throws -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw HFCheckpointError.invalidJSON(path: path, reason: "it cannot be read (\(error.localizedDescription))")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: escapingBOMs(data)) } catch {
            throw HFCheckpointError.invalidJSON(path: path, reason: JSONErrors.parseDetail(error))
        }
        guard let o = json as? [String: Any] else { throw HFCheckpointError.invalidJSON(path: path, reason: "the top level is not an object") }
        return o
    }
}

/// The one place that decides how a model path is read.
public enum ModelSources {
    /// A GGUF file, a Hugging Face checkpoint folder (config.json + safetensors + tokenizer.json), or a
    /// `.safetensors` file whose folder holds the rest of such a checkpoint.
    public static func open(path: String) throws -> any ModelSource {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if exists && isDir.boolValue { return try HFCheckpoint(folder: path) }
        if path.hasSuffix(".safetensors") {
            let folder = (path as NSString).deletingLastPathComponent
            guard exists else { throw SafetensorsError.fileNotFound(path: path) }
            let index = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(SafetensorsCheckpoint.indexName)
            // A shard of a sharded checkpoint stands for the whole checkpoint.
            let only = FileManager.default.fileExists(atPath: index) ? nil : (path as NSString).lastPathComponent
            return try HFCheckpoint(folder: folder.isEmpty ? "." : folder, weights: only)
        }
        return try GGUFFile(path: path)
    }
}
