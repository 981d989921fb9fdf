// `--activations int8` (opt-in 8-bit activations) end to end on SmolLM2: kld measures its cost against f32
// on one load, bench reports it; kld without a plan or int8, and an unknown precision, say what to pass.
import Foundation
import TestSupport
import XCTest

final class ActivationsCLITests: CLITestCase {
    func testKLDMeasuresInt8AgainstF32() throws {
        let model = try TestPaths.smollm2()
        let data = try TestPaths.fixture("data/c4_demo.json").path
        let window = ["--data", data, "--context", "64", "--max-windows", "4", "--threads", "2", "--json"]
        let k = try json(["kld", model, "--activations", "int8"] + window)
        // 8-bit activations change every logit a little (KL > 0), and only a little (llama.cpp's numerics:
        // 0.016 nats per token on 32 windows of 256 here).
        let kl = try XCTUnwrap(k["mean_kl"] as? Double)
        XCTAssertGreaterThan(kl, 1e-4)
        XCTAssertLessThan(kl, 0.1)
        XCTAssertGreaterThan(try XCTUnwrap(k["top1_agreement"] as? Double), 0.8)
        XCTAssertEqual(try XCTUnwrap(k["perplexity_ratio"] as? Double), 1, accuracy: 0.05)
        // The same command in f32 compares nothing: it names both ways to give it a candidate.
        try assertFails(["kld", model] + window, mentioning: "--activations int8")
    }

    func testBenchReportsTheActivations() throws {
        let model = try TestPaths.smollm2()
        let args = ["bench", model, "--prompt-tokens", "16", "--gen-tokens", "4", "--repetitions", "1", "--threads", "1", "--json"]
        let f32 = try json(args), int8 = try json(args + ["--activations", "int8"])
        XCTAssertEqual(f32["activations"] as? String, "f32")
        XCTAssertEqual(int8["activations"] as? String, "int8")
        XCTAssertGreaterThan((int8["runs"] as? [[String: Any]])?.first?["decode_tokens_per_second"] as? Double ?? 0, 0)
        try assertFails(args + ["--activations", "int4"], mentioning: "int4")
    }
}
