// A Hugging Face `tokenizer.json` (the tokenizers library's format) and `tokenizer_config.json` read into
// the `tokenizer.ggml.*` keys LLMTokenizer builds its tokenizers from (the keys llama.cpp's converter
// writes, gguf-py vocab.py / SpecialVocab):
//   * byte-level BPE (a ByteLevel pre-tokenizer: GPT-2, SmolLM, Llama 3, Qwen2) → model "gpt2": tokens as
//     stored (GPT-2 byte alphabet), merges, and the pre-tokenizer named by its split rules — ByteLevel alone
//     "gpt-2", Digits(individual) + ByteLevel "smollm", Split(Llama 3 / Qwen2 regex) + ByteLevel "llama3" / "qwen2";
//   * SentencePiece-derived BPE (byte_fallback; Replace(' ', '▁') / Prepend('▁') normalisers or Metaspace;
//     Gemma, Llama 2) → model "llama": tokens with ▁ for spaces, `<0xNN>` byte tokens, and scores that order
//     the pieces as the merges do (a piece's score is minus the rank of the first merge that makes it), so
//     llama.cpp's score-ordered merging picks the pair HF's rank-ordered merging picks; a leading ▁ added
//     (Prepend / Metaspace prepend_scheme) becomes `add_space_prefix`.
// Added tokens become control tokens (special) or user-defined ones (not special), matched in raw text.
// BOS/EOS: tokenizer_config.json's tokens, else config.json / generation_config.json ids; add_bos/add_eos:
// tokenizer_config.json's flags, else whether the post-processor's template starts with BOS / ends with EOS.
import Foundation

/// GGUF token types (llama.cpp `llama_token_type`).
private enum TokenTypeCode: Int32 {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

struct HFTokenizerJSON {
    /// A "left right" merge split at its space scalar, as HF tokenizers splits it — not at a Swift Character: a space
    /// followed by a combining mark is one Character (Gemma's merge "▁ह ै", U+0948 after the space).
    static func splitMerge(_ s: String) -> (String, String)? {
        let u = s.unicodeScalars
        guard let i = u.firstIndex(of: " ") else { return nil }
        let a = String(u[..<i]), b = String(u[u.index(after: i)...])
        return a.isEmpty || b.isEmpty ? nil : (a, b)
    }

    /// `tokenizer.*` metadata in writing order.
    let metadata: [(String, GGUFValue)]

