// Writing Hugging Face checkpoint folders (LLMFormats' HFExport) and GGUFs from them (GGUFConvert):
//   * GGUF → HF → GGUF on the family fixtures written by llama.cpp's converter (F16 weights, F32 norms):
//     every tensor comes back with its name, shape, type and bytes (Gemma's F32 norms go 1 + w → w → 1 + w);
//   * HF → GGUF → HF on the transformers fixtures (F32, F16, BF16, sharded): every tensor of the original
//     safetensors comes back bit for bit in its dtype (Gemma's norms within an ulp of BF16);
//   * the written folder loads with logits equal to the source's, and folders with blocks or sublayers
//     dropped (drop_attn_list / drop_mlp_list) load with logits equal to the same plan applied at load.
import Foundation
import LLMFormats
import LLMModels
import LLMTensor
import TestSupport
import XCTest

final class HFExportTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let families = ["llama", "mistral", "qwen2", "qwen3", "gemma3"]
    let prompt = [1, 2, 3, 4, 5, 400, 17, 900, 33, 2, 71, 8, 250, 19, 11, 600, 42, 5, 77, 3]

    func logits(_ source: any ModelSource, plan: LayerPlan? = nil) throws -> [Float] {
        let m = try LanguageModel(source: source, options: LoadOptions(threads: 2, plan: plan))
        return Array(try m.forward([prompt.map { $0 % m.config.vocabularySize }], logits: .all).storage)
    }

    func bytes(_ s: any ModelSource, _ name: String) throws -> [UInt8] {
        Array(s.bytes(for: try XCTUnwrap(s.tensor(named: name), name)))
    }

    func testGGUFToHFToGGUFKeepsEveryTensor() throws {
        for family in Self.families {
            let gguf = try GGUFFile(path: TestPaths.fixture("families/\(family)/model.gguf").path)
            let folder = dir.appendingPathComponent(family).path
            let summary = try HFExport.write(source: gguf, to: folder)
            let hf = try HFCheckpoint(folder: folder)
            XCTAssertEqual(hf.architectureName, family == "gemma3" ? "Gemma3ForCausalLM" : summary.architecture)
            let back = dir.appendingPathComponent("\(family).gguf").path
            try GGUFConvert.write(source: hf, to: back, type: nil)
            let again = try GGUFFile(path: back)
            XCTAssertEqual(Set(again.tensors.map(\.name)), Set(gguf.tensors.map(\.name)), family)
            var exact = 0
            for t in gguf.tensors {
                let u = try XCTUnwrap(again.tensor(named: t.name))
                XCTAssertEqual(u.shape, t.shape, "\(family) \(t.name)")
                XCTAssertEqual(u.type, t.type, "\(family) \(t.name)")
                if try bytes(again, t.name) == bytes(gguf, t.name) { exact += 1 } else {
                    // Only Gemma's norms pass through arithmetic (1 + w − 1 + 1) and may move by an ulp.
                    XCTAssertTrue(family == "gemma3" && t.name.hasSuffix("norm.weight"), "\(family) \(t.name) changed")
                }
            }
            print("hf export \(family): GGUF → HF → GGUF \(exact)/\(gguf.tensors.count) tensors bit-identical")
            for key in ["block_count", "embedding_length", "feed_forward_length", "attention.head_count", "attention.head_count_kv",
                        "rope.freq_base", "context_length", "attention.sliding_window"] {
                let a = gguf["general.architecture"]!.string!
                XCTAssertEqual(again["\(a).\(key)"]?.double, gguf["\(a).\(key)"]?.double, "\(family) \(key)")
            }
            let err = relativeL2(try logits(hf), try logits(gguf))
            XCTAssertLessThan(err, 1e-6, "\(family): logits of the written folder")
            print("hf export \(family): logits of the folder vs the GGUF, relative L2 \(err)")
        }
    }

    func testHFToGGUFToHFKeepsEveryTensor() throws {
        let dtypes: [String: GGMLType] = ["llama": .f32, "mistral": .bf16, "qwen2": .bf16, "qwen3": .f16, "gemma3": .bf16, "gemma3-f32": .f32]
        for (family, type) in dtypes.sorted(by: { $0.key < $1.key }) {
            let src = try TestPaths.fixture("hf/\(family)/config.json").deletingLastPathComponent()
            let hf = try HFCheckpoint(folder: src.path)
            let gguf = dir.appendingPathComponent("\(family).gguf").path
            try GGUFConvert.write(source: hf, to: gguf, type: nil)
            let g = try GGUFFile(path: gguf)
            XCTAssertEqual(g["general.architecture"]?.string, hf["general.architecture"]?.string)
            let out = dir.appendingPathComponent(family).path
            try HFExport.write(source: g, to: out, type: type)
            let a = try SafetensorsCheckpoint(folder: src.path), b = try SafetensorsCheckpoint(folder: out)
            let written = Dictionary(uniqueKeysWithValues: b.tensors.map { ($0.tensor.name, $0) })
            var exact = 0, total = 0
            for (file, t) in a.tensors where !t.name.hasSuffix("lm_head.weight") || written[t.name] != nil {
                total += 1
                let u = try XCTUnwrap(written[t.name], "\(family): \(t.name) not written")
                XCTAssertEqual(u.tensor.shape, t.shape, "\(family) \(t.name)")
                XCTAssertEqual(u.tensor.dtype, t.dtype, "\(family) \(t.name)")
                if Array(a.files[file].bytes(for: t)) == Array(b.files[u.file].bytes(for: u.tensor)) { exact += 1 } else {
                    XCTAssertTrue(family.hasPrefix("gemma3") && t.name.contains("norm"), "\(family) \(t.name) changed")
                }
            }
            XCTAssertEqual(total, written.count, "\(family): the same tensors")
            print("hf export \(family): HF → GGUF → HF \(exact)/\(total) tensors bit-identical")
            let config = try XCTUnwrap(TestPaths.json(URL(fileURLWithPath: out + "/config.json")) as? [String: Any])
            if family == "llama" {   // Llama 3 RoPE parameters recovered from rope_freqs
                let rope = try XCTUnwrap(config["rope_parameters"] as? [String: Any])
                XCTAssertEqual(rope["rope_type"] as? String, "llama3")
                XCTAssertEqual(rope["factor"] as? Double, 8)
            }
            let err = relativeL2(try logits(HFCheckpoint(folder: out)), try logits(hf))
            XCTAssertLessThan(err, 1e-5, "\(family): logits after the round trip")
            print("hf export \(family): logits after HF → GGUF → HF, relative L2 \(err)")
        }
    }

    /// Blocks dropped: the stock architecture with fewer, renumbered layers (Gemma's layer types kept per
    /// layer); sublayers dropped: their weights absent, drop_attn_list / drop_mlp_list in config.json.
    func testDroppedFoldersLoadWithThePlansLogits() throws {
        for family in ["gemma3", "llama", "qwen2"] {
            let gguf = try GGUFFile(path: TestPaths.fixture("families/\(family)/model.gguf").path)
            let L = try ModelConfig(source: gguf).layerCount
            var blocks = LayerPlan.full(layers: L)
            blocks = try blocks.removing(attention: [], mlp: [], blocks: [1])
            let block = dir.appendingPathComponent("\(family)-block").path
            try HFExport.write(source: gguf, to: block, keepAttention: blocks.attention, keepMLP: blocks.mlp)
            let b = try HFCheckpoint(folder: block)
            let bc = try ModelConfig(source: b)
            XCTAssertEqual(bc.layerCount, L - 1)
            let config = try XCTUnwrap(TestPaths.json(URL(fileURLWithPath: block + "/config.json")) as? [String: Any])
            XCTAssertNil(config["drop_attn_list"])
            if family == "gemma3" {
                // 6 layers, sliding except layer 5; layer 1 gone: layers 0, 2, 3, 4 slide, 5 is global.
                XCTAssertEqual(config["layer_types"] as? [String], ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention"])
            }
            var err = relativeL2(try logits(b), try logits(gguf, plan: blocks))
            XCTAssertEqual(err, 0, "\(family): block-dropped folder vs the plan at load")

            let sub = try LayerPlan.full(layers: L).removing(attention: [0, 2], mlp: [1], blocks: [])
            let folder = dir.appendingPathComponent("\(family)-sub").path
            try HFExport.write(source: gguf, to: folder, keepAttention: sub.attention, keepMLP: sub.mlp)
            let s = try XCTUnwrap(TestPaths.json(URL(fileURLWithPath: folder + "/config.json")) as? [String: Any])
            XCTAssertEqual(s["drop_attn_list"] as? [Bool], (0..<L).map { $0 == 0 || $0 == 2 })
            XCTAssertEqual(s["drop_mlp_list"] as? [Bool], (0..<L).map { $0 == 1 })
            let st = try SafetensorsCheckpoint(folder: folder).tensors.map(\.tensor.name)
            XCTAssertFalse(st.contains { $0.hasPrefix("model.layers.0.self_attn.") || $0 == "model.layers.0.input_layernorm.weight" })
            XCTAssertFalse(st.contains { $0.hasPrefix("model.layers.1.mlp.") })
            XCTAssertTrue(st.contains("model.layers.1.self_attn.q_proj.weight"))
            let h = try HFCheckpoint(folder: folder)
            let m = try LanguageModel(source: h, options: LoadOptions(threads: 2))
            XCTAssertEqual(m.plan.droppedAttention, [0, 2])
            XCTAssertEqual(m.plan.droppedMLP, [1])
            err = relativeL2(try logits(h), try logits(gguf, plan: sub))
            XCTAssertEqual(err, 0, "\(family): sublayer-dropped folder vs the plan at load")
            print("hf export \(family): dropped folders reload with the plan's logits exactly")
        }
    }

    func testBadInput() throws {
        let gguf = try GGUFFile(path: TestPaths.fixture("families/qwen3/model.gguf").path)
        XCTAssertThrowsError(try HFExport.write(source: gguf, to: dir.appendingPathComponent("x").path, type: .q8_0)) {
            XCTAssertEqual($0 as? HFExportError, .unsupportedType("Q8_0"))
        }
        let hf = try TestPaths.fixture("hf/qwen3/config.json").deletingLastPathComponent().path
        XCTAssertThrowsError(try HFExport.write(source: HFCheckpoint(folder: hf), to: hf + "/out")) {
            XCTAssertNotNil($0 as? OutputFolderError)
        }
        let none = try LayerPlan.full(layers: 4).removing(attention: [], mlp: [], blocks: [0, 1, 2, 3])
        XCTAssertThrowsError(try HFExport.write(source: gguf, to: dir.appendingPathComponent("y").path, keepAttention: none.attention, keepMLP: none.mlp))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])   // nothing half-written
    }
}
