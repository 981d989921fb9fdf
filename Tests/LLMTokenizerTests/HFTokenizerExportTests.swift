// tokenizer.json + tokenizer_config.json written from a GGUF's tokenizer.ggml.* metadata (LLMFormats'
// HFExport.tokenizerFiles), read back through our own HF reader: the same ids as the GGUF's tokenizer on
// the reference strings (Tests/Fixtures/reference/hf/ids.json, with and without special tokens) and the
// C4 text — SmolLM2's byte-level BPE (and HF tokenizers' own ids), Gemma 3's SentencePiece vocabulary
// written as BPE with byte fallback.
import Foundation
import LLMFormats
import LLMTokenizer
import TestSupport
import XCTest

final class HFTokenizerExportTests: XCTestCase {
    /// Writes the tokenizer files of `gguf` into a temporary folder and reads them back.
    func roundTrip(_ gguf: String) throws -> (gguf: any Tokenizer, hf: any Tokenizer, folder: URL) {
        let source = try GGUFFile(path: gguf)
        let folder = try makeTemporaryDirectory()
        for (name, data) in try HFExport.tokenizerFiles(of: source) { try data.write(to: folder.appendingPathComponent(name)) }
        let keys = try HFCheckpoint.tokenizerMetadata(folder: folder.path)
        return (try loadTokenizer(from: source), try loadTokenizer(metadata: Dictionary(keys, uniquingKeysWith: { $1 })), folder)
    }

    func compare(_ a: any Tokenizer, _ b: any Tokenizer, cases: [String: Any], reference: Bool, label: String) throws {
        var agree = 0, total = 0, refAgree = 0
        for (text, v) in cases.sorted(by: { $0.key < $1.key }) {
            let c = try XCTUnwrap(v as? [String: Any])
            for (special, key) in [(false, "ids"), (true, "ids_with_special")] {
                let x = a.encode(text, addSpecialTokens: special), y = b.encode(text, addSpecialTokens: special)
                total += 1
                if x == y { agree += 1 }
                XCTAssertEqual(y, x, "\(label): \(key) of \(text.debugDescription)")
                if x == c[key] as? [Int] { refAgree += 1 }
            }
        }
        print("hf tokenizer export \(label): \(agree)/\(total) encodings equal to the GGUF tokenizer's (\(refAgree)/\(total) equal to HF tokenizers')")
        if reference { XCTAssertEqual(refAgree, total) }
    }

    func c4Text() throws -> String {
        let docs = try XCTUnwrap(TestPaths.json(TestPaths.fixture("data/c4_demo.json")) as? [[String: Any]])
        return try docs[200..<300].map { try XCTUnwrap($0["text"] as? String) }.joined(separator: "\n\n")
    }

    func testSmolLM2TokenizerJSONFromItsGGUF() throws {
        let (g, h, folder) = try roundTrip(try TestPaths.smollm2())
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertEqual(h.kind, .bpe)
        XCTAssertEqual(h.vocabularySize, g.vocabularySize)
        XCTAssertEqual(h.bosID, g.bosID)
        XCTAssertEqual(h.eosID, g.eosID)
        XCTAssertEqual(h.addBOS, g.addBOS)
        let ref = try XCTUnwrap(TestPaths.json(TestPaths.fixture("reference/hf/ids.json")) as? [String: Any])
        let smol = try XCTUnwrap((ref["smollm2"] as? [String: Any])?["cases"] as? [String: Any])
        try compare(g, h, cases: smol, reference: true, label: "smollm2")
        let text = try c4Text()
        XCTAssertEqual(h.encode(text, addSpecialTokens: false), g.encode(text, addSpecialTokens: false))
        let config = try XCTUnwrap(TestPaths.json(folder.appendingPathComponent("tokenizer_config.json")) as? [String: Any])
        XCTAssertEqual(config["tokenizer_class"] as? String, "PreTrainedTokenizerFast")
        XCTAssertNotNil(config["chat_template"] as? String)
        // merges as "left right" strings (HF tokenizers < 0.20, as transformers 4.38 installs, reads no other form)
        let json = try XCTUnwrap(TestPaths.json(folder.appendingPathComponent("tokenizer.json")) as? [String: Any])
        let merges = try XCTUnwrap((json["model"] as? [String: Any])?["merges"] as? [String])
        XCTAssertEqual(merges.count, 48900)
        XCTAssertEqual(merges.first, "Ġ t")
    }