    /// Regexes of the supported Split pre-tokenizers (tokenizers' `Split(Regex(...), Isolated)`).
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// - Parameters:
    ///   - vocabSize: the model's vocabulary (embedding rows); ids the tokenizer leaves free become unused `[PADn]` tokens.
    ///   - config: config.json and generation_config.json objects, for BOS/EOS ids the tokenizer files do not give.
    ///   - exactVocab: the vocabulary as written, token by token (`exactVocab(_:)`); `json`'s parsed object merges
    ///     canonically equivalent keys, e.g. Gemma's ";" (U+003B) and ";" (U+037E), which are two tokens.
    init(path: String, json: [String: Any], exactVocab: [(String, Any)]? = nil, tokenizerConfig: [String: Any]?, configPath: String,
         configs: [[String: Any]], vocabSize: Int?, chatTemplate: String?) throws {
        func bad(_ key: String, _ reason: String) -> HFCheckpointError { .invalidTokenizer(path: path, key: key, reason: reason) }
        guard let model = json["model"] as? [String: Any] else { throw bad("model", "it is missing") }
        let modelType = model["type"] as? String ?? (model["merges"] != nil ? "BPE" : "?")
        guard modelType == "BPE" else { throw HFCheckpointError.unsupportedTokenizer(path: path, what: "model type '\(modelType)'") }
        guard let vocab = model["vocab"] as? [String: Any] else { throw bad("model.vocab", "it is not an object of token → id") }

        // Tokens by id: the vocabulary, then the added tokens (which may extend it).
        var byID: [Int: String] = [:]
        byID.reserveCapacity(vocab.count)
        for (token, v) in exactVocab.flatMap({ $0.count >= vocab.count ? $0 : nil }) ?? vocab.map({ ($0.key, $0.value) }) {
            guard let id = SafetensorsFile.integer(v), id >= 0, id < 1 << 22 else { throw bad("model.vocab", "token '\(token)' has id \(v), not an integer in 0..<\(1 << 22)") }
            if let other = byID[id], other != token { throw bad("model.vocab", "tokens '\(other)' and '\(token)' share id \(id)") }
            byID[id] = token
        }
        var addedSpecial: [Int: Bool] = [:]
        for (i, a) in ((json["added_tokens"] as? [Any]) ?? []).enumerated() {
            guard let a = a as? [String: Any], let content = a["content"] as? String, let idv = a["id"],
                  let id = SafetensorsFile.integer(idv), id >= 0, id < 1 << 22 else {
                throw bad("added_tokens[\(i)]", "expected {\"id\": integer, \"content\": string, ...}")
            }
            if let other = byID[id], other != content { throw bad("added_tokens[\(i)]", "id \(id) is '\(other)' in the vocabulary, not '\(content)'") }
            byID[id] = content
            addedSpecial[id] = (a["special"] as? Bool) ?? false
        }
        let used = (byID.keys.max() ?? -1) + 1
        guard used > 0 else { throw bad("model.vocab", "it is empty") }
        let count = max(vocabSize ?? used, used)
        if let vocabSize, used > vocabSize {
            throw bad("model.vocab", "it has ids up to \(used - 1) but the model's vocab_size is \(vocabSize) (\(configPath)); use the tokenizer that belongs to this checkpoint")
        }
        let idOf = Dictionary(byID.map { ($1, $0) }, uniquingKeysWith: min)

        // Merges: "a b" strings (tokenizers < 0.20) or [a, b] pairs.
        var merges: [(String, String)] = []
        if let raw = model["merges"] as? [Any] {
            merges.reserveCapacity(raw.count)
            for (i, m) in raw.enumerated() {
                if let s = m as? String {
                    guard let pair = Self.splitMerge(s) else { throw bad("model.merges[\(i)]", "'\(s)' is not 'left right'") }
                    merges.append(pair)
                } else if let p = m as? [Any], p.count == 2, let a = p[0] as? String, let b = p[1] as? String {
                    merges.append((a, b))
                } else {
                    throw bad("model.merges[\(i)]", "expected \"left right\" or [\"left\", \"right\"]")
                }
            }
        }

        // Which tokenizer llama.cpp would run: byte-level BPE, or SentencePiece-style BPE.
        let pre = json["pre_tokenizer"] as? [String: Any]
        let preSteps = Self.flatten(pre, key: "pretokenizers")
        let normalizer = json["normalizer"] as? [String: Any]
        let normSteps = Self.flatten(normalizer, key: "normalizers")
        let byteLevel = preSteps.contains { $0["type"] as? String == "ByteLevel" }

        var m: [(String, GGUFValue)] = []
        var tokens = [String](repeating: "", count: count)
        var types = [Int32](repeating: TokenTypeCode.normal.rawValue, count: count)
        for id in 0..<count {
            guard let t = byID[id] else {
                tokens[id] = "[PAD\(id)]"
                types[id] = TokenTypeCode.unused.rawValue
                continue
            }
            tokens[id] = t
            if let special = addedSpecial[id] { types[id] = (special ? TokenTypeCode.control : .userDefined).rawValue }
        }

        if byteLevel {
            let name = try Self.byteLevelPreTokenizer(preSteps, path: path)
            for n in normSteps where n["type"] as? String != "NFC" {
                throw HFCheckpointError.unsupportedTokenizer(path: path, what: "normalizer '\(n["type"] as? String ?? "?")' before a byte-level BPE (none or NFC is supported)")
            }
            m.append(("tokenizer.ggml.model", .string("gpt2")))
            m.append(("tokenizer.ggml.pre", .string(name)))
            m.append(("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map(GGUFValue.string))))
            m.append(("tokenizer.ggml.token_type", .array(elementType: .int32, types.map(GGUFValue.int32))))
            m.append(("tokenizer.ggml.merges", .array(elementType: .string, merges.map { .string("\($0.0) \($0.1)") })))
        } else {
            let spacePrefix = try Self.sentencePieceSpacePrefix(normSteps, preSteps, model: model, path: path)
            let unk = (model["unk_token"] as? String).flatMap { idOf[$0] }
            var scores = [Float](repeating: 0, count: count)
            var ranked = [Bool](repeating: false, count: count)
            for (rank, (a, b)) in merges.enumerated() {
                guard let id = idOf[a + b], !ranked[id] else { continue }
                ranked[id] = true
                scores[id] = -Float(rank + 1)
            }
            for id in 0..<count {
                let t = tokens[id]
                if types[id] != TokenTypeCode.normal.rawValue {
                    scores[id] = -1000
                } else if t.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"), UInt8(t.dropFirst(3).prefix(2), radix: 16) != nil {
                    types[id] = TokenTypeCode.byte.rawValue
                } else if !ranked[id] && t.count > 1 {
                    scores[id] = -Float(merges.count + 1)   // no merge makes it: after every merge
                }
                if id == unk { types[id] = TokenTypeCode.unknown.rawValue }
            }
            m.append(("tokenizer.ggml.model", .string("llama")))
            m.append(("tokenizer.ggml.pre", .string("default")))
            m.append(("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map(GGUFValue.string))))
            m.append(("tokenizer.ggml.scores", .array(elementType: .float32, scores.map(GGUFValue.float32))))
            m.append(("tokenizer.ggml.token_type", .array(elementType: .int32, types.map(GGUFValue.int32))))
            m.append(("tokenizer.ggml.add_space_prefix", .bool(spacePrefix)))
            if let unk { m.append(("tokenizer.ggml.unknown_token_id", .uint32(UInt32(unk)))) }
        }

        // Special tokens and whether they are added.
        let tc = tokenizerConfig ?? [:]
        func tokenText(_ k: String) -> String? {
            if let s = tc[k] as? String { return s }
            return (tc[k] as? [String: Any])?["content"] as? String
        }
        func configID(_ k: String) -> Int? {
            for c in configs {
                if let v = c[k], let i = SafetensorsFile.integer(v) { return i }
                if let a = c[k] as? [Any], let first = a.first, let i = SafetensorsFile.integer(first) { return i }
            }
            return nil
        }
        func specialID(_ k: String) throws -> Int? {
            if let text = tokenText(k + "_token") {
                guard let id = idOf[text] else { throw bad("tokenizer_config.json: \(k)_token", "'\(text)' is not a token of the vocabulary") }
                return id
            }
            guard let id = configID(k + "_token_id") else { return nil }
            guard (0..<count).contains(id) else { throw bad("\(k)_token_id", "\(id) is outside the vocabulary (0..<\(count)) in \(configPath)") }
            return id
        }
        let bos = try specialID("bos"), eos = try specialID("eos"), pad = try specialID("pad")
        if let bos { m.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))) }
        if let eos { m.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos)))) }
        if let pad { m.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(pad)))) }
        let template = Self.template(json["post_processor"] as? [String: Any])
        let addBOS = (tc["add_bos_token"] as? Bool) ?? (bos != nil && template.first == bos)
        let addEOS = (tc["add_eos_token"] as? Bool) ?? (eos != nil && template.count > 0 && template.last == eos && template.first != eos)
        m.append(("tokenizer.ggml.add_bos_token", .bool(addBOS)))
        m.append(("tokenizer.ggml.add_eos_token", .bool(addEOS)))
        if let chatTemplate { m.append(("tokenizer.chat_template", .string(chatTemplate))) }
        metadata = m
    }

    /// The entries of the `"vocab": {...}` object of a tokenizer.json's text, keys exactly as written (Swift
    /// strings compare canonically equivalent text as equal, so a parsed JSON dictionary keeps only one of
    /// two such tokens). nil when the object is not found or not plain `"token": id` pairs.
    static func exactVocab(_ data: Data) -> [(String, Any)]? {
        let bytes = [UInt8](data)
        let key = Array(#""vocab""#.utf8)
        var i = 0
        func ws() { while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 } }
        func string() -> String? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            var raw: [UInt8] = []
            var out = String.UnicodeScalarView()
            func flush() -> Bool {
                guard !raw.isEmpty else { return true }
                guard let s = String(validating: raw, as: UTF8.self) else { return false }
                out.append(contentsOf: s.unicodeScalars)
                raw.removeAll()
                return true
            }
            func hex4() -> UInt32? {
                guard i + 4 < bytes.count, let v = UInt32(String(decoding: bytes[(i + 1)...(i + 4)], as: UTF8.self), radix: 16) else { return nil }
                i += 4
                return v
            }
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "\"") { i += 1; return flush() ? String(out) : nil }
                if c == UInt8(ascii: "\\") {
                    guard flush(), i + 1 < bytes.count else { return nil }
                    i += 1
                    switch bytes[i] {
                    case UInt8(ascii: "n"): out.append("\n")
                    case UInt8(ascii: "t"): out.append("\t")
                    case UInt8(ascii: "r"): out.append("\r")
                    case UInt8(ascii: "b"): out.append("\u{8}")
                    case UInt8(ascii: "f"): out.append("\u{C}")
                    case UInt8(ascii: "u"):
                        guard var v = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(v), i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u") {
                            i += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(v) else { return nil }
                        out.append(scalar)
                    default: out.append(Unicode.Scalar(bytes[i]))   // \" \\ \/
                    }
                    i += 1
                } else {
                    raw.append(c)
                    i += 1
                }
            }
            return nil
        }
        search: while i + key.count < bytes.count {
            guard let start = bytes[i...].firstRange(of: key) else { return nil }
            i = start.upperBound
            ws()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { continue search }
            i += 1
            ws()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { continue search }
            i += 1
            var entries: [(String, Any)] = []
            while true {
                ws()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: "}") { return entries }
                guard let token = string() else { return nil }
                ws()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                ws()
                let digits = i
                while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
                guard i > digits, let id = Int(String(decoding: bytes[digits..<i], as: UTF8.self)) else { return nil }
                entries.append((token, NSNumber(value: id)))
                ws()
                if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1 }
            }
        }
        return nil
    }

    /// The steps of a (possibly `Sequence`) normaliser or pre-tokenizer.
    static func flatten(_ o: [String: Any]?, key: String) -> [[String: Any]] {
        guard let o else { return [] }
        if o["type"] as? String == "Sequence", let list = o[key] as? [Any] {
            return list.compactMap { $0 as? [String: Any] }.flatMap { flatten($0, key: key) }
        }
        return [o]
    }

    /// The GGUF pre-tokenizer name of a byte-level BPE's pre-tokenizer steps.
    static func byteLevelPreTokenizer(_ steps: [[String: Any]], path: String) throws -> String {
        let types = steps.map { $0["type"] as? String ?? "?" }
        func describe() -> String { "pre-tokenizer [\(types.joined(separator: ", "))]" }
        guard let last = steps.last, last["type"] as? String == "ByteLevel", (last["add_prefix_space"] as? Bool) != true else {
            throw HFCheckpointError.unsupportedTokenizer(path: path, what: describe() + " (a ByteLevel step last, without add_prefix_space, is supported)")
        }
        let usesRegex = (last["use_regex"] as? Bool) ?? true
        switch (types.dropLast().joined(separator: ","), usesRegex) {
        case ("", true): return "gpt-2"   // llama.cpp's name for GPT-2's pre-tokenizer ("gpt2" it does not know)
        case ("Digits", true) where steps[0]["individual_digits"] as? Bool == true: return "smollm"
        case ("Split", false):
            let pattern = (steps[0]["pattern"] as? [String: Any])?["Regex"] as? String
            if pattern == llama3Regex { return "llama3" }
            if pattern == qwen2Regex { return "qwen2" }
            throw HFCheckpointError.unsupportedTokenizer(path: path, what: "Split pre-tokenizer regex \(pattern.map { "'\($0)'" } ?? "(none)") (the Llama 3 and Qwen2 regexes are supported)")
        default:
            throw HFCheckpointError.unsupportedTokenizer(path: path, what: describe() + " (ByteLevel, Digits + ByteLevel, or a Llama 3 / Qwen2 Split + ByteLevel are supported)")
        }
    }

    /// For a SentencePiece-style BPE: checks that spaces become ▁ and nothing else happens before the
    /// merges, and returns whether a ▁ is put before the text (llama.cpp's `add_space_prefix`).
    static func sentencePieceSpacePrefix(_ norm: [[String: Any]], _ pre: [[String: Any]], model: [String: Any], path: String) throws -> Bool {
        var spaces = false, prefix = false
        for n in norm {
            switch n["type"] as? String {
            case "Replace" where (n["pattern"] as? [String: Any])?["String"] as? String == " " && n["content"] as? String == "▁":
                spaces = true
            case "Prepend" where n["prepend"] as? String == "▁":
                prefix = true
            default:
                throw HFCheckpointError.unsupportedTokenizer(path: path, what: "normalizer '\(n["type"] as? String ?? "?")' (Replace(' ', '▁') and Prepend('▁') are supported)")
            }
        }
        for p in pre {
            switch p["type"] as? String {
            case "Metaspace" where (p["split"] as? Bool) != true:
                spaces = true
                let scheme = p["prepend_scheme"] as? String ?? ((p["add_prefix_space"] as? Bool) == true ? "always" : "never")
                if scheme != "never" { prefix = true }
            case "Split" where (p["pattern"] as? [String: Any])?["String"] as? String == " " && spaces:
                break   // after Replace(' ', '▁') there is no space left to split at (Gemma 3)
            default:
                throw HFCheckpointError.unsupportedTokenizer(path: path, what: "pre-tokenizer '\(p["type"] as? String ?? "?")' for a SentencePiece-style BPE (none, Metaspace without split, or Gemma's Split(' ') are supported)")
            }
        }
        guard spaces || (model["byte_fallback"] as? Bool) == true else {
            throw HFCheckpointError.unsupportedTokenizer(path: path, what: "BPE without a ByteLevel pre-tokenizer and without byte fallback or ▁ for spaces")
        }
        return prefix
    }

    /// The token ids a `TemplateProcessing` post-processor puts around a single sequence (the ids of its
    /// special tokens in order; the sequence itself as -1).
    static func template(_ pp: [String: Any]?) -> [Int] {
        guard let pp else { return [] }
        if pp["type"] as? String == "Sequence", let list = pp["processors"] as? [Any] {
            return list.compactMap { $0 as? [String: Any] }.map { template($0) }.first { !$0.isEmpty } ?? []
        }
        guard pp["type"] as? String == "TemplateProcessing", let single = pp["single"] as? [Any] else { return [] }
        let specials = pp["special_tokens"] as? [String: Any] ?? [:]
        return single.compactMap { $0 as? [String: Any] }.flatMap { item -> [Int] in
            if item["Sequence"] != nil { return [-1] }
            guard let st = item["SpecialToken"] as? [String: Any], let name = st["id"] as? String,
                  let ids = (specials[name] as? [String: Any])?["ids"] as? [Any] else { return [] }
            return ids.compactMap { SafetensorsFile.integer($0) }
        }
    }
}
