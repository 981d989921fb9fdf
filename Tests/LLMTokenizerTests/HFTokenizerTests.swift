// Tokenizers read from Hugging Face tokenizer.json files (translated by LLMFormats into the
// `tokenizer.ggml.*` keys) against the ids the HF `tokenizers` library gives with the same files:
//   * SmolLM2's tokenizer.json as transformers wrote it (Tests/Fixtures/reference/hf, copied from the
//     shared reference) on the 21 tokenize.json strings, with and without special tokens, and the C4 count;
//   * the small vocabularies cut from SmolLM2's (byte-level BPE) and Gemma 3's (SentencePiece-style BPE
//     with byte fallback) tokenizers for the HF fixtures (Tests/Fixtures/hf/tokenizers, ids from
//     scripts/make-hf-fixtures.py).
// Gemma 3's full tokenizer.json (33 MB) is not committed; with LLM_DROP_HF_REFERENCE set to the shared
// reference's hf/ folder, testGemma3FullTokenizerWhenAvailable checks it too.
import Foundation
import LLMFormats
import LLMTokenizer
import TestSupport
import XCTest

final class HFTokenizerTests: XCTestCase {
    func tokenizer(_ folder: URL) throws -> any Tokenizer {
        let keys = try HFCheckpoint.tokenizerMetadata(folder: folder.path)
        return try loadTokenizer(metadata: Dictionary(keys, uniquingKeysWith: { $1 }))
    }

    /// Compares `tok` on every case; returns (agreeing, total) string encodings (each string counts twice:
    /// without and with special tokens).
    @discardableResult
    func compare(_ tok: any Tokenizer, _ cases: [String: Any], label: String) throws -> (Int, Int) {
        var agree = 0, total = 0
        for (text, v) in cases.sorted(by: { $0.key < $1.key }) {
            let c = try XCTUnwrap(v as? [String: Any])
            for (special, key) in [(false, "ids"), (true, "ids_with_special")] {
                let expected = try XCTUnwrap(c[key] as? [Int])
                let got = tok.encode(text, addSpecialTokens: special)
                total += 1
                if got == expected { agree += 1 }
                XCTAssertEqual(got, expected, "\(label): \(key) of \(text.debugDescription)")
            }
        }
        print("hf tokenizer \(label): \(agree)/\(total) encodings equal to HF tokenizers")
        return (agree, total)
    }

    func c4PerplexityText() throws -> String {
        let docs = try XCTUnwrap(TestPaths.json(TestPaths.fixture("data/c4_demo.json")) as? [[String: Any]])
        return try docs[200..<300].map { try XCTUnwrap($0["text"] as? String) }.joined(separator: "\n\n")
    }

    func testSmolLM2TokenizerJSONMatchesHFTokenizers() throws {
        let dir = try TestPaths.fixture("reference/hf/smollm2/tokenizer.json").deletingLastPathComponent()
        let tok = try tokenizer(dir)
        XCTAssertEqual(tok.kind, .bpe)
        XCTAssertEqual(tok.vocabularySize, 49152)
        XCTAssertFalse(tok.addBOS)
        XCTAssertEqual(tok.bosID, 1)
        XCTAssertEqual(tok.eosID, 2)
        let ref = try XCTUnwrap(TestPaths.json(TestPaths.fixture("reference/hf/ids.json")) as? [String: Any])
        let smol = try XCTUnwrap(ref["smollm2"] as? [String: Any])
        let (agree, total) = try compare(tok, try XCTUnwrap(smol["cases"] as? [String: Any]), label: "smollm2")
        XCTAssertEqual(agree, 42)
        XCTAssertEqual(total, 42)
        XCTAssertEqual(tok.encode(try c4PerplexityText(), addSpecialTokens: false).count, smol["c4_200_299_tokens_without_special"] as? Int)
    }

    func testCutVocabulariesMatchHFTokenizers() throws {
        let root = try TestPaths.fixture("hf/tokenizers/ids.json")
        let ref = try XCTUnwrap(TestPaths.json(root) as? [String: Any])
        let all = try XCTUnwrap(ref["tokenizers"] as? [String: Any])
        XCTAssertEqual(all.keys.sorted(), ["gemma3-2k", "smollm2-1k"])
        for (name, cases) in all {
            let tok = try tokenizer(root.deletingLastPathComponent().appendingPathComponent(name))
            XCTAssertEqual(tok.kind, name.hasPrefix("gemma") ? .sentencePiece : .bpe)
            try compare(tok, try XCTUnwrap(cases as? [String: Any]), label: name)
        }
    }

    func testGemma3KeysAsTheConverterWritesThem() throws {
        let dir = try TestPaths.fixture("hf/tokenizers/gemma3-2k/tokenizer.json").deletingLastPathComponent()
        let m = Dictionary(try HFCheckpoint.tokenizerMetadata(folder: dir.path), uniquingKeysWith: { $1 })
        XCTAssertEqual(m["tokenizer.ggml.model"]?.string, "llama")
        XCTAssertEqual(m["tokenizer.ggml.add_space_prefix"]?.bool, false)
        XCTAssertEqual(m["tokenizer.ggml.add_bos_token"]?.bool, true)    // from the <bos> post-processor template
        XCTAssertEqual(m["tokenizer.ggml.bos_token_id"]?.int, 2)
        XCTAssertEqual(m["tokenizer.ggml.eos_token_id"]?.int, 1)
        XCTAssertEqual(m["tokenizer.ggml.padding_token_id"]?.int, 0)
        let tokens = try XCTUnwrap(m["tokenizer.ggml.tokens"]?.strings)
        let types = try XCTUnwrap(m["tokenizer.ggml.token_type"]?.ints)
        let byte = try XCTUnwrap(tokens.firstIndex(of: "<0x41>"))
        XCTAssertEqual(types[byte], 6)
        XCTAssertEqual(types[2], 3)   // <bos>: control
        XCTAssertEqual(types[try XCTUnwrap(tokens.firstIndex(of: "<table>"))], 4)   // added, not special: user-defined
    }

    func testGemma3FullTokenizerWhenAvailable() throws {
        guard let ref = ProcessInfo.processInfo.environment["LLM_DROP_HF_REFERENCE"], !ref.isEmpty else {
            throw XCTSkip("set LLM_DROP_HF_REFERENCE to the shared reference's hf/ folder to check Gemma 3's 33 MB tokenizer.json")
        }
        let root = URL(fileURLWithPath: ref)
        let tok = try tokenizer(root.appendingPathComponent("gemma3"))
        XCTAssertEqual(tok.vocabularySize, 262_144)
        let ids = try XCTUnwrap(TestPaths.json(root.appendingPathComponent("ids.json")) as? [String: Any])
        let gemma = try XCTUnwrap(ids["gemma3"] as? [String: Any])
        try compare(tok, try XCTUnwrap(gemma["cases"] as? [String: Any]), label: "gemma3 (full)")
        XCTAssertEqual(tok.encode(try c4PerplexityText(), addSpecialTokens: false).count, gemma["c4_200_299_tokens_without_special"] as? Int)
    }
}
