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
    }
}
