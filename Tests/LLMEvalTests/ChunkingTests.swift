// Layer-major passes split into chunks (what a small --max-memory does) give the figures of one call over
// every row on SmolLM2: perplexity and task log-likelihoods (scores: MemoryBudgetTests). One call takes every
// row through layer l before layer l+1; the chunked pass takes each chunk through all layers in turn.
// Not bit for bit: a matrix product's sums come out differently for another row count (OpenBLAS picks its
// kernels by shape, and a few rows go through the quantised kernels instead of SGEMM), so the figures
// differ in the last digits — measured below and asserted with a margin; the same chunks repeat exactly
// (DeterminismTests).
import Foundation
import LLMEval
import LLMFormats
import LLMModels
import TestSupport
import XCTest

final class ChunkingTests: XCTestCase {
    static let model = Result { try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 2)) }

    func samples(_ model: LanguageModel) throws -> [[Int]] {
        let docs = try TextCorpus.documents(at: TestPaths.fixture("data/c4_demo.json").path)
        let ids = model.tokenizer.encode(docs.joined(separator: "\n\n"), addSpecialTokens: false)
        return (0..<8).map { Array(ids[($0 * 64)..<($0 * 64 + 64)]) }
    }

    func testPerplexityOfOneCallEqualsEightCalls() throws {
        let model = try Self.model.get()
        let windows = try samples(model)
        let one = try PerplexityEvaluator(model: model, context: 64, rowsPerBatch: 512).evaluate(windows: windows)
        var calls = 0
        let many = try PerplexityEvaluator(model: model, context: 64, rowsPerBatch: 64).evaluate(windows: windows) { _, _ in calls += 1 }
        XCTAssertEqual(calls, 8)
        // Measured: mean NLL 3.65174657 vs 3.65174648 (2.5e-8 relative), perplexity 38.541923 vs 38.541920.
        print("perplexity, one call vs 8: \(one.perplexity) vs \(many.perplexity)")
        XCTAssertEqual(one.meanNLL, many.meanNLL, accuracy: 1e-6 * one.meanNLL)
        XCTAssertEqual(one.perplexity, many.perplexity, accuracy: 1e-6 * one.perplexity)
        XCTAssertEqual(one.stderr, many.stderr, accuracy: 1e-4 * one.stderr)
    }

    func testTaskLoglikelihoodsOfOneCallEqualSmallCalls() throws {
        let model = try Self.model.get()
        let file = try TaskFile(path: TestPaths.fixture("data/winogrande/mc.jsonl").path, strict: true, limit: 6)
        let requests = try TaskEvaluator(model: model).tokenize(file.items.flatMap { $0.requests() })
        var calls = 0
        let one = try TaskEvaluator(model: model, rowsPerBatch: 4096).loglikelihoods(requests) { _ in calls += 1 }
        XCTAssertEqual(calls, 1)
        calls = 0
        let small = try TaskEvaluator(model: model, rowsPerBatch: 40).loglikelihoods(requests) { _ in calls += 1 }
        XCTAssertGreaterThan(calls, 4)
        let worst = zip(one, small).map { abs($0.value - $1.value) }.max()!
        print("task log-likelihoods, one call vs \(calls): largest difference \(worst)")
        XCTAssertLessThan(worst, 1e-4)   // measured 1.6e-5 (of log-likelihoods around −10)
        XCTAssertEqual(one.map(\.isGreedy), small.map(\.isGreedy))
    }
}
