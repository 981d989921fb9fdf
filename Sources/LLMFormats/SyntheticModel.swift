// Synthetic models: a GGUF of exactly a named checkpoint's shape (SyntheticShapes) with seeded random
// weights, for measuring speed and memory at sizes that cannot be downloaded — neither depends on the
// weights' values. Metadata and tensor names are what llama.cpp's convert_hf_to_gguf.py writes for the
// family, plus `general.synthetic = true`, `general.synthetic.like` and `general.synthetic.seed`.
//
// Weights: every matrix and bias element ≈ N(0, 0.02) (an Irwin–Hall sum of four 16-bit uniforms from one
// SplitMix64 draw, rescaled to that standard deviation: bounded by ±3.46σ), the scale of the usual
// initialisation; RMSNorm weights are 1. Activations stay finite at every depth and cosine similarities
// between residual states behave as in trained models (each layer adds a bounded update to a growing
// residual). Row r of a tensor comes from its own generator, seeded by (seed, tensor name, r), so the file
// is the same whatever the thread count.
//
// Streaming: each tensor is generated and encoded a block of rows at a time while the file is written
// (GGUFWriter, AtomicOutput): memory stays at a few MiB per thread whatever the model's size. The disk is
// checked first: an output that would not fit is refused before anything is written.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LLMTensor

public enum SyntheticModelError: Error, Equatable, CustomStringConvertible {
    case unknownShape(String, known: [String])
    case unsupportedType(String, supported: [String])
    case tokenizerMissing(path: String)
    case tokenizerTooLarge(path: String, tokens: Int, vocabularySize: Int, shape: String)
    case notEnoughSpace(path: String, needed: Int, available: Int)

    public var description: String {
        switch self {
        case .unknownShape(let name, let known):
            return "no model shape is called '\(name)'; choose one of \(known.joined(separator: ", "))"
        case .unsupportedType(let t, let supported):
            return "a synthetic model cannot be written in \(t); choose one of \(supported.joined(separator: ", "))"
        case .tokenizerMissing(let p):
            return "'\(p)' has no tokenizer (no tokenizer.ggml.tokens); pass a model with a tokenizer, or leave out --tokenizer-from for a byte-level one"
        case .tokenizerTooLarge(let p, let n, let v, let shape):
            return "the tokenizer of '\(p)' has \(n) tokens, more than \(shape)'s vocabulary of \(v); pass a model whose vocabulary is at most \(v) tokens, or leave out --tokenizer-from"
        case .notEnoughSpace(let p, let needed, let available):
            return "'\(p)' needs \(Self.gib(needed)) but its folder has \(Self.gib(available)) free; free space or write to another disk"
        }
    }

    static func gib(_ n: Int) -> String { String(format: "%.2f GiB", Double(n) / Double(1 << 30)) + " (\(n) bytes)" }
}

/// What `SyntheticModel.write` wrote.
public struct SyntheticSummary: Sendable {
    public let path: String
    public let bytes: Int
    public let tensors: Int
    public let parameters: Int
}

/// Free space on disks.
public enum DiskSpace {
    /// Bytes an unprivileged writer may still use in the folder that holds (or will hold) `path`.
    public static func available(forFileAt path: String) throws -> Int {
        let folder = (path as NSString).deletingLastPathComponent
        var s = statvfs()
        guard statvfs(folder.isEmpty ? "." : folder, &s) == 0 else {
            throw GGUFError.writeFailed(path: path, reason: "cannot read the free space of its folder: \(String(cString: strerror(errno)))")
        }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }
}

public struct SyntheticModel {
    public let shape: SyntheticShape
    /// Type of the 2-D tensors (1-D ones are F32, as the converter writes them).
    public let type: GGMLType
    public let seed: UInt64
    /// `tokenizer.*` metadata copied from another model (padded to the vocabulary), or nil for a byte-level one.
    private let copiedTokenizer: [(String, GGUFValue)]?
    private let tokenizerOrigin: String

    /// Standard deviation of the weights.
    public static let weightStd: Float = 0.02
    /// Types a synthetic model is written in.
    /// What `convert` writes, and Q4_K (the type of most llama.cpp releases, for measuring its kernels).
    public static let types: [GGMLType] = GGUFConvert.types + [.q4_K]

    /// `tokenizerFrom`: a model whose tokenizer is copied; its vocabulary must not exceed the shape's.
    public init(shape: SyntheticShape, type: GGMLType, seed: UInt64, tokenizerFrom: (any ModelSource)? = nil) throws {
        guard Self.types.contains(type) else {
            throw SyntheticModelError.unsupportedType(type.description, supported: Self.types.map(\.description))
        }
        self.shape = shape
        self.type = type
        self.seed = seed
        if let source = tokenizerFrom {
            copiedTokenizer = try Self.paddedTokenizer(from: source, vocabularySize: shape.vocabularySize, shapeName: shape.name)
            tokenizerOrigin = source.path
        } else {
            copiedTokenizer = nil
            tokenizerOrigin = "byte-level"
        }
    }

