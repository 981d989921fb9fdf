// Token ids of the real SmolLM2 (byte-level BPE, pre "smollm") and Gemma 3 (SentencePiece) tokenizers
// against Tests/Fixtures/reference/smollm2/tokenize.json (HF tokenizers; identical to llama.cpp's
// llama-tokenize for every non-empty case), round trips, special tokens and C4 token counts.
import Foundation
import LLMFormats
import LLMTokenizer
import TestSupport
import XCTest

/// Each model's tokenizer is loaded once per test run (Gemma's vocabulary has 262,144 entries).
private let smolTokenizer = Result<any Tokenizer, any Error> { try loadTokenizer(from: GGUFFile(path: TestPaths.smollm2())) }
private let gemmaTokenizer = Result<any Tokenizer, any Error> { try loadTokenizer(from: GGUFFile(path: TestPaths.gemma3())) }

private struct ReferenceCase {
    let text: String
    let ids: [Int]
    let idsWithSpecial: [Int]
}

private func referenceCases(_ model: String) throws -> (cases: [ReferenceCase], bos: Int?, eos: Int?) {
    let json = try TestPaths.json(TestPaths.fixture("reference/smollm2/tokenize.json"))
    let root = try XCTUnwrap(json as? [String: Any])
    let m = try XCTUnwrap(root[model] as? [String: Any])
    let cases = try XCTUnwrap(m["cases"] as? [[String: Any]]).map { c in
        ReferenceCase(
            text: try XCTUnwrap(c["text"] as? String),
            ids: try XCTUnwrap(c["ids"] as? [Int]),
            idsWithSpecial: try XCTUnwrap(c["ids_with_special"] as? [Int]))
    }
    return (cases, m["bos_token_id"] as? Int, m["eos_token_id"] as? Int)
}

/// The first documents of Tests/Fixtures/data/c4_demo.json.
private func c4Texts(_ n: Int) throws -> [String] {
    let json = try TestPaths.json(TestPaths.fixture("data/c4_demo.json"))
    let docs = try XCTUnwrap(json as? [[String: Any]])
    return try docs.prefix(n).map { try XCTUnwrap($0["text"] as? String) }
}

final class ReferenceTokenizationTests: XCTestCase {
    private func check(_ tok: any Tokenizer, model: String, file: StaticString = #filePath) throws {
        let ref = try referenceCases(model)
        XCTAssertEqual(ref.cases.count, 21, file: file)
        XCTAssertEqual(tok.bosID, ref.bos, file: file)
        XCTAssertEqual(tok.eosID, ref.eos, file: file)
        for c in ref.cases {
            XCTAssertEqual(tok.encode(c.text, addSpecialTokens: false), c.ids, "ids of \(c.text.debugDescription)", file: file)
            XCTAssertEqual(tok.encode(c.text, addSpecialTokens: true), c.idsWithSpecial, "ids_with_special of \(c.text.debugDescription)", file: file)
            // Both tokenizers are lossless on these strings once control tokens print as text.
            XCTAssertEqual(tok.decode(c.ids, special: true), c.text, "round trip of \(c.text.debugDescription)", file: file)
        }
    }

    func testSmolLM2MatchesReference() throws {
        let tok = try smolTokenizer.get()
        XCTAssertEqual(tok.kind, .bpe)
        XCTAssertEqual(tok.vocabularySize, 49152)
        XCTAssertFalse(tok.addBOS)
        XCTAssertFalse(tok.addEOS)
        try check(tok, model: "smollm2")
    }

    func testGemma3MatchesReference() throws {
        let tok = try gemmaTokenizer.get()
        XCTAssertEqual(tok.kind, .sentencePiece)
        XCTAssertEqual(tok.vocabularySize, 262_144)
        XCTAssertTrue(tok.addBOS)
        XCTAssertFalse(tok.addEOS)
        try check(tok, model: "gemma3")
    }

