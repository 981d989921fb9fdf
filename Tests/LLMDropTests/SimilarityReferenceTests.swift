// Redundancy scores and drop choices against PyTorch + transformers
// (Tests/Fixtures/reference/smollm2/similarities.json and perplexity.json).
import Foundation
import LLMDrop
import LLMEval
import LLMFormats
import LLMModels
import TestSupport
import XCTest

final class SimilarityReferenceTests: XCTestCase {
    static let model = Result { try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 2)) }
    nonisolated(unsafe) static var cachedScores: SimilarityScores?

    func scores() throws -> SimilarityScores {
        if let s = Self.cachedScores { return s }
        let s = try referenceCalibrationScores(Self.model.get())
        Self.cachedScores = s
        return s
    }

    func reference() throws -> [String: Any] {
        try XCTUnwrap(TestPaths.json(TestPaths.fixture("reference/smollm2/similarities.json")) as? [String: Any])
    }

    func testSimilaritiesMatchReference() throws {
        let s = try scores()
        let ref = try reference()
        XCTAssertEqual(s.tokens, (ref["calibration"] as? [String: Any])?["total_tokens"] as? Int)
        let sim = try XCTUnwrap(ref["similarity"] as? [String: [Double]])
        let pairs: [(String, [Double?])] = [("attn", s.attention), ("mlp", s.mlp), ("block", s.block),
                                             ("attn_nonorm", s.attentionNoResidual), ("mlp_nonorm", s.mlpNoResidual)]
        var worst = 0.0
        for (key, ours) in pairs {
            let theirs = try XCTUnwrap(sim[key])
            XCTAssertEqual(ours.count, theirs.count)
            for (l, (a, b)) in zip(ours, theirs).enumerated() {
                let err = abs(try XCTUnwrap(a) - b)
                worst = max(worst, err)
                XCTAssertLessThan(err, 5e-7, "\(key) layer \(l): \(a!) vs \(b)")  // measured 4.5e-8
            }
        }
        print("similarity: max abs error \(worst) over 5 × 30 scores")
    }

    func testDropChoicesMatchReference() throws {
        let s = try scores()
        let configs = try XCTUnwrap((TestPaths.json(TestPaths.fixture("reference/smollm2/perplexity.json")) as? [String: Any])?["configs"] as? [String: [String: Any]])
        let full = LayerPlan.full(layers: 30)
        for (name, target, k) in [("attn_k4", DropTarget.attention, 4), ("attn_k8", .attention, 8), ("mlp_k4", .mlp, 4), ("block_k4", .block, 4)] {
            let plan = try Selection.oneShot(s, target: target, count: k, plan: full)
            let c = try XCTUnwrap(configs[name])
            XCTAssertEqual(plan.droppedAttention, c["dropped_attention"] as? [Int], name)
            XCTAssertEqual(plan.droppedMLP, c["dropped_mlp"] as? [Int], name)
            XCTAssertEqual(plan.droppedBlocks, c["dropped_blocks"] as? [Int], name)
        }
        // Joint Layer Drop ranks attention (0–29) and MLP (30–59) together.
        let joint = try XCTUnwrap(try reference()["joint_ranking_most_similar_first"] as? [Int])
        let ours = Selection.ranking(s, target: .joint, plan: full).map { $0.module.kind == .attention ? $0.module.layer : 30 + $0.module.layer }
        XCTAssertEqual(Array(ours.prefix(12)), Array(joint.prefix(12)))
    }

    /// Perplexity of the dropped models within 0.02 % of the reference (first 16 evaluation windows;
    /// measured 0.002 %).
    func testDroppedPerplexityMatchesReference() throws {
        let model = try Self.model.get()
        let configs = try XCTUnwrap((TestPaths.json(TestPaths.fixture("reference/smollm2/perplexity.json")) as? [String: Any])?["configs"] as? [String: [String: Any]])
        let docs = try XCTUnwrap(TestPaths.json(TestPaths.fixture("data/c4_demo.json")) as? [[String: Any]])
        let tokens = model.tokenizer.encode(docs[200..<300].map { $0["text"] as! String }.joined(separator: "\n\n"), addSpecialTokens: false)
        for name in ["attn_k4", "attn_k8", "mlp_k4", "block_k4"] {
            let c = try XCTUnwrap(configs[name])
            let plan = try LayerPlan.full(layers: 30).removing(attention: c["dropped_attention"] as! [Int], mlp: c["dropped_mlp"] as! [Int], blocks: c["dropped_blocks"] as! [Int])
            let dropped = try model.removing(plan)
            let r = try PerplexityEvaluator(model: dropped, context: 256).evaluate(tokens: tokens, maxWindows: 16)
            let expected = try XCTUnwrap(c["perplexity_first_16_windows"] as? Double)
            XCTAssertEqual(r.perplexity, expected, accuracy: expected * 2e-4, name)
            print("perplexity \(name): \(r.perplexity) (reference \(expected))")
        }
    }

    /// Iterative selection with K = 1 is one-shot selection with K = 1.
    func testIterativeWithOneStepEqualsOneShot() throws {
        let model = try Self.model.get()
        let docs = try TextCorpus.documents(at: TestPaths.fixture("data/c4_demo.json").path)
        let set = try CalibrationSet.fromDocuments(docs, tokenizer: model.tokenizer, samples: 4, length: 64, sampling: .blocks, source: "c4")
        let scorer = RedundancyScorer(model: model)
        let full = model.plan
        for target in DropTarget.allCases {
            let oneShot = try Selection.oneShot(try scorer.score(set), target: target, count: 1, plan: full)
            let iterative = try Selection.iterative(target: target, count: 1, plan: full) { try RedundancyScorer(model: model.removing($0)).score(set) }
            XCTAssertEqual(oneShot, iterative, target.rawValue)
        }
    }

    func testSelfCalibrationIsDeterministicForASeed() throws {
        let model = try Self.model.get()
        let a = try CalibrationSet.selfGenerated(model: model, samples: 2, length: 12, seed: 7)
        let b = try CalibrationSet.selfGenerated(model: model, samples: 2, length: 12, seed: 7)
        let c = try CalibrationSet.selfGenerated(model: model, samples: 2, length: 12, seed: 8)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.samples, c.samples)
        XCTAssertEqual(a.samples.map(\.count), [12, 12])
        XCTAssertEqual(a.samples[0][0], model.tokenizer.bosID)
        XCTAssertNotEqual(a.samples[0], a.samples[1])
    }

    func testBlocksSamplingJoinsDocumentsWithEOS() throws {
        let model = try Self.model.get()
        let set = try CalibrationSet.fromDocuments(["Hello world.", "Second document here."], tokenizer: model.tokenizer,
                                                   samples: 1, length: 5, sampling: .blocks, source: "test")
        let expected = model.tokenizer.encode("Hello world.", addSpecialTokens: false) + [2] + model.tokenizer.encode("Second document here.", addSpecialTokens: false)
        XCTAssertEqual(set.samples, [Array(expected.prefix(5))])
        XCTAssertThrowsError(try CalibrationSet.fromDocuments(["Hi"], tokenizer: model.tokenizer, samples: 1, length: 50, sampling: .blocks, source: "t")) {
            XCTAssertEqual($0 as? CalibrationError, .tooFewTokens(have: 1, need: 50))
        }
    }
}
