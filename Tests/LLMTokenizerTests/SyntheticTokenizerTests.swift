// Tokenizers on tiny hand-made vocabularies: merge order, byte fallback, space prefix, pre-tokenizer
// splits, the streaming decoder's UTF-8 handling, and the errors for missing or bad metadata.
import LLMFormats
import LLMTokenizer
import XCTest

final class SyntheticTokenizerTests: XCTestCase {
    // MARK: byte-level BPE

    private func tinyBPE(merges: [String] = ["a b", "ab c", "Ġ ab", "b c"]) throws -> BPETokenizer {
        // Every byte's GPT-2 code point is a token (ids 0..<256), then the merged tokens.
        var tokens = (0 ..< 256).map { String(Unicode.Scalar(ByteLevelAlphabet.scalar(of: UInt8($0)))!) }
        tokens += ["ab", "abc", "Ġab", "bc", "<|end|>"]
        var types = [TokenType](repeating: .normal, count: tokens.count)
        types[tokens.count - 1] = .control
        return try BPETokenizer(tokens: tokens, types: types, merges: merges, preTokenizer: .gpt2, bosID: nil, eosID: tokens.count - 1, addEOS: true)
    }

    func testBPEMergesByRank() throws {
        let t = try tinyBPE()
        let ab = 256, abc = 257, spaceAB = 258, bc = 259, end = 260
        XCTAssertEqual(t.encode("ab", addSpecialTokens: false), [ab])
        // "a b" (rank 0) beats "b c" (rank 3); then "ab c" (rank 1) beats nothing else.
        XCTAssertEqual(t.encode("abc", addSpecialTokens: false), [abc])
        // " abc": a+b first, then "ab c" (rank 1) before "Ġ ab" (rank 2): Ġ + abc.
        XCTAssertEqual(t.encode(" abc", addSpecialTokens: false), [32, abc])  // 32: byte 0x20's token Ġ
        XCTAssertEqual(t.encode(" ab", addSpecialTokens: false), [spaceAB])
        // With "b c" first, "abc" becomes a + bc.
        let t2 = try tinyBPE(merges: ["b c", "a b", "ab c"])
        XCTAssertEqual(t2.encode("abc", addSpecialTokens: false), [97, bc])
        // Special tokens are cut out first; EOS is added with addSpecialTokens.
        XCTAssertEqual(t.encode("ab<|end|>ab", addSpecialTokens: true), [ab, end, ab, end])
        XCTAssertEqual(t.decode([ab, end, spaceAB], special: false), "ab ab")
        XCTAssertEqual(t.decode([ab, end, spaceAB], special: true), "ab<|end|> ab")
        // Every byte string round-trips through the byte alphabet.
        let odd = "\u{0}\t\u{7F} é\u{301}\u{10FFFF}"
        XCTAssertEqual(t.decode(t.encode(odd, addSpecialTokens: false), special: false), odd)
        XCTAssertEqual(t.tokenString(258), "Ġab")
        XCTAssertNil(t.tokenString(10_000))
    }

    func testPreTokenizerSplits() {
        XCTAssertEqual(BPEPreTokenizer.gpt2.split("Hello  world"), ["Hello", " ", " world"])
        XCTAssertEqual(BPEPreTokenizer.gpt2.split("a\t b"), ["a", "\t", " b"])
        XCTAssertEqual(BPEPreTokenizer.gpt2.split("x   "), ["x", "   "])
        XCTAssertEqual(BPEPreTokenizer.gpt2.split("I'm they'll"), ["I", "'m", " they", "'ll"])
        XCTAssertEqual(BPEPreTokenizer.gpt2.split("I'M"), ["I", "'", "M"])
        XCTAssertEqual(BPEPreTokenizer.gpt2.split("123abc ?!  x"), ["123", "abc", " ?!", " ", " x"])
        XCTAssertEqual(BPEPreTokenizer.gpt2.split("naïve 日本 ٣"), ["naïve", " 日本", " ٣"])
        XCTAssertEqual(BPEPreTokenizer.smollm.split("1234 56x"), ["1", "2", "3", "4", " ", "5", "6", "x"])
        XCTAssertEqual(BPEPreTokenizer.llama3.split("12345"), ["123", "45"])
        XCTAssertEqual(BPEPreTokenizer.llama3.split("Hello\n\nworld"), ["Hello", "\n\n", "world"])
        XCTAssertEqual(BPEPreTokenizer.llama3.split("x (word \tgo"), ["x", " (", "word", " ", "\tgo"])
        XCTAssertEqual(BPEPreTokenizer.llama3.split("I'M don't"), ["I", "'M", " don", "'t"])
        XCTAssertEqual(BPEPreTokenizer.llama3.split("a.\n\n  b"), ["a", ".\n\n", " ", " b"])
        XCTAssertEqual(BPEPreTokenizer.qwen2.split("x12345"), ["x", "1", "2", "3", "4", "5"])
        XCTAssertEqual(BPEPreTokenizer.default.split("a+b=1234"), ["a", "+", "b", "=", "123", "4"])
        XCTAssertEqual(BPEPreTokenizer(ggufName: "llama-bpe"), .llama3)
        XCTAssertEqual(BPEPreTokenizer(ggufName: "smollm"), .smollm)
        XCTAssertNil(BPEPreTokenizer(ggufName: "mystery"))
    }