    func testSpecialTokensAreParsed() throws {
        let smol = try smolTokenizer.get()
        XCTAssertEqual(smol.tokenString(1), "<|im_start|>")
        XCTAssertEqual(smol.encode("<|im_start|>", addSpecialTokens: false), [1])
        XCTAssertEqual(smol.encode("a<|im_end|><|im_start|>", addSpecialTokens: false).suffix(2), [2, 1])
        // Control tokens print only when asked.
        XCTAssertEqual(smol.decode([1, 4093, 198, 6004, 2], special: false), "user\nhi")
        XCTAssertEqual(smol.bytes(of: 1, special: false), [])
        XCTAssertEqual(smol.bytes(of: 1, special: true), Array("<|im_start|>".utf8))

        let gemma = try gemmaTokenizer.get()
        let turn = gemma.encode("<start_of_turn>user\nhi<end_of_turn>", addSpecialTokens: true)
        XCTAssertEqual(turn.first, 2)
        XCTAssertEqual(gemma.tokenString(turn[1]), "<start_of_turn>")
        XCTAssertEqual(gemma.tokenString(turn.last!), "<end_of_turn>")
        XCTAssertEqual(gemma.decode(turn, special: false), "user\nhi")
        XCTAssertEqual(gemma.decode(turn, special: true), "<bos><start_of_turn>user\nhi<end_of_turn>")
    }

    func testStreamingDecoderHoldsSplitEmoji() throws {
        let tok = try smolTokenizer.get()
        let text = "emoji 🙂🚀 and ©®™ €£¥"
        let ids = tok.encode(text, addSpecialTokens: false)
        var stream = StreamingDecoder(tokenizer: tok)
        var out = ""
        var heldBack = 0
        for id in ids {
            let piece = stream.push(id)
            XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"), "partial character emitted for token \(id)")
            if stream.hasPendingBytes { heldBack += 1 }
            out += piece
        }
        out += stream.finish()
        XCTAssertEqual(out, text)
        // 🙂 and 🚀 are each split across byte-level tokens, so some bytes had to wait.
        XCTAssertGreaterThan(heldBack, 0)
    }

    /// Token counts of the first 10 C4 documents, from independent implementations: HF tokenizers
    /// (0.23.3; BPE built from the GGUF vocabulary and merges, Digits(individual) + ByteLevel) for
    /// SmolLM2, and sentencepiece (0.2.3; BPE model proto from the GGUF pieces, scores and types, with
    /// user-defined tokens cut out of the raw text first as llama.cpp does) for Gemma 3.
    func testC4TokenCounts() throws {
        let texts = try c4Texts(10)
        let smol = try smolTokenizer.get()
        XCTAssertEqual(texts.map { smol.encode($0, addSpecialTokens: false).count }, [258, 730, 517, 1582, 255, 100, 148, 171, 257, 190])
        let gemma = try gemmaTokenizer.get()
        XCTAssertEqual(texts.map { gemma.encode($0, addSpecialTokens: false).count }, [254, 711, 497, 1514, 243, 96, 142, 162, 252, 188])
        for t in texts {
            XCTAssertEqual(smol.decode(smol.encode(t, addSpecialTokens: false), special: true), t)
            XCTAssertEqual(gemma.decode(gemma.encode(t, addSpecialTokens: false), special: true), t)
        }
    }

    /// Throughput sanity, timing-free: all 300 C4 documents (≈166k SmolLM2 tokens) tokenize and
    /// round-trip; the elapsed time is printed, not asserted.
    func testC4Throughput() throws {
        let texts = try c4Texts(300)
        for (name, tok) in [("SmolLM2", try smolTokenizer.get()), ("Gemma 3", try gemmaTokenizer.get())] {
            let start = Date()
            var count = 0
            for t in texts { count += tok.encode(t, addSpecialTokens: false).count }
            let seconds = Date().timeIntervalSince(start)
            print("\(name): \(count) tokens in \(String(format: "%.3f", seconds)) s (\(Int(Double(count) / max(seconds, 1e-9))) tokens/s)")
            XCTAssertGreaterThan(count, 100_000)
        }
    }
}
