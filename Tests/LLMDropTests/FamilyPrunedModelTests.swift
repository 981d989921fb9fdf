// Pruned files of every family reload in LLMDrop with logits bit-identical to applying the plan at
// load; they keep each family's own tensors (biases, Q/K norms, post-norms) for the kept layers, and
// Gemma 3 layers keep their sliding/global type wherever a block drop renumbers them.
import Foundation
import LLMDrop
import LLMFormats
import LLMModels
import TestSupport
import XCTest

final class FamilyPrunedModelTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    let prompts = [Array(100..<140), [504, 3575, 282, 4649, 314]]

    func fixture(_ family: String) throws -> LanguageModel {
        try LanguageModel(path: TestPaths.fixture("families/\(family)/model.gguf").path, options: LoadOptions(threads: 2))
    }

    @discardableResult
    func roundTrip(_ model: LanguageModel, _ plan: LayerPlan, _ name: String) throws -> GGUFFile {
        let out = dir.appendingPathComponent("\(name).gguf").path
        let summary = try PrunedModel.write(source: model.source, plan: plan, record: DropPlan(plan, target: name, method: "test"), to: out)
        let pruned = try LanguageModel(path: out, options: LoadOptions(threads: 2))
        XCTAssertEqual(try pruned.forward(prompts, logits: .all).storage, try model.removing(plan).forward(prompts, logits: .all).storage,
                       "\(name): pruned file and plan-at-load differ")
        XCTAssertEqual(summary.runsInLlamaCpp, PrunedModel.llamaCppSupport(architecture: model.config.architecture, plan: plan).runs)
        return try GGUFFile(path: out)
    }

    func testEveryFamilyRoundTripsEveryKindOfDrop() throws {
        for family in ["qwen2", "qwen3", "gemma3", "llama"] {
            let model = try fixture(family)
            let n = model.layerCount
            let plans: [(String, LayerPlan)] = [
                ("attention", try LayerPlan.full(layers: n).removing(attention: [0, 2])),
                ("mlp", try LayerPlan.full(layers: n).removing(mlp: [1, n - 1])),
                ("block", try LayerPlan.full(layers: n).removing(blocks: [1])),
                ("mixed", try LayerPlan.full(layers: n).removing(attention: [3], mlp: [0], blocks: [2])),
            ]
            for (kind, plan) in plans {
                let file = try roundTrip(model, plan, "\(family)-\(kind)")
                let arch = try XCTUnwrap(file["general.architecture"]?.string)
                XCTAssertEqual(arch, family == "llama" && kind != "block" ? "deci" : family, "\(family) \(kind)")
            }
        }
    }

    func testFamilyTensorsOfKeptLayersAreCopied() throws {
        let qwen2 = try roundTrip(try fixture("qwen2"), try LayerPlan.full(layers: 4).removing(blocks: [0]), "qwen2-bias")
        XCTAssertEqual(qwen2["qwen2.block_count"]?.int, 3)
        XCTAssertNotNil(qwen2.tensor(named: "blk.0.attn_q.bias"))
        XCTAssertNotNil(qwen2.tensor(named: "blk.2.attn_v.bias"))
        XCTAssertNil(qwen2.tensor(named: "blk.3.attn_q.weight"))
        XCTAssertNotNil(qwen2.tensor(named: "output.weight"))

        let gemma = try roundTrip(try fixture("gemma3"), try LayerPlan.full(layers: 6).removing(attention: [1], mlp: [2]), "gemma-sub")
        XCTAssertNil(gemma.tensor(named: "blk.1.attn_q_norm.weight"))
        XCTAssertNil(gemma.tensor(named: "blk.1.post_attention_norm.weight"), "a dropped branch takes its post-norm with it")
        XCTAssertNotNil(gemma.tensor(named: "blk.1.post_ffw_norm.weight"))
        XCTAssertNil(gemma.tensor(named: "blk.2.post_ffw_norm.weight"))
        XCTAssertEqual(gemma["gemma3.attention.head_count"]?.ints, [4, 0, 4, 4, 4, 4])
        XCTAssertEqual(gemma["gemma3.feed_forward_length"]?.ints, [128, 128, 0, 128, 128, 128])
    }

    /// Dropping blocks 8 and 9 of Gemma 3 270M moves the global layers 11 and 17 to 9 and 15; each
    /// keeps its global attention and RoPE base through the per-layer pattern llama.cpp also reads.
    func testGemma3BlockDropKeepsLayerTypes() throws {
        let model = try LanguageModel(path: TestPaths.gemma3(), options: LoadOptions(threads: 2))
        let file = try roundTrip(model, try LayerPlan.full(layers: 18).removing(blocks: [8, 9]), "gemma3-blocks")
        let pattern = try XCTUnwrap(file["gemma3.attention.sliding_window_pattern"]?.array?.compactMap(\.bool))
        XCTAssertEqual(pattern.indices.filter { !pattern[$0] }, [5, 9, 15])
        let reloaded = try ModelConfig(source: file)
        XCTAssertEqual(reloaded.rope.base[9], 1_000_000)
        XCTAssertEqual(reloaded.rope.base[8], 10_000)
    }
}
