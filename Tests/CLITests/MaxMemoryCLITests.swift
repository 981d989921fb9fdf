// `--max-memory` on score, drop, perplexity, kld and eval: a budget that streams the weights and runs one
// sample per forward call gives the figures of the default budget (80 % of available memory, named in the
// log); a budget too small names the minimum.
import Foundation
import LLMFormats
import TestSupport
import XCTest

final class MaxMemoryCLITests: CLITestCase {
    func testBudgetedScoringMatchesAndTooSmallNamesTheMinimum() throws {
        let model = dir.appendingPathComponent("tiny.gguf").path
        try SyntheticModel(shape: SyntheticShapes.named("tiny"), type: .q8_0, seed: 4).write(to: model)
        let text = dir.appendingPathComponent("calibration.txt")
        try String(repeating: "Attention layers drop; memory stays flat while the model grows. ", count: 80).write(to: text, atomically: true, encoding: .utf8)
        let common = ["--calibration", text.path, "--samples", "6", "--seq-len", "64", "--threads", "2", "--json"]

        // The budget's minimum, from the error of a budget of 1 KiB.
        let tooSmall = try assertFails(["score", model, "--max-memory", "1K"] + common, mentioning: "the minimum for this model is")
        let minimum = try XCTUnwrap(tooSmall.stderr.range(of: #"\((\d+) bytes\)"#, options: .regularExpression).map {
            Int(tooSmall.stderr[$0].dropFirst().prefix { $0.isNumber })! })

        let plain = try json(["score", model] + common)
        let budgeted = try run(["score", model, "--max-memory", "\(minimum)"] + common)
        XCTAssertTrue(budgeted.stderr.contains("64 rows per pass"), budgeted.stderr)
        XCTAssertTrue(budgeted.stderr.contains("streamed layer by layer"), budgeted.stderr)
        let scored = try json(budgeted)
        for key in ["attention", "mlp", "block"] {
            let a = try XCTUnwrap(plain[key] as? [Double]), b = try XCTUnwrap(scored[key] as? [Double])
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6, key) }
        }

        // drop and perplexity take the budget too.
        let dropped = try json(["drop", model, "--target", "attention", "--count", "2", "--max-memory", "\(minimum)"] + common)
        let droppedPlain = try json(["drop", model, "--target", "attention", "--count", "2"] + common)
        XCTAssertEqual(dropped["dropped_attention"] as? [Int], droppedPlain["dropped_attention"] as? [Int])
        let ppl = try json(["perplexity", model, "--data", text.path, "--context", "64", "--max-windows", "4", "--max-memory", "1G", "--json"])
        let pplPlain = try json(["perplexity", model, "--data", text.path, "--context", "64", "--max-windows", "4", "--json"])
        XCTAssertEqual(try XCTUnwrap(ppl["perplexity"] as? Double), try XCTUnwrap(pplPlain["perplexity"] as? Double), accuracy: 1e-6)
        try assertFails(["score", model, "--max-memory", "lots"] + common, mentioning: "is not a byte count")

        // Iterative drop: with room beside the pass, re-scoring restarts from kept layer inputs; at the
        // minimum there is none, and every pass starts at the embeddings. Same choices.
        let iterative = ["drop", model, "--target", "attention", "--count", "2", "--iterative"] + common
        let roomy = try run(iterative + ["--max-memory", "1G"])
        XCTAssertTrue(roomy.stderr.contains("restarts at the removed layer from the kept inputs of layers 1–3 (96.00 KiB each)"), roomy.stderr)
        let tight = try run(iterative + ["--max-memory", "\(minimum)"])
        XCTAssertTrue(tight.stderr.contains("starts at the embeddings every time"), tight.stderr)
        XCTAssertEqual(try json(roomy)["dropped_attention"] as? [Int], try json(tight)["dropped_attention"] as? [Int])
        XCTAssertEqual((try json(roomy)["dropped_attention"] as? [Int])?.count, 2)

        // Without --max-memory the default budget is used and named.
        let defaulted = try run(["score", model] + common)
        XCTAssertTrue(defaulted.stderr.contains("(default: 80% of "), defaulted.stderr)

        // kld and eval take the budget too: the minimum runs one window (one item) per call.
        let plan = dir.appendingPathComponent("plan.json").path
        _ = try json(["drop", model, "--target", "attention", "--count", "1", "--plan-out", plan] + common)
        let kld = ["kld", model, "--drop-plan", plan, "--data", text.path, "--context", "64", "--max-windows", "4", "--threads", "2", "--json"]
        let kldTight = try run(kld + ["--max-memory", "\(try minimumBudget(kld))"])
        XCTAssertTrue(kldTight.stderr.contains("(--max-memory): 64 rows per pass"), kldTight.stderr)
        let (a, b) = (try json(kldTight), try json(kld))
        for key in ["mean_kl", "perplexity_original", "perplexity_dropped"] {
            XCTAssertEqual(try XCTUnwrap(a[key] as? Double), try XCTUnwrap(b[key] as? Double), accuracy: 1e-6, key)
        }
        XCTAssertEqual(a["top1_agreement"] as? Double, b["top1_agreement"] as? Double)
        let task = try TestPaths.fixture("data/winogrande/mc.jsonl").path
        let eval = ["eval", model, "--task", task, "--limit", "6", "--threads", "2", "--json"]
        let evalTight = try run(eval + ["--max-memory", "\(try minimumBudget(eval))"])
        XCTAssertTrue(evalTight.stderr.contains("weights streamed layer by layer"), evalTight.stderr)
        let (e1, e2) = (try json(evalTight), try json(eval))
        XCTAssertEqual(e1["acc"] as? Double, e2["acc"] as? Double)
        XCTAssertEqual(e1["n"] as? Int, 6)
    }

    /// A command's minimum budget (kld's counts logits; eval's items as long as the model's context), from its error.
    func minimumBudget(_ args: [String]) throws -> Int {
        let r = try assertFails(args + ["--max-memory", "1K"], mentioning: "the minimum for this model is")
        return try XCTUnwrap(r.stderr.range(of: #"\((\d+) bytes\)"#, options: .regularExpression).map {
            Int(r.stderr[$0].dropFirst().prefix { $0.isNumber })! })
    }
}
