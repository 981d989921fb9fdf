// `llm-drop needle` and `run --needle` as a user meets them: bad input ends in one clear sentence and a
// non-zero exit before any work; the JSON has every trial; --report writes one self-contained HTML file.
import Foundation
import TestSupport
import XCTest

final class NeedleCLITests: CLITestCase {
    /// A failure before any work: non-zero exit, a sentence containing `phrase`, no crash, no trial run.
    func assertFailsEarly(_ args: [String], mentioning phrase: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try assertFails(args, mentioning: phrase, file: file, line: line)
        XCTAssertFalse(r.stderr.contains("needle original ["), "work started before the error: \(r.stderr)", file: file, line: line)
    }

    func testBadInput() throws {
        let model = try TinyModel().write(to: dir)   // context 256
        let short = dir.appendingPathComponent("short.txt")
        try Data("Only a few words here. Then one more sentence.".utf8).write(to: short)
        try assertFailsEarly(["needle", model, "--lengths", "128,300"], mentioning: "length 300 exceeds the model's context length of 256")
        try assertFailsEarly(["needle", model, "--lengths", "128", "--depths", "0,120"], mentioning: "needle depth 120 is outside 0–100")
        try assertFailsEarly(["needle", model, "--lengths", "128", "--depths=-10"], mentioning: "outside 0–100")
        try assertFailsEarly(["needle", model, "--lengths", "200", "--haystack", short.path, "--needle", "The code is 42.", "--question", "The code is", "--answer", "42"],
                        mentioning: "too short for length 200")
        try assertFailsEarly(["needle", model, "--lengths", "128", "--needle", "The code is 42.", "--question", "The code is", "--answer", "43"],
                        mentioning: "the answer '43' does not occur in the needle")
        try assertFailsEarly(["needle", model, "--lengths", "128", "--needle", "The code is 42."], mentioning: "--needle, --question and --answer go together")
        try assertFailsEarly(["needle", model, "--lengths", "1k"], mentioning: "--lengths must be numbers separated by commas")
        try assertFailsEarly(["needle", model, "--lengths", "128", "--trials", "0"], mentioning: "--trials must be at least 1")
        try assertFailsEarly(["needle", model, "--lengths", "128", "--baseline"], mentioning: "--baseline compares with a dropped model")
        try assertFailsEarly(["needle", model, "--lengths", "128", "--haystack", "/no/such/file.txt"], mentioning: "haystack file '/no/such/file.txt' does not exist")
        try assertFailsEarly(["needle", model, "--lengths", "128", "--report", "/no/such/dir/r.html"], mentioning: "does not exist")
        try assertFailsEarly(["needle", model, "--lengths", "20"], mentioning: "too short for the instruction, needle, question and answer")
        try assertFailsEarly(["run", model, "--needle-report", dir.appendingPathComponent("n.html").path], mentioning: "--needle-report needs --needle")
        try assertFailsEarly(["run", model, "--needle", "--needle-depths", "150"], mentioning: "outside 0–100")
    }

    /// Original and dropped side by side from one load: every trial in the JSON, the HTML report written.
    func testJSONAndReport() throws {
        let model = try TinyModel().write(to: dir)
        let plan = dir.appendingPathComponent("plan.json")
        try Data(#"{"dropped_attention": [1, 2], "dropped_mlp": [], "dropped_blocks": [], "target": "attention", "method": "one-shot", "layers": 4}"#.utf8).write(to: plan)
        let report = dir.appendingPathComponent("needle.html")
        let j = try json(run(["needle", model, "--drop-plan", plan.path, "--baseline", "--lengths", "100,200", "--depths", "0,50,100",
                              "--trials", "2", "--needle", "The code is 42.", "--question", "The code is", "--answer", "42",
                              "--threads", "1", "--json", "--report", report.path]))
        XCTAssertEqual(j["drop_plan"] as? String, plan.path)
        for name in ["original", "dropped"] {
            let r = try XCTUnwrap(j[name] as? [String: Any], name)
            for key in ["accuracy", "correct", "total", "cells", "trials", "grid", "test", "seconds", "skipped_lengths"] { XCTAssertNotNil(r[key], "\(name).\(key)") }
            let trials = try XCTUnwrap(r["trials"] as? [[String: Any]])
            XCTAssertEqual(trials.count, 12)
            for t in trials {
                for key in ["length", "depth", "actual_depth", "trial", "answer", "prediction", "continuation", "correct", "prompt_tokens", "needle_position",
                            "prefill_seconds"] { XCTAssertNotNil(t[key], "\(name) trial \(key)") }
                XCTAssertEqual(t["answer"] as? String, "42")
                XCTAssertLessThanOrEqual(t["prompt_tokens"] as! Int, t["length"] as! Int)
            }
            XCTAssertEqual((r["cells"] as? [Any])?.count, 6)
        }
        let html = try String(contentsOf: report, encoding: .utf8)
        XCTAssertTrue(html.contains("<svg") && html.contains("</html>"))
        XCTAssertFalse(html.contains("<script"))

        // Text output: a grid per model and the comparison.
        let text = try run(["needle", model, "--drop-plan", plan.path, "--baseline", "--lengths", "100", "--depths", "50", "--trials", "1",
                            "--needle", "The code is 42.", "--question", "The code is", "--answer", "42", "--threads", "1"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("original: accuracy % by depth and length"), text.stdout)
        XCTAssertTrue(text.stdout.contains("dropped (\(plan.path))"), text.stdout)
        XCTAssertTrue(text.stdout.contains("needle accuracy"), text.stdout)
    }

    /// The real SmolLM2 finds its pass key through the command line.
    func testSmolLM2Passkey() throws {
        let model = try TestPaths.smollm2()
        let j = try json(run(["needle", model, "--lengths", "512", "--depths", "50", "--trials", "1", "--json"]))
        let r = try XCTUnwrap(j["original"] as? [String: Any])
        XCTAssertNil(j["dropped"])
        XCTAssertEqual(r["accuracy"] as? Double, 1)
    }

    /// `run --needle` adds both grids to run's JSON under "needle", keeping run's own keys; a length over
    /// the context is skipped there (run's defaults must work on any model).
    func testRunWithNeedle() throws {
        let model = try TestPaths.smollm2()
        let html = dir.appendingPathComponent("run-needle.html")
        let j = try json(run(["run", model, "--count", "2", "--calibration", "self", "--samples", "2", "--seq-len", "16", "--context", "16",
                              "--max-windows", "1", "--prompt-tokens", "8", "--gen-tokens", "2", "--repetitions", "1",
                              "--needle", "--needle-lengths", "256,9000", "--needle-depths", "50", "--needle-trials", "1",
                              "--needle-report", html.path, "--json"]))
        for key in ["plan", "divergence", "speed", "kv_cache_bytes_per_token"] { XCTAssertNotNil(j[key], key) }
        let needle = try XCTUnwrap(j["needle"] as? [String: Any])
        for name in ["original", "dropped"] {
            let r = try XCTUnwrap(needle[name] as? [String: Any], name)
            XCTAssertEqual(r["skipped_lengths"] as? [Int], [9000])
            XCTAssertEqual((r["trials"] as? [Any])?.count, 1)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: html.path))
    }
}