    func testGemma3SentencePieceAsBPEWithByteFallback() throws {
        let (g, h, folder) = try roundTrip(try TestPaths.gemma3())
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertEqual(h.kind, .sentencePiece)
        XCTAssertEqual(h.vocabularySize, g.vocabularySize)
        XCTAssertEqual(h.addBOS, g.addBOS)
        let ref = try XCTUnwrap(TestPaths.json(TestPaths.fixture("reference/hf/ids.json")) as? [String: Any])
        let cases = try XCTUnwrap((ref["gemma3"] as? [String: Any])?["cases"] as? [String: Any])
        try compare(g, h, cases: cases, reference: false, label: "gemma3")
        let text = try c4Text()
        let a = g.encode(text, addSpecialTokens: false), b = h.encode(text, addSpecialTokens: false)
        print("hf tokenizer export gemma3: C4 text \(a.count) tokens from the GGUF, \(b.count) from the written tokenizer.json, equal: \(a == b)")
        XCTAssertEqual(b, a)
        let json = try XCTUnwrap(TestPaths.json(folder.appendingPathComponent("tokenizer.json")) as? [String: Any])
        XCTAssertNotNil((json["model"] as? [String: Any])?["merges"] as? [String], "merges as \"left right\" strings")
    }

    /// A "left right" merge is split at its space scalar: Gemma's "▁ह ै" (U+0948 after the space) is one Swift
    /// Character around the space, which a Character split does not find (the written Gemma 3 file failed to read back).
    func testStringMergeSplitAtTheSpaceScalar() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = #"{"model": {"type": "BPE", "byte_fallback": true, "merges": ["\u2581\u0939 \u0948", "a b"], "vocab": {"<unk>": 0, "\u2581\u0939": 1, "\u0948": 2, "\u2581\u0939\u0948": 3, "a": 4, "b": 5, "ab": 6}},"#
            + #" "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}, "pre_tokenizer": null, "added_tokens": []}"#
        try Data(json.utf8).write(to: folder.appendingPathComponent("tokenizer.json"))
        let m = Dictionary(try HFCheckpoint.tokenizerMetadata(folder: folder.path), uniquingKeysWith: { $1 })
        XCTAssertEqual(m["tokenizer.ggml.tokens"]?.strings?.count, 7)
    }

    /// Canonically equivalent tokens (";" U+003B and the Greek question mark U+037E, as Gemma has) stay two
    /// tokens when a tokenizer.json is read: Swift strings — and so parsed JSON dictionaries — would merge them.
    func testCanonicallyEquivalentTokensStayApart() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = #"{"model": {"type": "BPE", "byte_fallback": true, "merges": [], "vocab": {"<unk>": 0, ";": 1, "\u037e": 2, "\u00e9": 3, "e\u0301": 4, "\ud83d\ude00": 5, "a\"b": 6}},"#
            + #" "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}, "pre_tokenizer": null, "added_tokens": []}"#
        try Data(json.utf8).write(to: folder.appendingPathComponent("tokenizer.json"))
        let m = Dictionary(try HFCheckpoint.tokenizerMetadata(folder: folder.path), uniquingKeysWith: { $1 })
        let tokens = try XCTUnwrap(m["tokenizer.ggml.tokens"]?.strings)
        XCTAssertEqual(tokens.map { $0.unicodeScalars.map(\.value) },
                       [[0x3C, 0x75, 0x6E, 0x6B, 0x3E], [0x3B], [0x37E], [0xE9], [0x65, 0x301], [0x1F600], [0x61, 0x22, 0x62]])
    }
}
