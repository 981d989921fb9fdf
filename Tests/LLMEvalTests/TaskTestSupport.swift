// Shared by the task-evaluation tests: the real model loaded once, and a naive scorer that runs one
// request at a time through `model.forward([context + continuation])` and computes log-softmax in
// Float64 by hand, independently of TaskEvaluator's batching, truncation and kernels.
import Foundation
import LLMEval
import LLMModels
import TestSupport
import XCTest

enum TaskTestModel {
    static let model = Result { try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 2)) }

    static func load() throws -> LanguageModel { try model.get() }

    /// The first `count` items of a task file in Tests/Fixtures/data.
    static func items(_ relative: String, count: Int) throws -> [TaskItem] {
        let file = try TaskFile(path: TestPaths.fixture(relative).path, strict: true, limit: count)
        XCTAssertEqual(file.items.count, count)
        return file.items
    }
}

struct NaiveScore {
    var logLikelihood: Double
    var isGreedy: Bool
}

/// log P(continuation | context) for one request, tokenized as lm-eval's `_encode_pair` (the shared
/// files' contexts end without whitespace, so no whitespace moves), one sequence per forward call.
func naiveScore(_ model: LanguageModel, context: String, continuation: String) throws -> NaiveScore {
    let tok = model.tokenizer
    let ctx = tok.encode(context, addSpecialTokens: true)
    let whole = tok.encode(context + continuation, addSpecialTokens: true)
    let cont = Array(whole[ctx.count...])
    precondition(!cont.isEmpty && ctx.count + cont.count <= model.config.contextLength)
    let logits = try model.forward([ctx + cont], logits: .all)
    var sum = 0.0
    var greedy = true
    for (j, t) in cont.enumerated() {
        let row = logits.row(ctx.count - 1 + j).map(Double.init)
        let m = row.max()!
        let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
        sum += row[t] - lse
        greedy = greedy && row.firstIndex(of: m)! == t
    }
    return NaiveScore(logLikelihood: sum, isGreedy: greedy)
}

/// Index of the first maximum (numpy.argmax), written out again for the tests.
func firstArgmax(_ xs: [Double]) -> Int {
    var best = 0
    for i in xs.indices where xs[i] > xs[best] { best = i }
    return best
}
