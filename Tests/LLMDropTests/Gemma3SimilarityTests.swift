// Gemma 3 270M: per-layer similarities, the layers each drop chooses, and the perplexity of the full
// and dropped models against PyTorch + transformers (Tests/Fixtures/reference/gemma3), at context 256
// and at context 1024, where the 512-token sliding window is active. Gemma's branch is everything it
// adds to the residual, its post-norm included.
import Foundation
import LLMDrop
import LLMEval
import LLMFormats
import LLMModels
import TestSupport
import XCTest

final class Gemma3SimilarityTests: XCTestCase {
    static let model = Result { try LanguageModel(path: TestPaths.gemma3(), options: LoadOptions(threads: 2)) }
    nonisolated(unsafe) static var cachedScores: SimilarityScores?

    func scores() throws -> SimilarityScores {
        if let s = Self.cachedScores { return s }
        let s = try referenceCalibrationScores(Self.model.get())
        Self.cachedScores = s
        return s
    }

    func reference() throws -> [String: Any] {
        try XCTUnwrap(TestPaths.json(TestPaths.fixture("reference/gemma3/similarities.json")) as? [String: Any])
    }

    func testSimilaritiesMatchReference() throws {
        let s = try scores()
        let ref = try reference()
        XCTAssertEqual(s.tokens, (ref["calibration"] as? [String: Any])?["total_tokens"] as? Int)
        let sim = try XCTUnwrap(ref["similarity"] as? [String: [Double]])
        var worst = 0.0
        for (key, ours) in [("attn", s.attention), ("mlp", s.mlp), ("block", s.block),
                            ("attn_nonorm", s.attentionNoResidual), ("mlp_nonorm", s.mlpNoResidual)] {
            let theirs = try XCTUnwrap(sim[key])
            XCTAssertEqual(ours.count, 18)
            for (l, (a, b)) in zip(ours, theirs).enumerated() {
                let err = abs(try XCTUnwrap(a) - b)
                worst = max(worst, err)
                XCTAssertLessThan(err, 1.5e-6, "\(key) layer \(l): \(a!) vs \(b)")  // measured 1.4e-7
            }
        }
        print("gemma3 similarity: max abs error \(worst) over 5 × 18 scores")
    }

    func testDropChoicesMatchReference() throws {
        let s = try scores()
        let results = try XCTUnwrap((TestPaths.json(TestPaths.fixture("reference/gemma3/perplexity.json")) as? [String: Any])?["results"] as? [String: [String: Any]])
        let full = LayerPlan.full(layers: 18)
        for (name, target, k) in [("attn_k4_ctx256", DropTarget.attention, 4), ("attn_k8_ctx256", .attention, 8),
                                  ("mlp_k2_ctx256", .mlp, 2), ("block_k2_ctx256", .block, 2)] {
            let plan = try Selection.oneShot(s, target: target, count: k, plan: full)
            let r = try XCTUnwrap(results[name])
            XCTAssertEqual(plan.droppedAttention, r["dropped_attention"] as? [Int], name)
            XCTAssertEqual(plan.droppedMLP, r["dropped_mlp"] as? [Int], name)
            XCTAssertEqual(plan.droppedBlocks, r["dropped_blocks"] as? [Int], name)
        }
    }

    /// Perplexity within 0.02 % of the reference (measured 0.002 %; the bounds are 0.5 % full and
    /// 1 % dropped), with BOS first in every window (the reference's and llama.cpp's construction).
    func testPerplexityMatchesReference() throws {
        let model = try Self.model.get()
        let results = try XCTUnwrap((TestPaths.json(TestPaths.fixture("reference/gemma3/perplexity.json")) as? [String: Any])?["results"] as? [String: [String: Any]])
        let docs = try XCTUnwrap(TestPaths.json(TestPaths.fixture("data/c4_demo.json")) as? [[String: Any]])
        let tokens = model.tokenizer.encode(docs[200..<300].map { $0["text"] as! String }.joined(separator: "\n\n"), addSpecialTokens: false)
        XCTAssertEqual(tokens.count, results["full_ctx256"]?["stream_tokens"] as? Int)
        // Two of the reference's runs keep the suite short: each context and each kind of model once.
        for name in ["attn_k4_ctx256", "full_ctx1024"] {
            let r = try XCTUnwrap(results[name])
            let plan = try LayerPlan.full(layers: 18).removing(attention: r["dropped_attention"] as! [Int], mlp: r["dropped_mlp"] as! [Int], blocks: r["dropped_blocks"] as! [Int])
            let context = try XCTUnwrap(r["context"] as? Int), windows = try XCTUnwrap(r["windows"] as? Int)
            let result = try PerplexityEvaluator(model: model.removing(plan), context: context).evaluate(tokens: tokens, maxWindows: windows)
            XCTAssertEqual(result.tokens, r["predicted_tokens"] as? Int, name)
            let expected = try XCTUnwrap(r["perplexity"] as? Double)
            XCTAssertEqual(result.perplexity, expected, accuracy: expected * 2e-4, name)
            print("gemma3 perplexity \(name): \(result.perplexity) (reference \(expected))")
        }
    }

    /// Comparison windows of a file carry Gemma's BOS once each, and perplexity over those windows is the
    /// perplexity of the token stream (what `run --data` reports).
    func testComparisonWindowsCarryBOSOnce() throws {
        let model = try Self.model.get()
        let path = try TestPaths.fixture("data/c4_demo.json").path
        let windows = try ComparisonWindows.make(model: model, source: .file(path), context: 32, maxWindows: 3)
        XCTAssertEqual(windows.map(\.count), [32, 32, 32])
        XCTAssertEqual(windows.map { $0.filter { $0 == model.tokenizer.bosID }.count }, [1, 1, 1])
        let tokens = model.tokenizer.encode(try TextCorpus.documents(at: path).joined(separator: "\n\n"), addSpecialTokens: false)
        let evaluator = try PerplexityEvaluator(model: model, context: 32)
        XCTAssertEqual(try evaluator.evaluate(windows: windows).meanNLL, try evaluator.evaluate(tokens: tokens, maxWindows: 3).meanNLL)
    }
}
