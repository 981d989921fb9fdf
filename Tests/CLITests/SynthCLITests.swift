// `llm-drop synth`: a tiny synthetic model written, marked synthetic in `inspect`, loadable by other
// commands; bad input (unknown shape, unsupported type, too large a tokenizer, a disk too small) refused with
// one sentence and no file left behind.
import Foundation
import LLMFormats
import TestSupport
import XCTest

final class SynthCLITests: CLITestCase {
    func testSynthWritesAModelThatInspectShowsAsSynthetic() throws {
        let path = dir.appendingPathComponent("tiny.gguf").path
        let written = try json(["synth", "--like", "tiny", "--type", "Q8_0", "--seed", "5", "--output", path, "--json", "--threads", "2"])
        XCTAssertEqual(written["like"] as? String, "tiny")
        XCTAssertEqual(written["parameters"] as? Int, try SyntheticShapes.named("tiny").parameterCount)
        XCTAssertEqual(written["bytes"] as? Int, try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)

        let info = try json(["inspect", path, "--json"])
        let synthetic = try XCTUnwrap(info["synthetic"] as? [String: Any])
        XCTAssertEqual(synthetic["like"] as? String, "tiny")
        XCTAssertEqual(synthetic["seed"] as? Int, 5)
        XCTAssertEqual(info["hidden_size"] as? Int, 64)
        XCTAssertEqual(info["vocab_size"] as? Int, 320)
        let text = try run(["inspect", path])
        XCTAssertTrue(text.stdout.contains("synthetic     yes"), text.stdout)

        // The same seed gives the same file.
        let again = dir.appendingPathComponent("again.gguf").path
        _ = try json(["synth", "--like", "tiny", "--type", "Q8_0", "--seed", "5", "--output", again, "--json", "--threads", "1"])
        XCTAssertEqual(FileManager.default.contents(atPath: path), FileManager.default.contents(atPath: again))

        // Other commands run it.
        let generated = try run(["generate", path, "--prompt", "abc", "--max-tokens", "3", "--threads", "1"])
        XCTAssertEqual(generated.status, 0, generated.stderr)

        // A real model is not synthetic.
        let real = try TinyModel().write(to: dir)
        XCTAssertTrue(try json(["inspect", real, "--json"])["synthetic"] is NSNull)
    }

    /// `--type Q4_K` writes Q4_K matrices (rows of whole 256-weight blocks; the rest F16) that `inspect` reports.
    func testSynthQ4_K() throws {
        let out = dir.appendingPathComponent("k.gguf").path
        _ = try json(["synth", "--like", "tiny", "--type", "Q4_K", "--output", out, "--json"])
        let g = try GGUFFile(path: out)
        XCTAssertEqual(g["general.file_type"]?.int, 14)
        // tiny's rows are 64 and 128 weights: no whole block, so every matrix falls back to F16.
        XCTAssertEqual(g.tensor(named: "blk.0.ffn_up.weight")?.type, .f16)
        XCTAssertTrue(try run(["inspect", out]).stdout.contains("synthetic"))
    }

    func testSynthBadInput() throws {
        let out = dir.appendingPathComponent("x.gguf").path
        try assertFails(["synth", "--like", "llama-5-3b", "--output", out], mentioning: "llama-2-7b, llama-2-13b, llama-2-70b")
        try assertFails(["synth", "--like", "tiny", "--type", "Q6_K", "--output", out], mentioning: "choose one of")
        // A tokenizer of 400 tokens does not fit the tiny vocabulary of 320.
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.tokens", .array(elementType: .string, (0..<400).map { .string("t\($0)") }))
        let donorPath = dir.appendingPathComponent("donor.gguf").path
        try w.write(to: donorPath)
        try assertFails(["synth", "--like", "tiny", "--tokenizer-from", donorPath, "--output", out], mentioning: "at most 320 tokens")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// Llama 2 70B in F32 is 257 GiB: refused before writing on any disk with less free space.
    func testSynthRefusesADiskTooSmall() throws {
        let out = dir.appendingPathComponent("huge.gguf").path
        guard try DiskSpace.available(forFileAt: out) < 276_000_000_000 else { throw XCTSkip("this disk could hold a 257 GiB file") }
        try assertFails(["synth", "--like", "llama-2-70b", "--type", "F32", "--output", out], mentioning: "free space")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "no file, no temporary")
    }
}
