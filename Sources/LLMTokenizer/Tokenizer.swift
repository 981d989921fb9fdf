// The tokenizer protocol every model codes against, and the token types shared by the
// two implementations: byte-level BPE (`tokenizer.ggml.model = "gpt2"`) and SentencePiece-style
// score merging (`"llama"`). Token types follow llama.cpp's `llama_token_type` (GGUF
// `tokenizer.ggml.token_type`).

/// A text ↔ token-id mapping built from a model's vocabulary.
public protocol Tokenizer: Sendable {
    /// `.bpe` ("gpt2") or `.sentencePiece` ("llama").
    var kind: TokenizerKind { get }
    var vocabularySize: Int { get }
    var bosID: Int? { get }
    var eosID: Int? { get }
    /// Whether `encode(_:addSpecialTokens: true)` prepends BOS (`tokenizer.ggml.add_bos_token`, default per llama.cpp rules).
    var addBOS: Bool { get }
    /// Whether `encode(_:addSpecialTokens: true)` appends EOS (`tokenizer.ggml.add_eos_token`, default false).
    var addEOS: Bool { get }
    /// Token ids of `text`. Special/control token strings in the text (e.g. "<|im_start|>") become their
    /// ids; `addSpecialTokens` adds BOS/EOS per `addBOS`/`addEOS`.
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int]
    /// Raw bytes of one token as it contributes to decoded text (byte-level BPE bytes unmapped,
    /// SentencePiece ▁ → space, `<0xNN>` byte tokens → that byte; control tokens → their text only if `special`).
    func bytes(of id: Int, special: Bool) -> [UInt8]
    /// The text of `ids`; invalid UTF-8 is replaced (U+FFFD) only after all bytes are joined.
    func decode(_ ids: [Int], special: Bool) -> String
    /// The vocabulary entry as stored in the model file, or nil for an id outside the vocabulary.
    func tokenString(_ id: Int) -> String?
}

public enum TokenizerKind: String, Sendable {
    case bpe = "gpt2"
    case sentencePiece = "llama"
}

/// GGUF `tokenizer.ggml.token_type` values (llama.cpp `llama_token_type`).
public enum TokenType: Int32, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6

    /// Unknown raw values read as `.undefined`, as llama.cpp does.
    public init(raw: Int) {
        self = TokenType(rawValue: Int32(truncatingIfNeeded: raw)) ?? .undefined
    }

    /// Matched in raw text before any splitting (llama.cpp's special-token cache: control,
    /// user-defined and unknown tokens).
    var isMatchedInText: Bool { self == .control || self == .userDefined || self == .unknown }
}

extension Tokenizer {
    public func decode(_ ids: [Int], special: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids { out.append(contentsOf: bytes(of: id, special: special)) }
        return String(decoding: out, as: UTF8.self)
    }
}
