// The `llm-drop` command as a user meets it: JSON contracts of each subcommand, and bad input that
// must end in one clear sentence and a non-zero exit code, never a crash.
import Foundation
import LLMFormats
import TestSupport
import XCTest

final class CLITests: CLITestCase {
    func testBadInputGivesOneClearSentence() throws {
        let model = try TestPaths.smollm2()
        let notGGUF = dir.appendingPathComponent("notes.txt")
        try Data("just text".utf8).write(to: notGGUF)
        let truncated = dir.appendingPathComponent("truncated.gguf")
        try FileHandle(forReadingFrom: URL(fileURLWithPath: model)).readData(ofLength: 3_000_000).write(to: truncated)
        try assertFails(["inspect", "/no/such/model.gguf"], mentioning: "does not exist")
        try assertFails(["inspect", dir.path], mentioning: "is a directory")
        try assertFails(["inspect", notGGUF.path], mentioning: "not a GGUF file")
        try assertFails(["generate", truncated.path, "--prompt", "hi"], mentioning: "truncated")
        try assertFails(["generate", model, "--prompt", "hi", "--threads", "0"], mentioning: "--threads must be at least 1")
        try assertFails(["generate", model, "--prompt", String(repeating: "word ", count: 9000)], mentioning: "exceed the model's context length")
        try assertFails(["perplexity", model, "--data", "/no/such.txt"], mentioning: "does not exist")
        try assertFails(["drop", model, "--target", "attention", "--count", "0", "--calibration", "self"], mentioning: "--count must be at least 1")
        try assertFails(["drop", model, "--target", "attention", "--count", "30", "--calibration", "self"], mentioning: "between 1 and 29")
        try assertFails(["drop", model, "--target", "attention", "--count", "2", "--calibration", "self", "--output", model], mentioning: "is the input model")
        try assertFails(["drop", model, "--target", "attention", "--count", "2", "--calibration", "self", "--output", "/no/such/dir/out.gguf"], mentioning: "does not exist")
        let emptyText = dir.appendingPathComponent("empty.txt")
        try Data().write(to: emptyText)
        try assertFails(["score", model, "--calibration", emptyText.path], mentioning: "contains no text")
        let plan = dir.appendingPathComponent("plan.json")
        try Data(#"{"dropped_attention": [31], "dropped_mlp": [], "dropped_blocks": [], "target": "attention", "method": "one-shot", "layers": 30}"#.utf8).write(to: plan)
        try assertFails(["generate", model, "--prompt", "hi", "--drop-plan", plan.path], mentioning: "out of range")
    }

    func testUnsupportedArchitecture() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("falcon"))
        let path = dir.appendingPathComponent("falcon.gguf").path
        try w.write(to: path)
        try assertFails(["inspect", path], mentioning: "architecture 'falcon' is not supported")
    }

    func testJSONContracts() throws {
        let model = try TestPaths.smollm2()
        let tok = try json(run(["tokenize", model, "The capital of France is", "--json"]))
        XCTAssertEqual(tok["ids"] as? [Int], [504, 3575, 282, 4649, 314])

        let gen = try json(run(["generate", model, "--prompt", "The capital of France is", "--max-tokens", "0", "--top-logits", "3", "--json"]))
        XCTAssertEqual(gen["prompt_ids"] as? [Int], [504, 3575, 282, 4649, 314])
        XCTAssertEqual(gen["text"] as? String, "")
        let top = try XCTUnwrap(gen["top_logits"] as? [[String: Any]])
        XCTAssertEqual(top.map { $0["id"] as? Int }, [7042, 260, 4528])
        XCTAssertEqual(try XCTUnwrap(top[0]["logit"] as? Double), 17.3713, accuracy: 0.01)

        let text = dir.appendingPathComponent("text.jsonl")
        try Data((0..<20).map { #"{"text": "Document \#($0): the keepers trimmed the wicks each night and logged every passing ship."}"# }.joined(separator: "\n").utf8).write(to: text)
        let ppl = try json(run(["perplexity", model, "--data", text.path, "--context", "64", "--json"]))
        for key in ["perplexity", "stderr", "windows", "tokens", "tokens_per_second"] { XCTAssertNotNil(ppl[key], key) }
        XCTAssertEqual(ppl["tokens"] as? Int, (ppl["windows"] as! Int) * 63)

        let inspect = try json(run(["inspect", model, "--json"]))
        XCTAssertEqual(inspect["architecture"] as? String, "llama")
        XCTAssertEqual(inspect["layers"] as? Int, 30)
        XCTAssertEqual(inspect["kv_cache_bytes_per_token"] as? Int, 30 * 2 * 3 * 64 * 4)
        XCTAssertEqual((inspect["tensors"] as? [Any])?.count, 272)
    }

    /// score → drop --scores → pruned GGUF → inspect: the whole method through the command line.
    func testScoreDropInspect() throws {
        let model = try TestPaths.smollm2()
        let calibration = try TestPaths.fixture("data/c4_demo.json").path
        let scores = dir.appendingPathComponent("scores.json").path
        let s = try json(run(["score", model, "--calibration", calibration, "--samples", "4", "--seq-len", "64", "--output", scores, "--json"]))
        XCTAssertEqual((s["attention"] as? [Any])?.count, 30)
        XCTAssertEqual(s["tokens"] as? Int, 256)
        XCTAssertEqual(s["sampling"] as? String, "blocks")
        let out = dir.appendingPathComponent("pruned.gguf").path
        let planOut = dir.appendingPathComponent("plan.json").path
        let d = try json(run(["drop", model, "--target", "attention", "--count", "3", "--scores", scores, "--output", out, "--plan-out", planOut, "--json"]))
        let dropped = try XCTUnwrap(d["dropped_attention"] as? [Int])
        XCTAssertEqual(dropped.count, 3)
        let inspect = try json(run(["inspect", out, "--json"]))
        XCTAssertEqual(inspect["architecture"] as? String, "deci")
        XCTAssertEqual(inspect["dropped_attention"] as? [Int], dropped)
        XCTAssertEqual(inspect["kv_cache_bytes_per_token"] as? Int, 27 * 2 * 3 * 64 * 4)
        // The saved plan applies at load and gives the pruned file's logits exactly.
        let a = try json(run(["generate", out, "--prompt", "The capital of France is", "--max-tokens", "0", "--top-logits", "5", "--json"]))
        let b = try json(run(["generate", model, "--drop-plan", planOut, "--prompt", "The capital of France is", "--max-tokens", "0", "--top-logits", "5", "--json"]))
        XCTAssertEqual(a["top_logits"] as? [[String: Double]], b["top_logits"] as? [[String: Double]])
    }

    /// The bench JSON contract, on a tiny model: interleaved original and dropped runs, and their ratios.
    func testBenchJSONSchema() throws {
        let model = try TinyModel().write(to: dir)
        let plan = dir.appendingPathComponent("plan.json")
        try Data(#"{"dropped_attention": [1, 2], "dropped_mlp": [], "dropped_blocks": [], "target": "attention", "method": "one-shot", "layers": 4}"#.utf8).write(to: plan)
        let j = try json(run(["bench", model, "--drop-plan", plan.path, "--baseline", "--prompt-tokens", "8,16",
                              "--gen-tokens", "4", "--repetitions", "1", "--threads", "1", "--json"]))
        let runs = try XCTUnwrap(j["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 4)
        XCTAssertEqual(runs.map { $0["plan"] as? String }, [nil, nil, plan.path, plan.path])
        XCTAssertEqual(runs.map { $0["prompt_tokens"] as? Int }, [8, 16, 8, 16])
        for r in runs {
            for key in ["model", "prompt_tokens", "prefill_tokens_per_second", "kv_cache_bytes", "peak_rss_bytes"] { XCTAssertNotNil(r[key], key) }
            XCTAssertGreaterThan(r["prefill_tokens_per_second"] as? Double ?? 0, 0)
        }
        XCTAssertGreaterThan(runs[0]["decode_tokens_per_second"] as? Double ?? 0, 0)
        XCTAssertNil(runs[1]["decode_tokens_per_second"])
        // KV cache after 8 + 4 tokens: 2 × attention layers × KV heads (2) × head dim (4) × 4 bytes × tokens.
        XCTAssertEqual(runs[0]["kv_cache_bytes"] as? Int, 2 * 4 * 2 * 4 * 4 * 12)
        XCTAssertEqual(runs[2]["kv_cache_bytes"] as? Int, 2 * 2 * 2 * 4 * 4 * 12)
        let speedup = try XCTUnwrap(j["speedup"] as? [String: Double])
        XCTAssertEqual(Set(speedup.keys), ["prefill_8", "prefill_16", "decode", "kv_cache_saving"])
        XCTAssertEqual(try XCTUnwrap(speedup["kv_cache_saving"]), 0.5, accuracy: 1e-12)
        // The limits of this machine, measured in the run, and each run's rate against them. Per token the
        // tiny model multiplies through 4 layers × (Q 16×16 + K, V 16×8 + O 16×16 + gate, up, down 16×32)
        // = 9216 weights and the tied 258 × 16 head, all F32; the dropped model skips 2 × 768 of them.
        XCTAssertTrue(["avx512vnni", "avx512", "avx2", "sse2", "neon", "generic"].contains(j["kernels"] as? String ?? ""), "\(j["kernels"] ?? "nil")")
        let limits = try XCTUnwrap(j["limits"] as? [String: Any])
        XCTAssertEqual(limits["kernels"] as? String, j["kernels"] as? String)
        XCTAssertEqual(limits["decode_weight_bytes"] as? Int, 4 * 13_344)
        XCTAssertEqual(limits["matrix_flops_per_token"] as? Int, 2 * 13_344)
        XCTAssertGreaterThan(limits["read_gb_per_second"] as? Double ?? 0, 0)
        // SGEMM at each prompt length: [prompt × hidden] · [hidden × MLP width].
        let sgemm = try XCTUnwrap(limits["sgemm"] as? [[String: Any]])
        XCTAssertEqual(sgemm.map { $0["shape"] as? [Int] }, [[8, 16, 32], [16, 16, 32]])
        let sgemmRates = sgemm.map { $0["gflop_per_second"] as? Double ?? 0 }
        XCTAssertTrue(sgemmRates.allSatisfy { $0 > 0 }, "\(sgemmRates)")
        let rates = try XCTUnwrap(j["rates"] as? [[String: Double]])
        XCTAssertEqual(rates.count, 4)
        for (r, rate) in zip(runs, rates) {
            let prefill = try XCTUnwrap(r["prefill_tokens_per_second"] as? Double)
            // Every layer for each prompt token, the head once, and attention: per layer 4 heads of 4
            // dimensions, q·k and p·v, query i over keys 0…i (no sliding window): 2·4·4·n(n + 1)/2.
            let n = Double(try XCTUnwrap(r["prompt_tokens"] as? Int))
            let attention = Double(r["plan"] == nil ? 4 : 2) * 16 * n * (n + 1)
            let flops = 2 * (Double(r["plan"] == nil ? 9216 : 7680) * n + attention + 4128)
            let gflops = try XCTUnwrap(rate["prefill_gflop_per_second"])
            XCTAssertEqual(gflops, flops * prefill / n / 1e9, accuracy: 1e-9)
            XCTAssertEqual(try XCTUnwrap(rate["prefill_of_sgemm"]), gflops / sgemmRates[n == 8 ? 0 : 1], accuracy: 1e-9)
        }
        let decode = try XCTUnwrap(runs[2]["decode_tokens_per_second"] as? Double)
        XCTAssertEqual(try XCTUnwrap(rates[2]["decode_read_gb_per_second"]), 4 * 11_808 * decode / 1e9, accuracy: 1e-9)
        XCTAssertNil(rates[1]["decode_read_gb_per_second"])
    }
}