    // MARK: - Writing

    /// Writes the model to `path` atomically, after checking that `availableBytes(path)` can hold it.
    /// `progress(bytes written, total bytes)` is called after each tensor.
    @discardableResult
    public func write(to path: String, threads: Int = 1,
                      availableBytes: (String) throws -> Int = DiskSpace.available(forFileAt:),
                      progress: ((Int, Int) -> Void)? = nil) throws -> SyntheticSummary {
        let pool = try ThreadPool(threads: max(1, threads))
        var w = try writer(pool: pool)
        let size = try w.fileSize()
        let free = try availableBytes(path)
        guard size <= free else { throw SyntheticModelError.notEnoughSpace(path: path, needed: size, available: free) }
        if let progress {
            // Report after each tensor: wrap every source (same name, type, shape and bytes).
            var done = 0
            let total = w.tensors.reduce(0) { $0 + $1.byteCount }
            let wrapped = try w.tensors.map { t in
                try GGUFTensorSource(name: t.name, type: t.type, shape: t.shape) { body in
                    try t.withBytes(body)
                    done += t.byteCount
                    progress(done, total)
                }
            }
            w.replaceTensors(wrapped)
        }
        try w.write(to: path)
        return SyntheticSummary(path: path, bytes: size, tensors: w.tensors.count, parameters: shape.parameterCount)
    }

    /// The writer holding the model's metadata and lazily generated tensors.
    public func writer(pool: ThreadPool) throws -> GGUFWriter {
        var w = GGUFWriter()
        for (k, v) in metadata() { w.set(k, v) }
        for t in tensorPlan() { try w.addTensor(source(t, pool: pool)) }
        return w
    }

    /// The GGUF metadata: general.*, the architecture's hyper-parameters, the tokenizer.
    public func metadata() -> [(String, GGUFValue)] {
        let s = shape, a = s.architecture
        var m: [(String, GGUFValue)] = [
            ("general.architecture", .string(a)),
            ("general.name", .string("synthetic \(s.name)")),
            ("general.synthetic", .bool(true)),
            ("general.synthetic.like", .string(s.name)),
            ("general.synthetic.seed", .uint64(seed)),
            ("general.synthetic.source", .string(s.source)),
            ("general.synthetic.weights", .string("N(0, \(Self.weightStd)) matrices and biases, RMSNorm weights 1")),
            ("general.synthetic.tokenizer", .string(tokenizerOrigin)),
            ("general.file_type", .uint32(GGUFConvert.fileType(type))),
        ]
        if [.q8_0, .q4_0, .q4_K].contains(type) { m.append(("general.quantization_version", .uint32(2))) }
        m += [
            ("\(a).vocab_size", .uint32(UInt32(s.vocabularySize))),
            ("\(a).context_length", .uint32(UInt32(s.contextLength))),
            ("\(a).embedding_length", .uint32(UInt32(s.hiddenSize))),
            ("\(a).block_count", .uint32(UInt32(s.layers))),
            ("\(a).feed_forward_length", .uint32(UInt32(s.ffnLength))),
            ("\(a).rope.dimension_count", .uint32(UInt32(s.headDim))),
            ("\(a).attention.head_count", .uint32(UInt32(s.heads))),
            ("\(a).attention.head_count_kv", .uint32(UInt32(s.kvHeads))),
            ("\(a).rope.freq_base", .float32(Float(s.ropeBase))),
            ("\(a).attention.layer_norm_rms_epsilon", .float32(Float(s.normEpsilon))),
        ]
        if s.headDim * s.heads != s.hiddenSize {
            m += [("\(a).attention.key_length", .uint32(UInt32(s.headDim))), ("\(a).attention.value_length", .uint32(UInt32(s.headDim)))]
        }
        if s.slidingWindow > 0 { m.append(("\(a).attention.sliding_window", .uint32(UInt32(s.slidingWindow)))) }
        return m + (copiedTokenizer ?? byteLevelTokenizer())
    }

