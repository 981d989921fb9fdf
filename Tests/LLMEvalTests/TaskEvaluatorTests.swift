// TaskEvaluator on the real model: WinoGrande and LAMBADA items against the naive one-at-a-time
// computation, batch packing and deduplication, and left truncation to the context length.
import Foundation
import LLMEval
import LLMModels
import TestSupport
import XCTest

final class TaskEvaluatorTests: XCTestCase {
    func testWinograndeMatchesNaiveScoring() throws {
        let model = try TaskTestModel.load()
        let items = try TaskTestModel.items("data/winogrande/mc.jsonl", count: 10)
        let evaluation = try TaskEvaluator(model: model).evaluate(items, task: "winogrande")
        var correct = 0
        for (item, score) in zip(items, evaluation.items) {
            guard case .winogrande(let contexts, let continuation, let gold) = item.body else { return XCTFail("not winogrande") }
            let naive = try contexts.map { try naiveScore(model, context: $0, continuation: continuation).logLikelihood }
            for (a, b) in zip(score.logLikelihoods.map(\.value), naive) { XCTAssertEqual(a, b, accuracy: 1e-3, "item \(item.id)") }
            XCTAssertEqual(score.prediction, firstArgmax(naive))
            correct += firstArgmax(naive) == gold ? 1 : 0
        }
        XCTAssertEqual(evaluation.result.acc, Double(correct) / 10)
        XCTAssertNil(evaluation.result.accNorm, "lm-eval reports acc only for winogrande")
    }

    func testClozeMatchesNaiveScoring() throws {
        let model = try TaskTestModel.load()
        let items = try TaskTestModel.items("data/lambada/cloze.jsonl", count: 10)
        let evaluation = try TaskEvaluator(model: model).evaluate(items, task: "lambada")
        var correct = 0, total = 0.0, tokens = 0
        for (item, score) in zip(items, evaluation.items) {
            guard case .cloze(let context, let target) = item.body else { return XCTFail("not cloze") }
            let naive = try naiveScore(model, context: context, continuation: target)
            let ll = try XCTUnwrap(score.logLikelihoods.first)
            XCTAssertEqual(ll.value, naive.logLikelihood, accuracy: 1e-3, "item \(item.id)")
            XCTAssertEqual(ll.isGreedy, naive.isGreedy, "item \(item.id)")
            correct += naive.isGreedy ? 1 : 0
            total += naive.logLikelihood
            tokens += ll.tokens
        }
        let r = evaluation.result
        XCTAssertEqual(r.acc, Double(correct) / 10)
        XCTAssertEqual(try XCTUnwrap(r.perplexity), exp(-total / 10), accuracy: 1e-3 * exp(-total / 10))
        XCTAssertEqual(try XCTUnwrap(r.tokenPerplexity), exp(-total / Double(tokens)), accuracy: 1e-3 * exp(-total / Double(tokens)))
        print("lambada first 10: acc \(r.acc) perplexity \(r.perplexity ?? .nan)")
    }

    func testSmallBatchesAndDuplicatesGiveTheSameScores() throws {
        let model = try TaskTestModel.load()
        let items = try TaskTestModel.items("data/winogrande/mc.jsonl", count: 3)
        let requests = try TaskEvaluator(model: model).tokenize(items.flatMap { $0.requests() })
        let doubled = requests + requests   // the second half repeats inputs already in the batch
        let big = try TaskEvaluator(model: model, rowsPerBatch: 1024).loglikelihoods(doubled)
        var calls = 0
        let small = try TaskEvaluator(model: model, rowsPerBatch: 20).loglikelihoods(requests) { _ in calls += 1 }
        XCTAssertGreaterThan(calls, 1)
        for (a, b) in zip(big, small) { XCTAssertEqual(a.value, b.value, accuracy: 1e-3) }
        XCTAssertEqual(Array(big[..<requests.count]), Array(big[requests.count...]))
    }

    func testLongContextsAreCutFromTheLeft() throws {
        let model = try TaskTestModel.load()
        let item = try XCTUnwrap(TaskTestModel.items("data/lambada/cloze.jsonl", count: 1).first)
        let maxLength = 24
        let evaluation = try TaskEvaluator(model: model, maxLength: maxLength).evaluate([item], task: "lambada")
        XCTAssertEqual(evaluation.result.truncated, 1)
        // lm-eval: the input is (context + continuation)[-(max_length + 1):][:-1].
        let r = try TokenizedRequest(item.requests()[0], tokenizer: model.tokenizer)
        let kept = Array((r.context + r.continuation).suffix(maxLength + 1))
        let logits = try model.forward([kept], logits: .all)
        var expected = 0.0
        for (j, t) in r.continuation.enumerated() {
            let row = logits.row(kept.count - r.continuation.count - 1 + j).map(Double.init)
            let m = row.max()!
            expected += row[t] - (m + log(row.reduce(0) { $0 + exp($1 - m) }))
        }
        let ll = try XCTUnwrap(evaluation.items.first?.logLikelihoods.first)
        XCTAssertTrue(ll.truncated)
        XCTAssertEqual(ll.value, expected, accuracy: 1e-3)
    }

    func testEmptyItemListIsAnError() throws {
        let model = try TaskTestModel.load()
        XCTAssertThrowsError(try TaskEvaluator(model: model).evaluate([], task: "x")) {
            XCTAssertEqual($0 as? TaskEvaluationError, .noItems)
        }
        XCTAssertThrowsError(try TaskEvaluator(model: model, rowsPerBatch: 0))
    }
}