    /// Splits of tricky strings (Unicode spaces, combining marks, \r\n, number categories, ASCII
    /// symbols) as HF tokenizers 0.23.3's `Split(Regex(pattern), "isolated")` gives them for each
    /// pattern in PreTokenizer.swift; compared as UTF-8 so canonically equivalent pieces still differ.
    func testPreTokenizerSplitsMatchHFRegexes() {
        assertSplit(.gpt2, "a\u{A0} b\u{3000}\u{3000}c", ["a", "\u{A0}", " b", "\u{3000}", "\u{3000}", "c"])
        assertSplit(.gpt2, "x\u{301}y 'RE'll", ["x", "\u{301}", "y", " '", "RE", "'ll"])
        assertSplit(.gpt2, " \u{D}\u{A}\u{9} z!!\u{A}\u{A}", [" \u{D}\u{A}\u{9}", " z", "!!", "\u{A}\u{A}"])
        assertSplit(.gpt2, "v2.0\u{2026}\u{BD}\u{216B}\u{FF21}", ["v", "2", ".", "0", "\u{2026}", "\u{BD}\u{216B}", "\u{FF21}"])
        assertSplit(.gpt2, "  $5+<=>^~|`x", [" ", " $", "5", "+<=>^~|`", "x"])
        assertSplit(.llama3, "a\u{A0} b\u{3000}\u{3000}c", ["a", "\u{A0}", " b", "\u{3000}", "\u{3000}c"])
        assertSplit(.llama3, "x\u{301}y 'RE'll", ["x", "\u{301}y", " '", "RE", "'ll"])
        assertSplit(.llama3, " \u{D}\u{A}\u{9} z!!\u{A}\u{A}", [" \u{D}\u{A}", "\u{9}", " z", "!!\u{A}\u{A}"])
        assertSplit(.llama3, "v2.0\u{2026}\u{BD}\u{216B}\u{FF21}", ["v", "2", ".", "0", "\u{2026}", "\u{BD}\u{216B}", "\u{FF21}"])
        assertSplit(.llama3, "  $5+<=>^~|`x", [" ", " $", "5", "+<=>^~|`", "x"])
        assertSplit(.qwen2, "a\u{A0} b\u{3000}\u{3000}c", ["a", "\u{A0}", " b", "\u{3000}", "\u{3000}c"])
        assertSplit(.qwen2, "x\u{301}y 'RE'll", ["x", "\u{301}y", " '", "RE", "'ll"])
        assertSplit(.qwen2, " \u{D}\u{A}\u{9} z!!\u{A}\u{A}", [" \u{D}\u{A}", "\u{9}", " z", "!!\u{A}\u{A}"])
        assertSplit(.qwen2, "v2.0\u{2026}\u{BD}\u{216B}\u{FF21}", ["v", "2", ".", "0", "\u{2026}", "\u{BD}", "\u{216B}", "\u{FF21}"])
        assertSplit(.qwen2, "  $5+<=>^~|`x", [" ", " $", "5", "+<=>^~|`", "x"])
        assertSplit(.default, "a\u{A0} b\u{3000}\u{3000}c", ["a", "\u{A0}", " b", "\u{3000}", "\u{3000}", "c"])
        assertSplit(.default, "x\u{301}y 'RE'll", ["x", "\u{301}", "y", " ", "'", "RE", "'", "ll"])
        assertSplit(.default, " \u{D}\u{A}\u{9} z!!\u{A}\u{A}", [" \u{D}\u{A}\u{9}", " z", "!!", "\u{A}\u{A}"])
        assertSplit(.default, "v2.0\u{2026}\u{BD}\u{216B}\u{FF21}", ["v", "2", ".", "0", "\u{2026}", "\u{BD}\u{216B}", "\u{FF21}"])
        assertSplit(.default, "  $5+<=>^~|`x", ["  ", "$", "5", "+<=>^~|", "`", "x"])
    }

