// `llm-drop convert` and `drop --format hf` on the family fixtures (GGUFs from llama.cpp's converter) and
// the transformers fixtures (HF folders): converted models give the source's next-token logits; HF → GGUF
// in Q8_0 has the converter's types; pruned checkpoint folders give the logits of the plan applied at
// load; bad input is one sentence and a non-zero exit.
import Foundation
import LLMFormats
import TestSupport
import XCTest

final class ConvertCLITests: CLITestCase {
    func family(_ f: String) throws -> String { try TestPaths.fixture("families/\(f)/model.gguf").path }
    func hf(_ f: String) throws -> String { try TestPaths.fixture("hf/\(f)/config.json").deletingLastPathComponent().path }

    func topLogits(_ model: String, plan: String? = nil) throws -> [[String: Double]]? {
        let r = try json(["generate", model, "--prompt", "The quick brown fox jumps", "--max-tokens", "0", "--top-logits", "5",
                          "--threads", "2", "--json"] + (plan.map { ["--drop-plan", $0] } ?? []))
        return r["top_logits"] as? [[String: Double]]
    }

    func testGGUFToHFAndBack() throws {
        let src = try family("qwen2")
        let folder = dir.appendingPathComponent("qwen2-hf").path
        let a = try json(["convert", src, "--to", "hf", "--output", folder, "--json"])
        XCTAssertEqual(a["architecture"] as? String, "Qwen2ForCausalLM")
        XCTAssertEqual(a["layers"] as? Int, 4)
        for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/" + f), f)
        }
        XCTAssertEqual(try topLogits(folder), try topLogits(src))
        let back = dir.appendingPathComponent("back.gguf").path
        let b = try json(["convert", folder, "--to", "gguf", "--output", back, "--json"])
        XCTAssertEqual(b["runs_in_llama_cpp"] as? Bool, true)
        XCTAssertEqual(try topLogits(back), try topLogits(src))
        // Again over the earlier folder: replaced, in BF16.
        let c = try json(["convert", src, "--to", "hf", "--output", folder, "--type", "bf16", "--json"])
        XCTAssertEqual(c["type"] as? String, "BF16")
        let config = try XCTUnwrap(TestPaths.json(URL(fileURLWithPath: folder + "/config.json")) as? [String: Any])
        XCTAssertEqual(config["dtype"] as? String, "bfloat16")
    }

    func testHFToGGUFInQ8_0() throws {
        let out = dir.appendingPathComponent("llama-q8.gguf").path
        let r = try json(["convert", try hf("llama"), "--to", "gguf", "--output", out, "--type", "Q8_0", "--json"])
        XCTAssertEqual(r["type"] as? String, "Q8_0")
        let g = try GGUFFile(path: out)
        XCTAssertEqual(g["general.file_type"]?.int, 7)
        XCTAssertEqual(g["general.quantization_version"]?.int, 2)
        XCTAssertEqual(g.tensor(named: "blk.0.attn_q.weight")?.type, .q8_0)
        XCTAssertEqual(g.tensor(named: "token_embd.weight")?.type, .q8_0)
        XCTAssertEqual(g.tensor(named: "blk.0.attn_norm.weight")?.type, .f32)
        XCTAssertEqual(g.tensor(named: "rope_freqs.weight")?.type, .f32)
        let q = try XCTUnwrap(topLogits(out)?.first), f = try XCTUnwrap(topLogits(try hf("llama"))?.first)
        XCTAssertEqual(q.max { $0.value < $1.value }?.key, f.max { $0.value < $1.value }?.key, "Q8_0: the same top-1 token")
    }

    /// drop --format hf: a block drop and an attention drop, reloaded with the plan's logits.
    func testDropWritesCheckpointFolders() throws {
        let model = try family("gemma3")
        let calibration = try TestPaths.fixture("data/c4_demo.json").path
        for target in ["block", "attention"] {
            let out = dir.appendingPathComponent("gemma3-\(target)").path
            let plan = dir.appendingPathComponent("\(target).json").path
            let d = try json(["drop", model, "--target", target, "--count", "2", "--calibration", calibration, "--samples", "2",
                              "--seq-len", "16", "--output", out, "--format", "hf", "--plan-out", plan, "--threads", "2", "--json"])
            XCTAssertEqual((d["output"] as? [String: Any])?["format"] as? String, "hf")
            let config = try XCTUnwrap(TestPaths.json(URL(fileURLWithPath: out + "/config.json")) as? [String: Any])
            if target == "block" {
                XCTAssertEqual(config["num_hidden_layers"] as? Int, 4)
                XCTAssertEqual((config["layer_types"] as? [String])?.count, 4)
                XCTAssertNil(config["drop_attn_list"])
            } else {
                XCTAssertEqual((config["drop_attn_list"] as? [Bool])?.filter { $0 }.count, 2)
                XCTAssertEqual(config["drop_mlp_list"] as? [Bool], Array(repeating: false, count: 6))
            }
            XCTAssertEqual(try topLogits(out), try topLogits(model, plan: plan), target)
            // The folder's own config.json is an LLM-Drop plan for the original model too.
            if target == "attention" { XCTAssertEqual(try topLogits(model, plan: out + "/config.json"), try topLogits(out)) }
        }
    }

    /// An attention-dropped Llama folder converted to GGUF: llama.cpp's deci form, the same logits.
    func testADroppedLlamaFolderConvertsToDeci() throws {
        let model = try family("llama")
        let plan = dir.appendingPathComponent("plan.json").path
        try Data(#"{"dropped_attention": [1, 2], "dropped_mlp": [3]}"#.utf8).write(to: URL(fileURLWithPath: plan))
        let folder = dir.appendingPathComponent("llama-drop").path
        _ = try json(["convert", model, "--to", "hf", "--drop-plan", plan, "--output", folder, "--json"])
        let gguf = dir.appendingPathComponent("llama-drop.gguf").path
        let r = try json(["convert", folder, "--to", "gguf", "--output", gguf, "--json"])
        XCTAssertEqual(r["architecture"] as? String, "deci")
        XCTAssertEqual(r["runs_in_llama_cpp"] as? Bool, true)
        let expected = try topLogits(model, plan: plan)
        XCTAssertEqual(try topLogits(folder), expected)
        XCTAssertEqual(try topLogits(gguf), expected)
    }

    func testBadInput() throws {
        let src = try family("qwen3"), folder = try hf("qwen3")
        try assertFails(["convert", src, "--to", "hf", "--output", dir.appendingPathComponent("x").path, "--type", "Q4_0"], mentioning: "--type Q4_0")
        try assertFails(["convert", src, "--to", "gguf", "--output", dir.appendingPathComponent("x.gguf").path, "--type", "Q5_K"], mentioning: "Q5_K")
        let file = dir.appendingPathComponent("file").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        try assertFails(["convert", src, "--to", "hf", "--output", file], mentioning: "is not a folder")
        let photos = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: photos.appendingPathComponent("a.jpg"))
        try assertFails(["drop", src, "--target", "block", "--count", "1", "--calibration", "self", "--output", photos.path, "--format", "hf"],
                        mentioning: "holds no config.json")
        try assertFails(["convert", folder, "--to", "hf", "--output", folder + "/pruned"], mentioning: "overlaps the input")
        try assertFails(["convert", folder, "--to", "gguf", "--output", folder + "/model.gguf"], mentioning: "overlaps the input")
        try assertFails(["convert", src, "--to", "gguf", "--output", src], mentioning: "is the input model")
        try assertFails(["convert", src, "--to", "hf", "--output", dir.appendingPathComponent("no/such/folder").path], mentioning: "does not exist")
        // An architecture LLMDrop does not read.
        var w = GGUFWriter()
        w.set("general.architecture", .string("phi2"))
        try w.addTensor(name: "token_embd.weight", shape: [4, 4], floats: Array(repeating: 0, count: 16))
        let phi = dir.appendingPathComponent("phi2.gguf").path
        try w.write(to: phi)
        try assertFails(["convert", phi, "--to", "hf", "--output", dir.appendingPathComponent("phi").path], mentioning: "phi2")
        try assertFails(["drop", src, "--target", "block", "--count", "1", "--calibration", "self", "--format", "hf"], mentioning: "--format")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["file", "phi2.gguf", "photos"])   // nothing half-written
    }
}
