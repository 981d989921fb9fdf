// Tokenizers of the two real models (SmolLM2: byte-level BPE; Gemma 3: SentencePiece), plus SmolLM2's
// vocabulary under every pre-tokenizer and Gemma 3's with a space prefix: the input as (lossy) UTF-8
// text → encode, with and without special tokens; the input as token ids (3 bytes each, modulo the
// vocabulary, plus out-of-range ids) → decode and streaming decode. Properties:
//   - every pre-tokenizer splits the text into non-empty pieces that join to it;
//   - every id encode gives is in the vocabulary; special tokens add exactly BOS/EOS around the rest;
//   - decode(encode(text), special: true) == text for byte-level BPE, less the bytes the vocabulary
//     has no token for (SmolLM2 lacks 21 of GPT-2's 256 byte symbols; such bytes are dropped, as in
//     llama.cpp), and for SentencePiece without a space prefix, except for text holding "▁" (U+2581,
//     decoded as a space by design) or "<0x" (a byte token's own spelling can merge into that byte
//     token, as in llama.cpp) or characters encoded as <unk>;
//   - streaming decode (token by token) yields the same text as decoding all the token bytes at once.
import FuzzSupport
import LLMFormats
import LLMTokenizer

/// The vocabulary arrays of a real model, to build variants of its tokenizer.
func metadata(_ file: String) -> (tokens: [String], types: [TokenType], merges: [String], scores: [Float]) {
    guard let f = try? GGUFFile(path: RealTokenizers.modelFolder + "/" + file),
          let tokens = f["tokenizer.ggml.tokens"]?.strings, let types = f["tokenizer.ggml.token_type"]?.ints
    else { fuzzFail("cannot read the vocabulary of \(file)") }
    return (tokens, types.map(TokenType.init(raw:)), f["tokenizer.ggml.merges"]?.strings ?? [],
            (f["tokenizer.ggml.scores"]?.doubles ?? []).map { Float($0) })
}

let smollm2Vocabulary = metadata("SmolLM2-135M-Instruct.Q4_1.gguf")
let gemma3Vocabulary = metadata("gemma-3-270m-q4_k_m.gguf")

/// SmolLM2's vocabulary and merges under every pre-tokenizer (the first input byte picks one).
let bpeVariants: [BPETokenizer] = BPEPreTokenizer.allCases.map { pre in
    do {
        return try BPETokenizer(tokens: smollm2Vocabulary.tokens, types: smollm2Vocabulary.types,
                                merges: smollm2Vocabulary.merges, preTokenizer: pre, bosID: 1, eosID: 2)
    } catch { fuzzFail("SmolLM2 with pre-tokenizer \(pre): \(error)") }
}

/// Gemma 3's vocabulary with a space prefix, as Llama 2-style SentencePiece models use.
let spacePrefixed: SentencePieceTokenizer = {
    do {
        return try SentencePieceTokenizer(tokens: gemma3Vocabulary.tokens, scores: gemma3Vocabulary.scores,
                                          types: gemma3Vocabulary.types, bosID: 2, eosID: 1, unknownID: 3,
                                          addBOS: true, addEOS: true, addSpacePrefix: true)
    } catch { fuzzFail("Gemma 3 with a space prefix: \(error)") }
}()

/// Ids of tokens matched in raw text (control, user-defined, unknown) in Gemma 3's vocabulary.
let gemma3Specials = Set(gemma3Vocabulary.types.indices.filter {
    [.control, .userDefined, .unknown].contains(gemma3Vocabulary.types[$0])
})

let tokenizers: [(name: String, tokenizer: any Tokenizer)] = [
    ("smollm2", RealTokenizers.smollm2), ("gemma3", RealTokenizers.gemma3),
    ("gemma3+space-prefix", spacePrefixed),
]

/// GPT-2's byte → symbol alphabet (`bytes_to_unicode`).
let byteSymbols: [String] = {
    var next: UInt32 = 256
    return (0 ..< 256).map { b -> String in
        let printable = (0x21 ... 0x7E).contains(b) || (0xA1 ... 0xAC).contains(b) || (0xAE ... 0xFF).contains(b)
        defer { if !printable { next += 1 } }
        return String(Unicode.Scalar(printable ? UInt32(b) : next)!)
    }
}()

/// Per tokenizer: the bytes whose byte-level symbol is not a token (encode drops them). The BPE
/// variants share SmolLM2's vocabulary, and so its entry (the first).
let missingBytes: [Set<UInt8>] = tokenizers.map { _, t in
    guard t is BPETokenizer else { return [] }
    let vocabulary = Set((0 ..< t.vocabularySize).compactMap { t.tokenString($0) })
    return Set((0 ..< 256).filter { !vocabulary.contains(byteSymbols[$0]) }.map { UInt8($0) })
}

