// The Llama forward pass against PyTorch + transformers (Tests/Fixtures/reference/smollm2): last-position
// logits within 6e-5 relative L2 error (10× the 6e-6 measured) with the same top-1; cached and batched passes agree.
import Foundation
import LLMModels
import LLMTensor
import TestSupport
import XCTest

final class ReferenceTests: XCTestCase {
    static let model = Result { try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 2)) }

    func loadModel() throws -> LanguageModel { try Self.model.get() }

    struct Prompt { let name: String; let ids: [Int]; let top1: Int; let logitsFile: URL }

    func prompts() throws -> [Prompt] {
        let url = try TestPaths.fixture("reference/smollm2/logits.json")
        let json = try XCTUnwrap(TestPaths.json(url) as? [String: Any])
        let prompts = try XCTUnwrap(json["prompts"] as? [String: [String: Any]])
        return try prompts.keys.sorted().map { name in
            let p = prompts[name]!
            return Prompt(name: name,
                          ids: try XCTUnwrap(p["token_ids"] as? [Int]),
                          top1: try XCTUnwrap((p["top10_ids"] as? [Int])?.first),
                          logitsFile: url.deletingLastPathComponent().appendingPathComponent(try XCTUnwrap(p["last_position_logits_file"] as? String)))
        }
    }

    func testLastPositionLogitsMatchReference() throws {
        let model = try loadModel()
        let prompts = try prompts()
        XCTAssertEqual(prompts.count, 6)
        for p in prompts {
            let expected = try Data(contentsOf: p.logitsFile).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(expected.count, model.vocabularySize)
            let logits = try model.forward([p.ids], logits: .last)
            let got = Array(logits.row(0))
            let err = relativeL2(got, expected)
            XCTAssertLessThan(err, 6e-5, "\(p.name): relative L2 error \(err)")
            XCTAssertEqual(got.indices.max { got[$0] < got[$1] }, p.top1, "\(p.name): top-1")
            print("logits \(p.name): relative L2 error \(err)")
        }
    }

    func testPromptTokenizationMatchesReference() throws {
        let model = try loadModel()
        let url = try TestPaths.fixture("reference/smollm2/logits.json")
        let prompts = try XCTUnwrap((TestPaths.json(url) as? [String: Any])?["prompts"] as? [String: [String: Any]])
        for (name, p) in prompts where (p["bos_added"] as? Bool) == false {
            XCTAssertEqual(model.tokenizer.encode(p["text"] as! String, addSpecialTokens: true), p["token_ids"] as? [Int], name)
        }
    }

    /// Incremental decoding with the KV cache computes the same function as one full pass.
    func testCachedDecodingMatchesFullPass() throws {
        let model = try loadModel()
        let ids = try XCTUnwrap(prompts().first { $0.name == "paragraph" }).ids
        let full = try model.forward([ids], logits: .all)
        let cache = try model.makeCache(capacity: ids.count)
        _ = try model.forward(appending: Array(ids[..<100]), to: cache, logits: .last)
        for t in 100..<ids.count {
            let step = try model.forward(appending: [ids[t]], to: cache, logits: .last)
            let err = relativeL2(Array(step.row(0)), Array(full.row(t)))
            XCTAssertLessThan(err, 1e-4, "position \(t)")
        }
        XCTAssertEqual(cache.count, ids.count)
        XCTAssertEqual(cache.usedBytes, ids.count * 2 * 30 * 3 * 64 * 4)
    }

    /// Several sequences in one call give what each gives alone.
    func testBatchedSequencesAreIndependent() throws {
        let model = try loadModel()
        let ps = try prompts()
        let seqs = [ps[0].ids, ps[2].ids, ps[4].ids]
        let batched = try model.forward(seqs, logits: .last)
        for (i, s) in seqs.enumerated() {
            let alone = try model.forward([s], logits: .last)
            XCTAssertLessThan(relativeL2(Array(batched.row(i)), Array(alone.row(0))), 1e-5)
        }
    }

    /// Models whose products cannot use interleaved weights (here: streamed pages) multiply f32 weights
    /// with SGEMM in prefill; beyond the f32 cache budget they dequantise one matrix at a time into
    /// scratch: the same values reach the same BLAS call, so logits are identical. Resident interleaved
    /// weights need no f32 copy at all.
    func testPerMatrixDequantisationEqualsCachedWeights() throws {
        XCTAssertFalse(try loadModel().cachesFloat32)
        let cached = try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 2, releaseLayerPages: true))
        XCTAssertTrue(cached.cachesFloat32)
        let streaming = try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 2, float32CacheBudget: 0, releaseLayerPages: true))
        XCTAssertFalse(streaming.cachesFloat32)
        let ids = try prompts().map(\.ids)
        XCTAssertEqual(try streaming.forward(ids, logits: .all).storage, try cached.forward(ids, logits: .all).storage)
    }

    /// Several sequences decoded together, each with its own cache, give what each gives alone.
    func testBatchedCachedDecodingMatchesSingleSequences() throws {
        let model = try loadModel()
        let prompts = try prompts().map(\.ids).prefix(3).map { Array($0.prefix(12)) }
        let caches = try prompts.map { try model.makeCache(capacity: $0.count + 1) }
        let batched = try model.forward(appending: prompts, to: caches, logits: .last)
        let step = try model.forward(appending: prompts.map { _ in [42] }, to: caches, logits: .last)
        for (i, p) in prompts.enumerated() {
            XCTAssertLessThan(relativeL2(Array(batched.row(i)), Array(try model.forward([p], logits: .last).row(0))), 1e-5, "prompt \(i)")
            XCTAssertLessThan(relativeL2(Array(step.row(i)), Array(try model.forward([p + [42]], logits: .last).row(0))), 1e-5, "step \(i)")
        }
        XCTAssertEqual(caches.map(\.count), prompts.map { $0.count + 1 })
        // The batched generator and one-at-a-time generation agree token for token (greedy).
        let generator = Generator(model: model)
        let together = try generator.generate(prompts: prompts, maxTokens: 6)
        for (i, p) in prompts.enumerated() {
            let alone = try generator.generate(prompt: p, maxTokens: 6)
            XCTAssertEqual(together[i].generated, alone.generated, "prompt \(i)")
            XCTAssertLessThan(relativeL2(together[i].promptLogits, alone.promptLogits), 1e-5)
        }
    }
}
