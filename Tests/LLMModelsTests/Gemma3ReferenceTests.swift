// Gemma 3 270M against PyTorch + transformers on the same file (Tests/Fixtures/reference/gemma3):
// last-position logits within 2e-5 relative L2 (10× the 1.7e-6 measured) with the same top-1; the KV cache (with its sliding-
// window rings) computes what one full pass computes.
import Foundation
import LLMFormats
import LLMModels
import LLMTensor
import TestSupport
import XCTest

final class Gemma3ReferenceTests: XCTestCase {
    static let model = Result { try LanguageModel(path: TestPaths.gemma3(), options: LoadOptions(threads: 2)) }

    struct Prompt { let name: String; let ids: [Int]; let top1: Int; let logitsFile: URL }

    func prompts() throws -> [Prompt] {
        let url = try TestPaths.fixture("reference/gemma3/logits.json")
        let json = try XCTUnwrap(TestPaths.json(url) as? [String: Any])
        let prompts = try XCTUnwrap(json["prompts"] as? [String: [String: Any]])
        return try prompts.keys.sorted().map { name in
            let p = prompts[name]!
            return Prompt(name: name, ids: try XCTUnwrap(p["token_ids"] as? [Int]),
                          top1: try XCTUnwrap((p["top10_ids"] as? [Int])?.first),
                          logitsFile: url.deletingLastPathComponent().appendingPathComponent(String(try XCTUnwrap(p["logits_file"] as? String).prefix { $0 != " " })))
        }
    }

    func testConfigurationIsGemma3() throws {
        let c = try Self.model.get().config
        XCTAssertEqual(c.architecture, .gemma3)
        XCTAssertEqual(c.layerCount, 18)
        XCTAssertEqual(c.headDim, 256)
        XCTAssertEqual((0..<18).filter { !c.isSliding($0) }, [5, 11, 17])
        XCTAssertEqual(c.slidingWindow[0], 512)
        XCTAssertEqual(c.rope.base[0], 10000)
        XCTAssertEqual(c.rope.base[5], 1_000_000)
        XCTAssertEqual(c.rope.style, .neox)
        XCTAssertEqual(c.traits.activation, .geluTanh)
        XCTAssertTrue(c.traits.qkNorm && c.traits.postNorms)
    }

    func testLastPositionLogitsMatchReference() throws {
        let model = try Self.model.get()
        for p in try prompts() {
            let expected = try Data(contentsOf: p.logitsFile).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(expected.count, 262_144)
            let got = Array(try model.forward([p.ids], logits: .last).row(0))
            let err = relativeL2(got, expected)
            XCTAssertLessThan(err, 2e-5, "\(p.name): relative L2 error \(err)")
            XCTAssertEqual(got.indices.max { got[$0] < got[$1] }, p.top1, "\(p.name): top-1")
            print("gemma3 logits \(p.name): relative L2 error \(err)")
        }
    }

    func testTokenizationMatchesReference() throws {
        let model = try Self.model.get()
        let json = try XCTUnwrap(TestPaths.json(TestPaths.fixture("reference/gemma3/logits.json")) as? [String: Any])
        for (name, p) in try XCTUnwrap(json["prompts"] as? [String: [String: Any]]) {
            XCTAssertEqual(model.tokenizer.encode(p["text"] as! String, addSpecialTokens: true), p["token_ids"] as? [Int], name)
        }
    }

    /// Decoding token by token through a cache whose sliding layers keep only a short window equals one
    /// full pass over the same tokens: the ring buffer holds exactly what the window needs.
    func testSlidingWindowCacheMatchesFullPass() throws {
        let model = try Self.model.get()
        // 600 tokens: past the 512-token window, so the sliding layers' rings wrap.
        let text = String(repeating: "The quick brown fox jumps over the lazy dog near the river bank. ", count: 60)
        let ids = Array(model.tokenizer.encode(text, addSpecialTokens: true).prefix(600))
        XCTAssertEqual(ids.count, 600)
        let full = try model.forward([ids], logits: .all)
        let cache = try model.makeCache(capacity: 700)
        XCTAssertLessThan(cache.allocatedBytes, 2 * 18 * 256 * 4 * 700)
        _ = try model.forward(appending: Array(ids[..<500]), to: cache, logits: .last)
        // A multi-token append that crosses the window, then single tokens.
        let chunk = try model.forward(appending: Array(ids[500..<560]), to: cache, logits: .all)
        for t in [0, 30, 59] {
            XCTAssertLessThan(relativeL2(Array(chunk.row(t)), Array(full.row(500 + t))), 1e-4, "position \(500 + t)")
        }
        for t in 560..<600 {
            let step = try model.forward(appending: [ids[t]], to: cache, logits: .last)
            XCTAssertLessThan(relativeL2(Array(step.row(0)), Array(full.row(t))), 1e-4, "position \(t)")
        }
    }

