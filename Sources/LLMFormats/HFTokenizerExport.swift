// A GGUF's `tokenizer.ggml.*` metadata written as Hugging Face `tokenizer.json` + `tokenizer_config.json`
// (the inverse of HFTokenizerJSON.swift), so that transformers' AutoTokenizer — and LLMDrop reading the
// folder back — give the ids LLMDrop gives from the GGUF:
//   * `gpt2` (byte-level BPE): tokens and merges as stored (merges as "left right" strings, which every
//     tokenizers version reads, unless a piece holds a space); the pre-tokenizer of `tokenizer.ggml.pre` as the
//     model's own tokenizer.json has it — gpt2: ByteLevel; smollm: Digits(individual) + ByteLevel; llama3 /
//     qwen2: Split(their regex, Isolated) + ByteLevel without regex (llama3 with ignore_merges, qwen2 after
//     an NFC normaliser), as llama.cpp's pre-tokenizers of those names split;
//   * `llama` (SentencePiece): BPE with byte_fallback over the same pieces, as transformers converts a
//     SentencePiece model (Gemma's and Llama 2's own tokenizer.json): merges made from the piece scores
//     like transformers' SentencePieceExtractor (every split of a piece into two pieces, ordered by the
//     piece's score, highest first, then by the halves' ids), spaces → ▁ by a Replace normaliser (and a
//     Prepend(▁) when `add_space_prefix`), decoder Replace/ByteFallback/Fuse(/Strip).
// Control tokens become special added tokens, user-defined ones non-special added tokens; BOS/EOS/PAD/UNK,
// add_bos/add_eos and the chat template go to tokenizer_config.json (tokenizer_class
// PreTrainedTokenizerFast: tokenizer.json is used as written).
import Foundation

struct HFTokenizerExport {
    let tokenizerJSON: Data
    let tokenizerConfig: Data

    /// llama.cpp's token types.
    static let control: Int = 3, userDefined = 4, byte = 6

