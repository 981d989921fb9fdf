// The command line on Hugging Face checkpoint folders (Tests/Fixtures/hf): a folder (or its
// .safetensors file) is taken wherever a MODEL is, and a folder that is not a checkpoint gets one sentence.
import Foundation
import TestSupport
import XCTest

final class HFCLITests: CLITestCase {
    func fixture(_ family: String) throws -> String { try TestPaths.fixture("hf/\(family)/config.json").deletingLastPathComponent().path }

    func testInspectAFolderAndASafetensorsFile() throws {
        let gemma = try json(["inspect", fixture("gemma3"), "--json"])
        XCTAssertEqual(gemma["format"] as? String, "hf")
        XCTAssertEqual(gemma["architecture"] as? String, "gemma3")
        XCTAssertEqual(gemma["layers"] as? Int, 6)
        XCTAssertEqual((gemma["tokenizer"] as? [String: Any])?["kind"] as? String, "llama")
        let qwen3 = try json(["inspect", fixture("qwen3") + "/model.safetensors", "--json"])
        XCTAssertEqual(qwen3["architecture"] as? String, "qwen3")
        let text = try run(["inspect", fixture("qwen2")])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("Hugging Face checkpoint (Qwen2ForCausalLM, safetensors)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("BF16"), text.stdout)
    }

    /// score → drop → pruned GGUF from an HF folder: the GGUF runs like the folder with the plan applied.
    func testScoreAndDropAFolder() throws {
        let model = try fixture("mistral")
        let calibration = try TestPaths.fixture("data/c4_demo.json").path
        let s = try json(["score", model, "--calibration", calibration, "--samples", "2", "--seq-len", "24", "--threads", "2", "--json"])
        XCTAssertEqual((s["attention"] as? [Any])?.count, 3)
        XCTAssertEqual(s["tokens"] as? Int, 48)
        let out = dir.appendingPathComponent("pruned.gguf").path
        let plan = dir.appendingPathComponent("plan.json").path
        let d = try json(["drop", model, "--target", "attention", "--count", "1", "--calibration", calibration, "--samples", "2",
                          "--seq-len", "24", "--output", out, "--plan-out", plan, "--threads", "2", "--json"])
        XCTAssertEqual((d["dropped_attention"] as? [Int])?.count, 1)
        let a = try json(["generate", out, "--prompt", "The quick brown fox", "--max-tokens", "0", "--top-logits", "5", "--json"])
        let b = try json(["generate", model, "--drop-plan", plan, "--prompt", "The quick brown fox", "--max-tokens", "0", "--top-logits", "5", "--json"])
        XCTAssertEqual(a["top_logits"] as? [[String: Double]], b["top_logits"] as? [[String: Double]])
        let ids = try run(["tokenize", model, "The quick brown fox", "--json"])
        XCTAssertEqual(ids.status, 0, ids.stderr)
    }

    func testAFolderThatIsNotACheckpoint() throws {
        let r = try run(["inspect", dir.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("without config.json"), r.stderr)
        let copy = dir.appendingPathComponent("llama")
        try FileManager.default.copyItem(atPath: try fixture("llama"), toPath: copy.path)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("model.safetensors"))
        let w = try run(["score", copy.path, "--calibration", "self"])
        XCTAssertNotEqual(w.status, 0)
        XCTAssertTrue(w.stderr.contains("no *.safetensors"), w.stderr)
        XCTAssertFalse(w.stderr.contains("Fatal error"), w.stderr)
    }
}