    /// A resident model decodes from its weights interleaved across 16 rows (the same weights); a model
    /// streaming its pages decodes the stored blocks row by row. Both give the same logits up to summation
    /// order.
    func testInterleavedDecodeMatchesStoredBlocks() throws {
        let model = try Self.model.get()
        let stored = try LanguageModel(path: TestPaths.gemma3(), options: LoadOptions(threads: 2, releaseLayerPages: true))
        // The copies decoding reads: Q5_0 as 8-bit quants, 12 more bytes a block of 32; Q4_K with f16 d
        // and dmin per row and super-block instead of per 16 rows × super-block, 64 more bytes per 16 × 256
        // weights; Q6_K's 6-bit quants as bytes, 64 more bytes per 256 weights; Q8_0 the same bytes.
        let tensors = try GGUFFile(path: TestPaths.gemma3()).tensors
        func weights(_ type: GGMLType) -> Int { tensors.filter { $0.type == type }.reduce(0) { $0 + $1.elementCount } }
        XCTAssertEqual(model.decodeWeightBytes - stored.decodeWeightBytes, weights(.q5_0) / 32 * 12 + weights(.q4_K) / 4096 * 64 + weights(.q6_K) / 256 * 64)
        let ids = model.tokenizer.encode("The capital of France is Paris, and the capital of Italy is", addSpecialTokens: true)
        let a = try model.makeCache(capacity: 32), b = try stored.makeCache(capacity: 32)
        for (t, id) in ids.enumerated() {
            let x = Array(try model.forward(appending: [id], to: a, logits: .last).row(0))
            let y = Array(try stored.forward(appending: [id], to: b, logits: .last).row(0))
            XCTAssertLessThan(relativeL2(x, y), 1e-5, "position \(t)")
            XCTAssertEqual(x.indices.max { x[$0] < x[$1] }, y.indices.max { y[$0] < y[$1] }, "position \(t)")
        }
    }

    /// Attention's multiply-adds over a prompt: 4 heads of 256 dimensions, q·k and p·v; the 3 global
    /// layers see every earlier key, the 15 sliding ones at most 512 (themselves included).
    func testAttentionCostCountsTheKeysEachQuerySees() throws {
        let model = try Self.model.get()
        let perKey = 2 * 4 * 256
        XCTAssertEqual(model.attentionMultiplyAdds(promptTokens: 100), 18 * perKey * 100 * 101 / 2)
        XCTAssertEqual(model.attentionMultiplyAdds(promptTokens: 2048), perKey * (3 * 2048 * 2049 / 2 + 15 * (512 * 513 / 2 + 1536 * 512)))
        let dropped = try model.removing(try LayerPlan.full(layers: 18).removing(attention: [0, 5]))
        XCTAssertEqual(dropped.attentionMultiplyAdds(promptTokens: 2048), perKey * (2 * 2048 * 2049 / 2 + 14 * (512 * 513 / 2 + 1536 * 512)))
    }

    /// A cache belongs to the model (weights and plan) that made it.
    func testForeignCacheIsRefused() throws {
        let model = try Self.model.get()
        let dropped = try model.removing(try LayerPlan.full(layers: 18).removing(attention: [3]))
        let cache = try dropped.makeCache(capacity: 8)
        XCTAssertThrowsError(try model.forward(appending: [2, 818], to: cache)) { XCTAssertEqual($0 as? ModelError, .foreignCache) }
        XCTAssertNoThrow(try dropped.forward(appending: [2, 818], to: cache))
    }
}