/// Whether `text` holds `part` as bytes (String.contains compares grapheme clusters: "▁" followed
/// by a combining mark is not found).
func contains(_ text: String, _ part: String) -> Bool {
    let t = Array(text.utf8), p = Array(part.utf8)
    guard t.count >= p.count else { return false }
    return (0 ... t.count - p.count).contains { t[$0 ..< $0 + p.count].elementsEqual(p) }
}

/// The text decode(encode(text)) must give back, or nil where the round trip is lossy by design.
func roundTrip(_ t: any Tokenizer, missing: Set<UInt8>, _ text: String, _ ids: [Int]) -> String? {
    switch t {
    case is BPETokenizer:
        return missing.isEmpty ? text : String(decoding: text.utf8.filter { !missing.contains($0) }, as: UTF8.self)
    case let spm as SentencePieceTokenizer:
        if contains(text, "\u{2581}") || contains(text, "<0x") { return nil }
        if let unk = spm.unknownID, ids.contains(unk) { return nil }
        // With a space prefix, text after a special token gets a space that decode keeps (by design).
        if spm.addSpacePrefix && ids.contains(where: gemma3Specials.contains) { return nil }
        return text
    default:
        return nil
    }
}

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)

    // Every pre-tokenizer cuts the text into non-empty pieces that join to it, at character bounds.
    for pre in BPEPreTokenizer.allCases {
        let pieces = pre.split(text)
        fuzzCheck(pieces.allSatisfy { !$0.isEmpty }, "\(pre): an empty piece")
        fuzzCheck(pieces.joined().utf8.elementsEqual(text.utf8), "\(pre): pieces \(pieces) do not join to the text")
    }
    // SmolLM2's vocabulary under the pre-tokenizer the first byte picks: in range, and lossless.
    if size > 0 {
        let bpe = bpeVariants[Int(bytes[0]) % bpeVariants.count]
        let ids = bpe.encode(text, addSpecialTokens: false)
        fuzzCheck(ids.allSatisfy { $0 >= 0 && $0 < bpe.vocabularySize }, "\(bpe.preTokenizer): id out of range")
        let expected = roundTrip(bpe, missing: missingBytes[0], text, ids)!
        let decoded = bpe.decode(ids, special: true)
        fuzzCheck(decoded.utf8.elementsEqual(expected.utf8), "\(bpe.preTokenizer): decode(encode(text)) != text: \(Array(text.utf8)) → \(ids)")
    }

    for (k, (name, t)) in tokenizers.enumerated() {
        let n = t.vocabularySize
        let plain = t.encode(text, addSpecialTokens: false)
        fuzzCheck(plain.allSatisfy { $0 >= 0 && $0 < n }, "\(name): encode gave an id outside 0..<\(n)")
        let full = t.encode(text, addSpecialTokens: true)
        var expected = plain
        if t.addBOS, let bos = t.bosID { expected.insert(bos, at: 0) }
        if t.addEOS, let eos = t.eosID { expected.append(eos) }
        fuzzCheck(full == expected, "\(name): encode with special tokens is not BOS + encode + EOS")

        let decoded = t.decode(plain, special: true)
        if let expected = roundTrip(t, missing: missingBytes[k], text, plain) {
            fuzzCheck(decoded.utf8.elementsEqual(expected.utf8), "\(name): decode(encode(text)) != text: \(Array(text.utf8)) → \(plain) → \(Array(decoded.utf8))")
        }
        blackHole(t.decode(full, special: false))

        // The same bytes as token ids: 3 bytes each, modulo the vocabulary; and ids outside it.
        var ids: [Int] = []
        var i = 0
        while i + 3 <= size {
            ids.append((Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16) % n)
            i += 3
        }
        if size % 3 == 1 { ids.append(-1 - Int(bytes[size - 1])) }
        if size % 3 == 2 { ids.append(n + Int(bytes[size - 1])) }
        for special in [false, true] {
            let whole = t.decode(ids, special: special)
            var stream = StreamingDecoder(tokenizer: t, special: special)
            var streamed = ""
            var joined: [UInt8] = []
            for id in ids {
                streamed += stream.push(id)
                joined += t.bytes(of: id, special: special)
            }
            streamed += stream.finish()
            let once = String(decoding: joined, as: UTF8.self)
            fuzzCheck(streamed == once, "\(name): streaming decode differs from decoding all bytes at once for ids \(ids)")
            blackHole(whole)
        }
        for id in ids.prefix(8) { blackHole(t.tokenString(id)) }
    }
    return 0
}

fuzzMain(fuzzOne)