    init(source: any ModelSource, contextLength: Int) throws {
        let path = source.path
        func fail(_ r: String) -> HFExportError { .unsupportedTokenizer(path: path, reason: r) }
        guard let model = source["tokenizer.ggml.model"]?.string else { throw fail("it has no tokenizer.ggml.model") }
        guard let tokens = source["tokenizer.ggml.tokens"]?.strings, !tokens.isEmpty else { throw fail("it has no tokenizer.ggml.tokens") }
        let types = source["tokenizer.ggml.token_type"]?.ints ?? Array(repeating: 1, count: tokens.count)
        guard types.count == tokens.count else { throw fail("token_type has \(types.count) entries for \(tokens.count) tokens") }
        func id(_ k: String) -> Int? { source["tokenizer.ggml.\(k)"]?.int.flatMap { (0..<tokens.count).contains($0) ? $0 : nil } }
        let bos = id("bos_token_id"), eos = id("eos_token_id"), pad = id("padding_token_id"), unk = id("unknown_token_id")
        let addBOS = source["tokenizer.ggml.add_bos_token"]?.bool ?? (model == "llama")
        let addEOS = source["tokenizer.ggml.add_eos_token"]?.bool ?? false

        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where vocab[t] == nil { vocab[t] = i }
        let added: [[String: Any]] = tokens.indices.compactMap { i in
            guard types[i] == Self.control || types[i] == Self.userDefined else { return nil }
            return ["id": i, "content": tokens[i], "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": types[i] == Self.control]
        }

        var json: [String: Any] = ["version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added]
        // The vocabulary is spliced in as text: Swift strings (and so dictionaries and JSONSerialization) merge
        // canonically equivalent tokens such as "য়" (U+09DF) and "য়" (U+09AF U+09BC), which are two tokens.
        let vocabMark = "@@llm-drop-vocab@@"
        var bpe: [String: Any] = ["type": "BPE", "dropout": NSNull(), "continuing_subword_prefix": NSNull(),
                                  "end_of_word_suffix": NSNull(), "vocab": vocabMark]
        switch model {
        case "gpt2":
            let pre = source["tokenizer.ggml.pre"]?.string ?? "gpt2"
            let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
            func split(_ regex: String) -> [String: Any] {
                ["type": "Sequence", "pretokenizers": [
                    ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
                ]]
            }
            json["normalizer"] = NSNull()
            switch pre {
            case "gpt2", "gpt-2", "default": json["pre_tokenizer"] = byteLevel
            case "smollm": json["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
            case "llama3", "llama-bpe": json["pre_tokenizer"] = split(HFTokenizerJSON.llama3Regex)
            case "qwen2":
                json["pre_tokenizer"] = split(HFTokenizerJSON.qwen2Regex)
                json["normalizer"] = ["type": "NFC"]
            default:
                throw fail("byte-level BPE pre-tokenizer '\(pre)' is not written (gpt2, smollm, llama3 and qwen2 are)")
            }
            json["decoder"] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true]
            guard let merges = source["tokenizer.ggml.merges"]?.strings else { throw fail("a byte-level BPE needs tokenizer.ggml.merges") }
            bpe["merges"] = try merges.map { m -> [String] in
                guard let (a, b) = HFTokenizerJSON.splitMerge(m) else { throw fail("merge '\(m)' is not 'left right'") }
                return [a, b]
            }
            bpe.merge(["unk_token": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": pre == "llama3" || pre == "llama-bpe"]) { $1 }
        case "llama":
            guard let scores = source["tokenizer.ggml.scores"]?.doubles, scores.count == tokens.count else {
                throw fail("a SentencePiece tokenizer needs one tokenizer.ggml.scores entry per token")
            }
            let prefix = source["tokenizer.ggml.add_space_prefix"]?.bool ?? true
            let replace: [String: Any] = ["type": "Replace", "pattern": ["String": " "], "content": "▁"]
            json["normalizer"] = prefix ? ["type": "Sequence", "normalizers": [["type": "Prepend", "prepend": "▁"], replace]] : replace
            json["pre_tokenizer"] = NSNull()
            var decoders: [[String: Any]] = [
                ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
            ]
            if prefix { decoders.append(["type": "Strip", "content": " ", "start": 1, "stop": 0]) }
            json["decoder"] = ["type": "Sequence", "decoders": decoders]
            bpe["merges"] = Self.sentencePieceMerges(tokens: tokens, scores: scores, types: types, vocab: vocab)
            bpe.merge(["unk_token": unk.map { tokens[$0] as Any } ?? NSNull(), "fuse_unk": true, "byte_fallback": true, "ignore_merges": false]) { $1 }
        default:
            throw fail("tokenizer model '\(model)' is not written (gpt2 and llama are)")
        }
        // Merges as "left right" strings, the form every version of HF tokenizers reads: the ["left", "right"] pairs
        // that tokenizers >= 0.20 writes fail to load in older ones ("data did not match any variant of untagged
        // enum ModelWrapper" in 0.15.2, which transformers 4.38 installs, the version LLM-Drop's code is written
        // for). Pairs only when a piece holds a space, which the string form cannot carry.
        if let pairs = bpe["merges"] as? [[String]], !pairs.contains(where: { $0.contains { $0.unicodeScalars.contains(" ") } }) {
            bpe["merges"] = pairs.map { "\($0[0]) \($0[1])" }
        }
        json["model"] = bpe
        // BOS/EOS around a sequence, as the flags say (TemplateProcessing), else nothing added.
        if (addBOS && bos != nil) || (addEOS && eos != nil) {
            var single: [[String: Any]] = [], specials: [String: Any] = [:]
            func special(_ i: Int) -> [String: Any] {
                specials[tokens[i]] = ["id": tokens[i], "ids": [i], "tokens": [tokens[i]]]
                return ["SpecialToken": ["id": tokens[i], "type_id": 0]]
            }
            if addBOS, let bos { single.append(special(bos)) }
            single.append(["Sequence": ["id": "A", "type_id": 0]])
            if addEOS, let eos { single.append(special(eos)) }
            var pair = single
            if addBOS, let bos { pair.append(special(bos)) }
            pair.append(["Sequence": ["id": "B", "type_id": 1]])
            if addEOS, let eos { pair.append(special(eos)) }
            json["post_processor"] = ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials]
        } else if model == "gpt2" {
            json["post_processor"] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true]
        } else {
            json["post_processor"] = NSNull()
        }
        var seen = Set<[Unicode.Scalar]>()
        var vocabText = "{"
        for (i, t) in tokens.enumerated() where seen.insert(Array(t.unicodeScalars)).inserted {
            vocabText += (vocabText.utf8.count > 1 ? ",\n" : "\n") + SafetensorsWriter.quote(t) + ": \(i)"
        }
        vocabText += "\n}"
        let text = try HFExport.jsonData(json)
        guard let mark = text.firstRange(of: Data("\"\(vocabMark)\"".utf8)) else { throw fail("internal: the vocabulary mark is missing") }
        var spliced = text
        spliced.replaceSubrange(mark, with: Data(vocabText.utf8))
        tokenizerJSON = HFCheckpoint.escapingBOMs(spliced)

        var config: [String: Any] = ["tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": addBOS, "add_eos_token": addEOS,
                                     "clean_up_tokenization_spaces": false, "model_max_length": contextLength]
        for (k, v) in [("bos_token", bos), ("eos_token", eos), ("pad_token", pad), ("unk_token", unk)] {
            if let v { config[k] = tokens[v] }
        }
        if let t = source["tokenizer.chat_template"]?.string { config["chat_template"] = t }
        tokenizerConfig = try HFExport.jsonData(config)
    }

    /// transformers' SentencePieceExtractor: for each normal piece (by score, highest first; equal scores
    /// in id order), its splits into two pieces of the vocabulary (at code points, pieces compared by their
    /// exact code points — not Swift's canonical equivalence), ordered by the halves' ids.
    static func sentencePieceMerges(tokens: [String], scores: [Double], types: [Int], vocab _: [String: Int]) -> [[String]] {
        var exact: [[UInt8]: Int] = [:]
        for (i, t) in tokens.enumerated() where exact[Array(t.utf8)] == nil { exact[Array(t.utf8)] = i }
        let order = tokens.indices.filter { types[$0] == 1 }.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        var merges: [[String]] = []
        for i in order {
            let scalars = Array(tokens[i].unicodeScalars)
            guard scalars.count > 1 else { continue }
            var local: [(Int, Int)] = []
            for cut in 1..<scalars.count {
                var l = String.UnicodeScalarView(), r = String.UnicodeScalarView()
                l.append(contentsOf: scalars[..<cut])
                r.append(contentsOf: scalars[cut...])
                if let a = exact[Array(String(l).utf8)], let b = exact[Array(String(r).utf8)] { local.append((a, b)) }
            }
            local.sort { $0 < $1 }
            merges.append(contentsOf: local.map { [tokens[$0.0], tokens[$0.1]] })
        }
        return merges
    }
}