    private func assertSplit(_ p: BPEPreTokenizer, _ text: String, _ expected: [String], line: UInt = #line) {
        let got = p.split(text)
        XCTAssertEqual(got.map { Array($0.utf8) }, expected.map { Array($0.utf8) }, "\(p) split of \(text.debugDescription): \(got)", line: line)
    }

    // MARK: SentencePiece

    private func tinySPM(byteTokens: Bool = true, addSpacePrefix: Bool = true) throws -> SentencePieceTokenizer {
        var tokens = ["<unk>", "<s>", "</s>", "▁", "h", "e", "l", "o", "▁h", "he", "ll", "llo", "▁he", "▁hello", "a", "b", "c", "ab", "bc", "  "]
        var scores: [Float] = [0, 0, 0, -10, -10, -10, -10, -10, -3, -3.5, -1, -2, -4, -5, -10, -10, -10, -6, -6, 0]
        var types: [TokenType] = [.unknown, .control, .control] + Array(repeating: .normal, count: 16) + [.userDefined]
        if byteTokens {
            tokens += ["<0x5A>", "<0xC3>", "<0xA9>"]
            scores += [0, 0, 0]
            types += [.byte, .byte, .byte]
        }
        return try SentencePieceTokenizer(
            tokens: tokens, scores: scores, types: types, bosID: 1, eosID: 2, unknownID: 0,
            addBOS: true, addEOS: false, addSpacePrefix: addSpacePrefix)
    }

    func testSentencePieceMergesByScore() throws {
        let t = try tinySPM()
        // ll (-1) → llo (-2) → ▁h (-3) → ▁he (-4) → ▁hello (-5).
        XCTAssertEqual(t.encode("hello", addSpecialTokens: false), [13])
        XCTAssertEqual(t.encode("hello", addSpecialTokens: true), [1, 13])
        XCTAssertEqual(t.decode([1, 13], special: false), "hello")
        XCTAssertEqual(t.decode([1, 13], special: true), "<s> hello")
        // Equal scores: the leftmost pair merges first.
        XCTAssertEqual(t.encode("abc", addSpecialTokens: false), [3, 17, 16])
        // Byte fallback, else <unk>.
        XCTAssertEqual(t.encode("Z", addSpecialTokens: false), [3, 20])
        XCTAssertEqual(t.encode("é", addSpecialTokens: false), [3, 21, 22])
        XCTAssertEqual(t.decode([3, 21, 22], special: false), "é")
        XCTAssertEqual(try tinySPM(byteTokens: false).encode("é", addSpecialTokens: false), [3, 0])
        // User-defined "  " is cut out of the raw text; the space prefix follows special tokens only.
        XCTAssertEqual(t.encode("he  he", addSpecialTokens: false), [12, 19, 12])
        XCTAssertEqual(t.encode("<s>he", addSpecialTokens: false), [1, 12])
        XCTAssertEqual(try tinySPM(addSpacePrefix: false).encode("he", addSpecialTokens: false), [9])
        XCTAssertEqual(t.encode("", addSpecialTokens: true), [1])
    }

    // MARK: streaming

    func testStreamingDecoderBytes() throws {
        var s = StreamingDecoder(tokenizer: try tinySPM())
        XCTAssertEqual(s.push(bytes: Array("a".utf8) + [0xF0, 0x9F]), "a")
        XCTAssertTrue(s.hasPendingBytes)
        XCTAssertEqual(s.push(bytes: [0x99]), "")
        XCTAssertEqual(s.push(bytes: [0x82, 0x21]), "🙂!")
        XCTAssertFalse(s.hasPendingBytes)
        // A byte that can never start a character is not held back.
        XCTAssertEqual(s.push(bytes: [0xFF]), "\u{FFFD}")
        XCTAssertEqual(s.push(bytes: [0xE2, 0x82]), "")
        XCTAssertEqual(s.finish(), "\u{FFFD}")
        XCTAssertEqual(s.finish(), "")
        // Byte tokens assemble é.
        XCTAssertEqual(s.push(21), "")
        XCTAssertEqual(s.push(22), "é")
    }

    // MARK: errors

    private let smallVocab: GGUFValue = .array(elementType: .string, ["a", "b", "ab"].map { GGUFValue.string($0) })

