// Runs repeat: scores, plans, perplexities and task log-likelihoods are bit-identical run to run at a
// fixed thread count; across thread counts the chosen layers are identical and scores agree within
// 1e-6. Concurrent forward calls on one model give what serial calls give.
import Foundation
import LLMDrop
import LLMEval
import LLMFormats
import LLMModels
import TestSupport
import Synchronization
import XCTest

final class DeterminismTests: XCTestCase {
    func calibration(_ model: LanguageModel) throws -> CalibrationSet {
        let docs = try TextCorpus.documents(at: TestPaths.fixture("data/c4_demo.json").path)
        return try CalibrationSet.fromDocuments(docs, tokenizer: model.tokenizer, samples: 8, length: 64, sampling: .blocks, source: "c4")
    }

    func testScoresPlansAndPerplexityRepeat() throws {
        let two = try TaskTestModel.load()
        let one = try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 1))
        let set = try calibration(two)
        let a = try RedundancyScorer(model: two).score(set), b = try RedundancyScorer(model: two).score(set)
        XCTAssertEqual(a, b, "scores at 2 threads differ between runs")
        let c = try RedundancyScorer(model: one).score(set)
        var worst = 0.0
        for (x, y) in zip(a.attention + a.mlp + a.block, c.attention + c.mlp + c.block) { worst = max(worst, abs(x! - y!)) }
        XCTAssertLessThan(worst, 1e-6, "1 vs 2 threads")
        let full = two.plan
        for (target, k) in [(DropTarget.attention, 8), (.mlp, 4), (.block, 4), (.joint, 8)] {
            let p2 = try Selection.oneShot(a, target: target, count: k, plan: full)
            XCTAssertEqual(p2, try Selection.oneShot(b, target: target, count: k, plan: full))
            XCTAssertEqual(p2, try Selection.oneShot(c, target: target, count: k, plan: full), "\(target) at 1 thread")
        }

        let tokens = set.samples.flatMap { $0 }
        let p = try PerplexityEvaluator(model: two, context: 128).evaluate(tokens: tokens, maxWindows: 3)
        let q = try PerplexityEvaluator(model: two, context: 128).evaluate(tokens: tokens, maxWindows: 3)
        XCTAssertEqual(p.meanNLL, q.meanNLL)
        let r = try PerplexityEvaluator(model: one, context: 128).evaluate(tokens: tokens, maxWindows: 3)
        XCTAssertEqual(p.meanNLL, r.meanNLL, accuracy: 1e-6)
    }

    func testTaskLoglikelihoodsRepeat() throws {
        let model = try TaskTestModel.load()
        let items = try TaskTestModel.items("data/piqa/mc.jsonl", count: 6)
        let evaluator = try TaskEvaluator(model: model)
        let requests = try evaluator.tokenize(items.flatMap { $0.requests(prefix: "") })
        let a = try evaluator.loglikelihoods(requests), b = try evaluator.loglikelihoods(requests)
        XCTAssertEqual(a.map(\.value), b.map(\.value))
    }

    /// Two threads calling forward on one model at once: each gets exactly the serial result.
    func testConcurrentForwardCallsMatchSerial() throws {
        let model = try TaskTestModel.load()
        let inputs = [[504, 3575, 282, 4649, 314, 1604], Array(200..<260)]
        let serial = try inputs.map { try model.forward([$0], logits: .last).storage }
        let results = Mutex<[Int: [Float]]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let out = try? model.forward([inputs[i % 2]], logits: .last).storage
            results.withLock { $0[i] = out }
        }
        for i in 0..<8 { XCTAssertEqual(results.withLock { $0[i] }, serial[i % 2], "call \(i)") }
    }
}
