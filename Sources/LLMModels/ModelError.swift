// Typed errors for building a model from a file; each message names the problem and the fix.

public enum ModelError: Error, Equatable, CustomStringConvertible {
    case unsupportedArchitecture(String)
    case missingMetadata(key: String)
    case invalidMetadata(key: String, reason: String)
    case missingTensor(String)
    case unexpectedShape(tensor: String, expected: [Int], actual: [Int])
    case unexpectedTensors([String])
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    case contextOverflow(tokens: Int, contextLength: Int)
    case invalidPlan(String)
    case emptyPrompt
    case invalidOption(String)
    case foreignCache

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a):
            return "architecture '\(a)' is not supported (supported: \(Architecture.supportedList)); convert a model of a supported family"
        case .missingMetadata(let k):
            return "the model file lacks metadata key '\(k)'; re-export it with a current GGUF converter"
        case .invalidMetadata(let k, let r):
            return "metadata key '\(k)' is invalid: \(r); re-export the model with a current GGUF converter"
        case .missingTensor(let t):
            return "the model file lacks tensor '\(t)'; the file is incomplete or its metadata names the wrong architecture"
        case .unexpectedShape(let t, let e, let a):
            return "tensor '\(t)' has shape \(a), expected \(e); the file does not match its own metadata"
        case .unexpectedTensors(let names):
            let shown = names.prefix(4).joined(separator: ", ")
            return "the model file has \(names.count) tensor(s) this architecture does not use (\(shown)\(names.count > 4 ? ", …" : "")); the file does not match its architecture's tensor layout"
        case .tokenOutOfRange(let t, let v):
            return "token id \(t) is outside the vocabulary (size \(v)); pass ids produced by this model's tokenizer"
        case .contextOverflow(let n, let c):
            return "\(n) tokens exceed the model's context length of \(c); shorten the prompt or lower --max-tokens"
        case .invalidPlan(let r):
            return "invalid drop plan: \(r)"
        case .emptyPrompt:
            return "the prompt has no tokens; pass a non-empty prompt"
        case .invalidOption(let r):
            return "invalid option: \(r)"
        case .foreignCache:
            return "this KV cache was made by another model (or the same weights with another drop plan); make a cache with this model's makeCache"
        }
    }
}
