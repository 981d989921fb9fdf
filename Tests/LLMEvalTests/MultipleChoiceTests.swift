// The multiple-choice rule on synthetic numbers (acc vs acc_norm, ties, lengths, standard error), the
// lm-eval continuation split with the real SmolLM2 tokenizer, and the batched evaluator against a naive
// one-sequence-at-a-time computation on the first 20 PIQA items.
import Foundation
import LLMEval
import LLMModels
import TestSupport
import XCTest

final class MultipleChoiceTests: XCTestCase {
    // MARK: the rule, on numbers

    func testAccAndAccNormDisagree() throws {
        // A: −4 over 2 → −2 per unit; B: −6 over 6 → −1 per unit. acc picks A, acc_norm picks B.
        let p = try XCTUnwrap(MultipleChoiceScoring.predictions(logLikelihoods: [-4, -6], lengths: [2, 6]))
        XCTAssertEqual(p.acc, 0)
        XCTAssertEqual(p.accNorm, 1)
    }

    func testTiesGoToTheLowestIndex() throws {
        XCTAssertEqual(MultipleChoiceScoring.argmax([-3, -1, -1, -2]), 1)
        XCTAssertEqual(MultipleChoiceScoring.argmax([-5]), 0)
        XCTAssertNil(MultipleChoiceScoring.argmax([]))
        // −2/2 = −4/4: both rules tie between 0 and 1 (acc: −2 > −4 → 0; norm: tie → 0).
        let p = try XCTUnwrap(MultipleChoiceScoring.predictions(logLikelihoods: [-2, -4, -9], lengths: [2, 4, 3]))
        XCTAssertEqual(p.acc, 0)
        XCTAssertEqual(p.accNorm, 0)
        XCTAssertNil(MultipleChoiceScoring.predictions(logLikelihoods: [-1, -2], lengths: [1]))
    }

    func testNormalizationLength() {
        // lm-eval divides by Python len() of the choice without the target delimiter " ".
        XCTAssertEqual(MultipleChoiceScoring.length(of: " abc"), 3)
        XCTAssertEqual(MultipleChoiceScoring.length(of: "abc"), 3)
        XCTAssertEqual(MultipleChoiceScoring.length(of: " 90°C"), 4)           // ° is one scalar
        XCTAssertEqual(MultipleChoiceScoring.length(of: " 90°C", .utf8Bytes), 6) // and two bytes
        XCTAssertEqual(MultipleChoiceScoring.length(of: " "), 1)               // never zero
    }

    func testStandardError() throws {
        XCTAssertEqual(try XCTUnwrap(MultipleChoiceScoring.standardError(accuracy: 0.7, n: 20)),
                       (0.7 * 0.3 / 19).squareRoot(), accuracy: 1e-15)
        XCTAssertNil(MultipleChoiceScoring.standardError(accuracy: 1, n: 1))
    }

    // MARK: the continuation split, with the real tokenizer

    func testContextTrailingSpaceMovesToTheContinuation() throws {
        let tok = try TaskTestModel.load().tokenizer
        let r = try TokenizedRequest(LoglikelihoodRequest(context: "Answer: ", continuation: "yes"), tokenizer: tok)
        XCTAssertEqual(r.context, tok.encode("Answer:", addSpecialTokens: true))
        XCTAssertEqual(r.continuation, tok.encode(" yes", addSpecialTokens: false))
        XCTAssertEqual(r.context + r.continuation, tok.encode("Answer: yes", addSpecialTokens: true))
        // Newlines are whitespace too (Python rstrip()).
        let n = try TokenizedRequest(LoglikelihoodRequest(context: "Q\n\n", continuation: "A"), tokenizer: tok)
        XCTAssertEqual(n.context, tok.encode("Q", addSpecialTokens: true))
        XCTAssertEqual(n.context + n.continuation, tok.encode("Q\n\nA", addSpecialTokens: true))
    }

    func testTokenMergingAcrossTheBoundaryStaysInTheWholeEncoding() throws {
        let tok = try TaskTestModel.load().tokenizer
        // "The cat" | "s sat": the whole string encodes as [The, cats, sat], so the context's own
        // encoding [The, cat] is 2 tokens and the continuation is whole[2...] = [" sat"] — lm-eval's rule.
        let ctx = tok.encode("The cat", addSpecialTokens: true)
        let whole = tok.encode("The cats sat", addSpecialTokens: true)
        XCTAssertEqual(ctx.count, whole.count - 1)
        XCTAssertNotEqual(Array(whole.prefix(ctx.count)), ctx, "expected 'cats' to merge across the boundary")
        let r = try TokenizedRequest(LoglikelihoodRequest(context: "The cat", continuation: "s sat"), tokenizer: tok)
        XCTAssertEqual(r.context, ctx)
        XCTAssertEqual(r.continuation, Array(whole[ctx.count...]))
        XCTAssertEqual(tok.decode(r.continuation, special: false), " sat")
    }

    func testEmptyContextConditionsOnThePrefixToken() throws {
        let tok = try TaskTestModel.load().tokenizer
        let r = try TokenizedRequest(LoglikelihoodRequest(context: "", continuation: " hello"), tokenizer: tok)
        XCTAssertEqual(r.context, [try XCTUnwrap(tok.bosID ?? tok.eosID)])
        XCTAssertEqual(r.continuation, tok.encode(" hello", addSpecialTokens: false))
    }

    // MARK: the batched evaluator against the naive computation

    func testFirst20PIQAItemsMatchNaiveScoring() throws {
        let model = try TaskTestModel.load()
        let items = try TaskTestModel.items("data/piqa/mc.jsonl", count: 20)
        let evaluation = try TaskEvaluator(model: model).evaluate(items, task: "piqa")
        var acc = 0, accNorm = 0
        for (item, score) in zip(items, evaluation.items) {
            guard case .multipleChoice(let context, let choices, let gold) = item.body else { return XCTFail("not mc") }
            let naive = try choices.map { try naiveScore(model, context: context, continuation: $0).logLikelihood }
            for (a, b) in zip(score.logLikelihoods.map(\.value), naive) {
                XCTAssertEqual(a, b, accuracy: 1e-3, "item \(item.id)")
            }
            let lengths = choices.map { String($0.dropFirst()).unicodeScalars.count }
            XCTAssertEqual(score.lengths, lengths)
            let pred = firstArgmax(naive)
            let predNorm = firstArgmax(zip(naive, lengths).map { $0 / Double($1) })
            XCTAssertEqual(score.prediction, pred, "item \(item.id)")
            XCTAssertEqual(score.predictionNorm, predNorm, "item \(item.id)")
            acc += pred == gold ? 1 : 0
            accNorm += predNorm == gold ? 1 : 0
        }
        let r = evaluation.result
        XCTAssertEqual(r.n, 20)
        XCTAssertEqual(r.acc, Double(acc) / 20)
        XCTAssertEqual(try XCTUnwrap(r.accNorm), Double(accNorm) / 20)
        XCTAssertEqual(r.truncated, 0)
        print("piqa first 20: acc \(r.acc) acc_norm \(r.accNorm ?? .nan)")
    }
}
