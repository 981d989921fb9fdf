// Building a tokenizer from GGUF metadata (spec: ggml docs/gguf.md, "Tokenizer" keys; defaults as in
// llama.cpp's `llama_vocab::impl::load`).
import LLMFormats

/// The tokenizer a model describes in its (GGUF-named) metadata.
public func loadTokenizer(from source: any ModelSource) throws -> any Tokenizer {
    try loadTokenizer(metadata: source.metadata)
}

/// The tokenizer described by GGUF metadata `tokenizer.ggml.*` keys.
public func loadTokenizer(metadata: [String: GGUFValue]) throws -> any Tokenizer {
    let m = Metadata(values: metadata)
    let model = try m.requiredString("tokenizer.ggml.model")
    let tokens = try m.requiredStrings("tokenizer.ggml.tokens")
    guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary }
    let types = try m.optionalInts("tokenizer.ggml.token_type").map { raw -> [TokenType] in
        guard raw.count == tokens.count else {
            throw TokenizerError.lengthMismatch(key: "tokenizer.ggml.token_type", count: raw.count, vocabularySize: tokens.count)
        }
        return raw.map(TokenType.init(raw:))
    }
    let bos = try m.optionalInt("tokenizer.ggml.bos_token_id")
    let eos = try m.optionalInt("tokenizer.ggml.eos_token_id")
    let addBOS = try m.optionalBool("tokenizer.ggml.add_bos_token")
    let addEOS = try m.optionalBool("tokenizer.ggml.add_eos_token") ?? false

    switch model {
    case TokenizerKind.bpe.rawValue:
        let preName = try m.optionalString("tokenizer.ggml.pre") ?? "default"
        guard let pre = BPEPreTokenizer(ggufName: preName) else {
            throw TokenizerError.unsupportedPreTokenizer(preName)
        }
        let merges = try m.requiredStrings("tokenizer.ggml.merges")
        return try BPETokenizer(
            tokens: tokens, types: types, merges: merges, preTokenizer: pre,
            bosID: bos, eosID: eos, addBOS: addBOS, addEOS: addEOS)
    case TokenizerKind.sentencePiece.rawValue:
        guard let scores = try m.optionalDoubles("tokenizer.ggml.scores") else {
            throw TokenizerError.missingKey("tokenizer.ggml.scores")
        }
        let unk = try m.optionalInt("tokenizer.ggml.unknown_token_id")
        // llama.cpp's SentencePiece defaults: <unk> = 0, <s> = 1, </s> = 2, BOS added, space prefix on.
        let n = tokens.count
        return try SentencePieceTokenizer(
            tokens: tokens, scores: scores.map { Float($0) }, types: types,
            bosID: bos ?? (n > 1 ? 1 : nil), eosID: eos ?? (n > 2 ? 2 : nil), unknownID: unk ?? 0,
            addBOS: addBOS ?? true, addEOS: addEOS,
            addSpacePrefix: try m.optionalBool("tokenizer.ggml.add_space_prefix") ?? true)
    default:
        throw TokenizerError.unsupportedModel(model)
    }
}

/// Typed reads of metadata values; a present key of the wrong type is an error, not a default.
private struct Metadata {
    let values: [String: GGUFValue]

    func requiredString(_ k: String) throws -> String {
        guard let v = try optionalString(k) else { throw TokenizerError.missingKey(k) }
        return v
    }

    func optionalString(_ k: String) throws -> String? {
        guard let v = values[k] else { return nil }
        guard let s = v.string else { throw TokenizerError.wrongValueType(key: k, expected: "a string") }
        return s
    }

    func requiredStrings(_ k: String) throws -> [String] {
        guard let v = values[k] else { throw TokenizerError.missingKey(k) }
        guard let a = v.array, let s = v.strings, s.count == a.count else {
            throw TokenizerError.wrongValueType(key: k, expected: "an array of strings")
        }
        return s
    }

    func optionalInts(_ k: String) throws -> [Int]? {
        guard let v = values[k] else { return nil }
        guard let a = v.ints else { throw TokenizerError.wrongValueType(key: k, expected: "an array of integers") }
        return a
    }

    func optionalDoubles(_ k: String) throws -> [Double]? {
        guard let v = values[k] else { return nil }
        guard let a = v.doubles else { throw TokenizerError.wrongValueType(key: k, expected: "an array of numbers") }
        return a
    }

    func optionalInt(_ k: String) throws -> Int? {
        guard let v = values[k] else { return nil }
        guard case .array = v else {
            if let i = v.int { return i }
            throw TokenizerError.wrongValueType(key: k, expected: "an integer")
        }
        throw TokenizerError.wrongValueType(key: k, expected: "an integer")
    }

    func optionalBool(_ k: String) throws -> Bool? {
        guard let v = values[k] else { return nil }
        if let b = v.bool { return b }
        if case .array = v { throw TokenizerError.wrongValueType(key: k, expected: "a bool") }
        if let i = v.int { return i != 0 }
        throw TokenizerError.wrongValueType(key: k, expected: "a bool")
    }
}