    private func bpeMetadata() -> [String: GGUFValue] {
        [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("gpt2"),
            "tokenizer.ggml.tokens": smallVocab,
            "tokenizer.ggml.merges": .array(elementType: .string, [.string("a b")]),
        ]
    }

    private func assertError(_ metadata: [String: GGUFValue], _ expected: TokenizerError, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try loadTokenizer(metadata: metadata), file: file, line: line) { e in
            XCTAssertEqual(e as? TokenizerError, expected, file: file, line: line)
            XCTAssertTrue("\(e)".contains(mentions), "\(e)", file: file, line: line)
        }
    }

    func testMetadataErrors() throws {
        let ok = try loadTokenizer(metadata: bpeMetadata())
        XCTAssertEqual(ok.encode("ab", addSpecialTokens: false), [2])

        var m = bpeMetadata()
        m["tokenizer.ggml.tokens"] = nil
        assertError(m, .missingKey("tokenizer.ggml.tokens"), mentions: "tokenizer.ggml.tokens")

        m = bpeMetadata()
        m["tokenizer.ggml.model"] = nil
        assertError(m, .missingKey("tokenizer.ggml.model"), mentions: "convert_hf_to_gguf")

        m = bpeMetadata()
        m["tokenizer.ggml.model"] = .string("bert")
        assertError(m, .unsupportedModel("bert"), mentions: "'bert'")

        m = bpeMetadata()
        m["tokenizer.ggml.pre"] = .string("mystery")
        assertError(m, .unsupportedPreTokenizer("mystery"), mentions: "'mystery'")

        m = bpeMetadata()
        m["tokenizer.ggml.merges"] = nil
        assertError(m, .missingKey("tokenizer.ggml.merges"), mentions: "merges")

        m = bpeMetadata()
        m["tokenizer.ggml.merges"] = .array(elementType: .string, [.string("ab")])
        assertError(m, .malformedMerge(index: 0, merge: "ab"), mentions: "merges[0]")

        m = bpeMetadata()
        m["tokenizer.ggml.token_type"] = .array(elementType: .int32, [.int32(1), .int32(1)])
        assertError(m, .lengthMismatch(key: "tokenizer.ggml.token_type", count: 2, vocabularySize: 3), mentions: "2 entries")

        m = bpeMetadata()
        m["tokenizer.ggml.eos_token_id"] = .uint32(7)
        assertError(m, .tokenIDOutOfRange(key: "tokenizer.ggml.eos_token_id", id: 7, vocabularySize: 3), mentions: "0..<3")

        m = bpeMetadata()
        m["tokenizer.ggml.tokens"] = .string("a")
        assertError(m, .wrongValueType(key: "tokenizer.ggml.tokens", expected: "an array of strings"), mentions: "array of strings")

        m = bpeMetadata()
        m["tokenizer.ggml.model"] = .string("llama")
        assertError(m, .missingKey("tokenizer.ggml.scores"), mentions: "tokenizer.ggml.scores")
        m["tokenizer.ggml.scores"] = .array(elementType: .float32, [.float32(0)])
        assertError(m, .lengthMismatch(key: "tokenizer.ggml.scores", count: 1, vocabularySize: 3), mentions: "scores")
        m["tokenizer.ggml.scores"] = .array(elementType: .float32, [.float32(0), .float32(0), .float32(-1)])
        m["tokenizer.ggml.add_space_prefix"] = .bool(false)
        let spm = try loadTokenizer(metadata: m)
        XCTAssertEqual(spm.kind, .sentencePiece)
        XCTAssertTrue(spm.addBOS)  // llama.cpp's default for SentencePiece vocabularies
        XCTAssertEqual(spm.encode("ab", addSpecialTokens: false), [2])

        XCTAssertThrowsError(try BPETokenizer(tokens: [], merges: [])) { e in
            XCTAssertEqual(e as? TokenizerError, .emptyVocabulary)
        }
    }
}

/// GPT-2's byte alphabet, restated independently of the library for building test vocabularies.
enum ByteLevelAlphabet {
    static func scalar(of byte: UInt8) -> UInt32 {
        let b = Int(byte)
        if (0x21 ... 0x7E).contains(b) || (0xA1 ... 0xAC).contains(b) || (0xAE ... 0xFF).contains(b) { return UInt32(b) }
        var n: UInt32 = 0
        for x in 0 ..< b where !((0x21 ... 0x7E).contains(x) || (0xA1 ... 0xAC).contains(x) || (0xAE ... 0xFF).contains(x)) { n += 1 }
        return 256 + n
    }
}