    /// 256 byte tokens (GPT-2's byte-to-character map, no merges: one token per byte), `<s>` and `</s>`,
    /// then unused `[PAD n]` tokens up to the vocabulary size, as the converter pads vocabularies. The
    /// pre-tokenizer carries llama.cpp's name, "gpt-2": llama.cpp refuses a file that says "gpt2".
    func byteLevelTokenizer() -> [(String, GGUFValue)] {
        let tokens = ByteLevelMap.tokens + ["<s>", "</s>"]
        var types: [Int32] = Array(repeating: 1, count: 256) + [3, 3]
        var all = tokens
        for i in tokens.count..<shape.vocabularySize { all.append("[PAD\(i)]"); types.append(5) }
        return [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .array(elementType: .string, all.map { .string($0) })),
            ("tokenizer.ggml.token_type", .array(elementType: .int32, types.map { .int32($0) })),
            ("tokenizer.ggml.merges", .array(elementType: .string, [])),
            ("tokenizer.ggml.bos_token_id", .uint32(256)),
            ("tokenizer.ggml.eos_token_id", .uint32(257)),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
        ]
    }

    /// `source`'s `tokenizer.*` keys, with the token list (and its types and scores) padded by unused
    /// `[PAD n]` tokens to `vocabularySize` entries, as convert_hf_to_gguf.py pads a short vocabulary.
    static func paddedTokenizer(from source: any ModelSource, vocabularySize: Int, shapeName: String) throws -> [(String, GGUFValue)] {
        guard let tokens = source["tokenizer.ggml.tokens"]?.strings, !tokens.isEmpty else {
            throw SyntheticModelError.tokenizerMissing(path: source.path)
        }
        guard tokens.count <= vocabularySize else {
            throw SyntheticModelError.tokenizerTooLarge(path: source.path, tokens: tokens.count, vocabularySize: vocabularySize, shape: shapeName)
        }
        let existing = Set(tokens)
        var padding: [String] = []
        for i in tokens.count..<vocabularySize {
            var name = "[PAD\(i)]"
            while existing.contains(name) { name += "_" }
            padding.append(name)
        }
        var out: [(String, GGUFValue)] = []
        for key in source.metadataKeys where key.hasPrefix("tokenizer.") {
            guard var value = source[key] else { continue }
            switch key {
            case "tokenizer.ggml.tokens":
                value = .array(elementType: .string, tokens.map { .string($0) } + padding.map { .string($0) })
            case "tokenizer.ggml.token_type":
                if case .array(let t, let items) = value, items.count == tokens.count {
                    value = .array(elementType: t, items + padding.map { _ in Self.integer(5, as: t) })
                }
            case "tokenizer.ggml.scores":
                if case .array(let t, let items) = value, items.count == tokens.count {
                    value = .array(elementType: t, items + padding.map { _ in t == .float64 ? .float64(-1000) : .float32(-1000) })
                }
            default: break
            }
            out.append((key, value))
        }
        if source["tokenizer.ggml.token_type"] == nil {
            out.append(("tokenizer.ggml.token_type", .array(elementType: .int32, tokens.map { _ in .int32(1) } + padding.map { _ in .int32(5) })))
        }
        return out
    }

    private static func integer(_ v: Int, as type: GGUFValueType) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(UInt8(v))
        case .int8: return .int8(Int8(v))
        case .uint16: return .uint16(UInt16(v))
        case .int16: return .int16(Int16(v))
        case .uint32: return .uint32(UInt32(v))
        case .uint64: return .uint64(UInt64(v))
        case .int64: return .int64(Int64(v))
        default: return .int32(Int32(v))
        }
    }

    // MARK: - Tensors

    /// How a tensor's values are made.
    enum Fill: Equatable {
        case normal(std: Float)
        case constant(Float)
        case values([Float])
    }

    public struct PlannedTensor: Equatable {
        public let name: String
        /// ggml order: shape[0] is the row length.
        public let shape: [Int]
        let fill: Fill
    }

    /// Every tensor in file order (embeddings, then each layer's, then the final norm and the head).
    public func tensorPlan() -> [PlannedTensor] {
        let s = shape, D = s.hiddenSize, Q = s.heads * s.headDim, K = s.kvHeads * s.headDim, F = s.ffnLength
        let w = Fill.normal(std: Self.weightStd), one = Fill.constant(1)
        var t: [PlannedTensor] = [PlannedTensor(name: "token_embd.weight", shape: [D, s.vocabularySize], fill: w)]
        if let r = s.ropeScaling {
            let factors = HFConfig.llama3Factors(theta: s.ropeBase, headDim: s.headDim, factor: r.factor, low: r.lowFrequencyFactor,
                                                 high: r.highFrequencyFactor, original: r.originalContextLength)
            t.append(PlannedTensor(name: "rope_freqs.weight", shape: [s.headDim / 2], fill: .values(factors)))
        }
        for l in 0..<s.layers {
            let b = "blk.\(l)."
            t.append(PlannedTensor(name: b + "attn_norm.weight", shape: [D], fill: one))
            t.append(PlannedTensor(name: b + "attn_q.weight", shape: [D, Q], fill: w))
            if s.qkvBias { t.append(PlannedTensor(name: b + "attn_q.bias", shape: [Q], fill: w)) }
            t.append(PlannedTensor(name: b + "attn_k.weight", shape: [D, K], fill: w))
            if s.qkvBias { t.append(PlannedTensor(name: b + "attn_k.bias", shape: [K], fill: w)) }
            t.append(PlannedTensor(name: b + "attn_v.weight", shape: [D, K], fill: w))
            if s.qkvBias { t.append(PlannedTensor(name: b + "attn_v.bias", shape: [K], fill: w)) }
            t.append(PlannedTensor(name: b + "attn_output.weight", shape: [Q, D], fill: w))
            t.append(PlannedTensor(name: b + "ffn_norm.weight", shape: [D], fill: one))
            t.append(PlannedTensor(name: b + "ffn_gate.weight", shape: [D, F], fill: w))
            t.append(PlannedTensor(name: b + "ffn_up.weight", shape: [D, F], fill: w))
            t.append(PlannedTensor(name: b + "ffn_down.weight", shape: [F, D], fill: w))
        }
        t.append(PlannedTensor(name: "output_norm.weight", shape: [D], fill: one))
        if !s.tiedEmbeddings { t.append(PlannedTensor(name: "output.weight", shape: [D, s.vocabularySize], fill: w)) }
        return t
    }

    /// The stored type of a tensor: 1-D F32; others `type`, or F16 where a row is not whole blocks.
    public func storedType(_ shape: [Int]) -> GGMLType {
        if shape.count == 1 { return .f32 }
        return shape[0] % type.blockSize == 0 ? type : .f16
    }

    /// A source that generates and encodes the tensor a block of rows at a time, rows in parallel.
    func source(_ t: PlannedTensor, pool: ThreadPool) throws -> GGUFTensorSource {
        let stored = storedType(t.shape)
        let rowLength = t.shape[0], rows = t.shape.dropFirst().reduce(1, *)
        guard let rowBytes = stored.byteCount(elements: rowLength) else {
            throw GGUFError.unwritableTensorShape(tensor: t.name, shape: t.shape, type: stored)
        }
        let tensorSeed = Self.mix(seed ^ Self.fnv1a(t.name))
        return try GGUFTensorSource(name: t.name, type: stored, shape: t.shape) { body in
            let chunkRows = max(1, min(rows, (1 << 22) / rowLength))      // ≈ 16 MiB of f32 per block
            let out = UnsafeMutableRawPointer.allocate(byteCount: chunkRows * rowBytes, alignment: 64)
            defer { out.deallocate() }
            for first in stride(from: 0, to: rows, by: chunkRows) {
                let n = min(chunkRows, rows - first)
                pool.forEachChunk(n) { range in
                    let row = UnsafeMutablePointer<Float>.allocate(capacity: rowLength)
                    defer { row.deallocate() }
                    for i in range {
                        Self.fill(row, count: rowLength, t.fill, row: first + i, tensorSeed: tensorSeed)
                        Quantize.encode(stored, row, out + i * rowBytes, count: rowLength)
                    }
                }
                try body(UnsafeRawBufferPointer(start: out, count: n * rowBytes))
            }
        }
    }

    /// Row `r` of a tensor.
    static func fill(_ p: UnsafeMutablePointer<Float>, count n: Int, _ fill: Fill, row r: Int, tensorSeed: UInt64) {
        switch fill {
        case .constant(let c): p.update(repeating: c, count: n)
        case .values(let v): v.withUnsafeBufferPointer { p.update(from: $0.baseAddress! + r * n, count: n) }
        case .normal(let std): normalRow(p, count: n, std: std, seed: mix(tensorSeed &+ mix(UInt64(r))))
        }
    }

    /// n values of mean 0 and standard deviation `std`: each the sum of the four 16-bit fields of one
    /// SplitMix64 draw (Irwin–Hall, n = 4: mean 4 · 32767.5, variance 65536² / 3), centred and scaled.
    static func normalRow(_ p: UnsafeMutablePointer<Float>, count n: Int, std: Float, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        let scale = std * Float(3).squareRoot() / 65536
        for i in 0..<n {
            let b = g.next()
            let sum = Int(b & 0xFFFF) + Int((b >> 16) & 0xFFFF) + Int((b >> 32) & 0xFFFF) + Int(b >> 48)
            p[i] = Float(sum - 131_070) * scale
        }
    }

    /// SplitMix64's output function: a bijective mix of 64 bits.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a of a name's UTF-8 bytes.
    static func fnv1a(_ s: String) -> UInt64 {
        s.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}

/// GPT-2's byte-to-character map: printable bytes stand for themselves, the others for U+0100 onwards.
enum ByteLevelMap {
    static let tokens: [String] = {
        func printable(_ b: Int) -> Bool { (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) }
        var next = 256
        return (0..<256).map { b in
            if printable(b) { return String(UnicodeScalar(UInt32(b))!) }
            defer { next += 1 }
            return String(UnicodeScalar(UInt32(next))!)
        }
    }()
}
