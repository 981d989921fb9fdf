// Typed errors for building a tokenizer from model metadata; each message names the problem and the fix.

public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// A required metadata key is absent (or has the wrong value type).
    case missingKey(String)
    case wrongValueType(key: String, expected: String)
    case emptyVocabulary
    /// `tokenizer.ggml.model` names a tokenizer family LLMTokenizer does not implement.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer LLMTokenizer does not implement.
    case unsupportedPreTokenizer(String)
    /// A per-token array (scores, token types) does not have one entry per token.
    case lengthMismatch(key: String, count: Int, vocabularySize: Int)
    case tokenIDOutOfRange(key: String, id: Int, vocabularySize: Int)
    /// A merge rule is not "left right".
    case malformedMerge(index: Int, merge: String)

    public var description: String {
        switch self {
        case .missingKey(let k):
            return "the model has no tokenizer metadata key '\(k)'; re-export the model with llama.cpp's convert_hf_to_gguf.py, which writes it"
        case .wrongValueType(let k, let expected):
            return "tokenizer metadata key '\(k)' is not \(expected); the file is corrupt or was written by a non-standard tool — re-export the model with llama.cpp's convert_hf_to_gguf.py"
        case .emptyVocabulary:
            return "tokenizer.ggml.tokens is empty; the model has no vocabulary — re-export it with its tokenizer"
        case .unsupportedModel(let m):
            return "tokenizer.ggml.model = '\(m)' is not supported (LLMTokenizer implements 'gpt2' byte-level BPE and 'llama' SentencePiece); use a model with one of these tokenizers"
        case .unsupportedPreTokenizer(let p):
            return "tokenizer.ggml.pre = '\(p)' is not supported (supported: \(BPEPreTokenizer.supportedNames.joined(separator: ", "))); add its split rules to BPEPreTokenizer (see llama.cpp's llama-vocab.cpp) or use a model with a supported pre-tokenizer"
        case .lengthMismatch(let k, let n, let v):
            return "'\(k)' has \(n) entries but the vocabulary has \(v) tokens; the file is corrupt — re-export the model"
        case .tokenIDOutOfRange(let k, let id, let v):
            return "'\(k)' = \(id) is outside the vocabulary (0..<\(v)); the file is corrupt — re-export the model or remove the key"
        case .malformedMerge(let i, let m):
            return "tokenizer.ggml.merges[\(i)] = '\(m)' is not of the form 'left right'; the file is corrupt — re-export the model"
        }
    }
}
