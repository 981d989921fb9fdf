// `llm-drop sweep` as a user meets it: every grid point equals what separate `drop` and `kld` runs
// give for the same settings, a rerun resumes, bad input is one sentence before any work, and
// `run --report out.html` writes the same report for its one plan.
import Foundation
import TestSupport
import XCTest

final class SweepCLITests: CLITestCase {
    func tinyModel(layers: Int = 4) throws -> String {
        var tiny = TinyModel()
        tiny.layers = layers
        return try tiny.write(to: dir)
    }

    let calibration = ["--calibration", "self", "--samples", "3", "--seq-len", "12", "--seed", "4"]
    let heldOut = ["--data", "self", "--context", "16", "--max-windows", "3", "--seed", "77"]

    /// For every metric, target and count, the sweep's plan is `drop`'s plan and its divergence is
    /// `kld`'s, to the last digit.
    func testGridEqualsSeparateDropAndKLDRuns() throws {
        let model = try tinyModel()
        let state = dir.appendingPathComponent("sweep.json").path
        let r = try run(["sweep", model, "--targets", "attention,mlp,block,joint", "--counts", "0:2", "--metric", "all", "--threads", "1",
                         "--report", dir.appendingPathComponent("r.html").path, "--json", state, "--csv", dir.appendingPathComponent("r.csv").path]
                        + calibration + ["--data-seed", "77", "--context", "16", "--max-windows", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let sweep = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state))) as? [String: Any])
        XCTAssertEqual(sweep["complete"] as? Bool, true)
        let points = try XCTUnwrap(sweep["points"] as? [[String: Any]])
        XCTAssertEqual(points.count, 4 * 4 * 3)
        for p in points where (p["count"] as! Int) > 0 {
            let metric = p["metric"] as! String, target = p["target"] as! String, count = p["count"] as! Int
            let planPath = dir.appendingPathComponent("plan-\(metric)-\(target)-\(count).json").path
            let d = try json(run(["drop", model, "--target", target, "--count", "\(count)", "--metric", metric, "--threads", "1",
                                  "--plan-out", planPath, "--json"] + calibration))
            for key in ["dropped_attention", "dropped_mlp", "dropped_blocks"] {
                XCTAssertEqual(d[key] as? [Int], p[key] as? [Int], "\(metric) \(target) \(count): \(key)")
            }
            let k = try json(run(["kld", model, "--drop-plan", planPath, "--threads", "1", "--json"] + heldOut))
            let divergence = try XCTUnwrap(p["divergence"] as? [String: Any])
            for key in ["mean_kl", "kl_stderr", "top1_agreement", "perplexity_original", "perplexity_dropped", "perplexity_ratio", "tokens", "windows"] {
                XCTAssertEqual((k[key] as? NSNumber)?.doubleValue, (divergence[key] as? NSNumber)?.doubleValue, "\(metric) \(target) \(count): \(key)")
            }
        }
        let csv = try String(contentsOf: dir.appendingPathComponent("r.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 1 + points.count)

        // Running it again resumes: nothing is measured twice.
        let again = try run(["sweep", model, "--targets", "attention,mlp,block,joint", "--counts", "0:2", "--metric", "all", "--threads", "1",
                             "--report", dir.appendingPathComponent("r.html").path, "--json", state]
                            + calibration + ["--data-seed", "77", "--context", "16", "--max-windows", "3"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("resuming"), again.stderr)
        XCTAssertFalse(again.stderr.contains("calibration:"), "no scoring on resume: \(again.stderr)")
        XCTAssertFalse(again.stderr.contains(" s)  elapsed"), "a point was measured again: \(again.stderr)")
    }

    func assertFailsEarly(_ args: [String], mentioning phrase: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let started = Date()
        let r = try assertFails(args, mentioning: phrase, file: file, line: line)
        XCTAssertFalse(r.stderr.contains("loaded ") || r.stderr.contains("calibration:"), "work started before the error: \(r.stderr)", file: file, line: line)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, file: file, line: line)
    }

    func testBadInputIsOneSentenceBeforeAnyWork() throws {
        let model = try tinyModel()
        let report = dir.appendingPathComponent("r.html").path
        try assertFailsEarly(["sweep", model, "--counts", "0:4", "--report", report],
                        mentioning: "--counts goes up to 4, but the model has 4 attention modules left to drop and at least one must stay; use counts up to 3")
        try assertFailsEarly(["sweep", model, "--metric", "cosine,euclid", "--report", report], mentioning: "unknown metric 'euclid'; choose from cosine, angular, relative-norm, kl")
        try assertFailsEarly(["sweep", model, "--targets", "attention,heads", "--report", report], mentioning: "unknown target 'heads'; choose from attention, mlp, block, joint")
        try assertFailsEarly(["sweep", model, "--report", "/no/such/folder/r.html"], mentioning: "the folder '/no/such/folder' does not exist")
        try assertFailsEarly(["sweep", model, "--report", dir.path], mentioning: "is a folder")
        try assertFailsEarly(["sweep", model, "--counts", "0:x", "--report", report], mentioning: "is not start:end:step")
        try assertFailsEarly(["sweep", model, "--counts", "0:2", "--iterative", "--scores", "s.json", "--report", report], mentioning: "--iterative re-scores")
        try assertFailsEarly(["drop", model, "--target", "attention", "--count", "1", "--metric", "euclid", "--calibration", "self"], mentioning: "euclid")
        try assertFailsEarly(["run", model, "--report", "/no/such/folder/r.html"], mentioning: "does not exist")
        try assertFailsEarly(["sweep", model, "--needle", "--needle-depths", "0,140", "--report", report], mentioning: "outside 0–100")
        // A needle grid the model's tokenizer cannot fit is refused after loading, before any scoring.
        let short = try assertFails(["sweep", model, "--needle", "--needle-lengths", "50", "--report", report], mentioning: "length 50 is too short")
        XCTAssertFalse(short.stderr.contains("calibration:"), short.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: report))
    }

    /// `run --report out.html` writes the sweep report for its single plan; another suffix stays JSON.
    func testRunWritesHTMLReport() throws {
        let model = try tinyModel()
        let html = dir.appendingPathComponent("run.html").path
        let r = try run(["run", model, "--target", "attention", "--count", "1", "--threads", "1", "--context", "16", "--max-windows", "2",
                         "--prompt-tokens", "8", "--gen-tokens", "4", "--repetitions", "1", "--report", html] + calibration)
        XCTAssertEqual(r.status, 0, r.stderr)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(page.hasPrefix("<!doctype html>"))
        XCTAssertTrue(page.contains(#"data-series="attention""#))
        XCTAssertTrue(page.contains("Quality vs measured decode speed-up"))
        XCTAssertFalse(page.contains("://"))
        let jsonPath = dir.appendingPathComponent("run.json").path
        let j = try run(["run", model, "--target", "attention", "--count", "1", "--threads", "1", "--context", "16", "--max-windows", "2",
                         "--prompt-tokens", "8", "--gen-tokens", "4", "--repetitions", "1", "--report", jsonPath] + calibration)
        XCTAssertEqual(j.status, 0, j.stderr)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jsonPath))) as? [String: Any])
    }
}
