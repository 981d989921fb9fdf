// Pruned GGUF files: they reload in LLMDrop with logits bit-identical to applying the plan at load,
// and carry the structure llama.cpp needs (deci per-layer arrays, zero FFNs, linear layer-0 attention).
import Foundation
import LLMDrop
import LLMFormats
import LLMModels
import TestSupport
import XCTest

final class PrunedModelTests: XCTestCase {
    static let model = Result { try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 2)) }
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    let prompts = [[504, 3575, 282, 4649, 314], [1604, 3987, 46477, 30, 96, 2469, 17, 20, 46]]

    func roundTrip(_ plan: LayerPlan, name: String) throws -> (GGUFFile, LanguageModel) {
        let model = try Self.model.get()
        let out = dir.appendingPathComponent("\(name).gguf").path
        try PrunedModel.write(source: model.source, plan: plan, record: DropPlan(plan, target: name, method: "test"), to: out)
        let pruned = try LanguageModel(path: out, options: LoadOptions(threads: 2))
        let expected = try model.removing(plan).forward(prompts, logits: .all)
        let got = try pruned.forward(prompts, logits: .all)
        XCTAssertEqual(got.storage, expected.storage, "\(name): pruned file and plan-at-load differ")
        XCTAssertEqual(pruned.kvCacheBytesPerToken, model.config.kvCacheBytesPerToken(plan: plan), name)
        return (try GGUFFile(path: out), pruned)
    }

    func testAttentionDropIncludingLayerZero() throws {
        let plan = try LayerPlan.full(layers: 30).removing(attention: [0, 5, 25])
        let (file, pruned) = try roundTrip(plan, name: "attention")
        XCTAssertEqual(file["general.architecture"]?.string, "deci")
        XCTAssertEqual(file["deci.block_count"]?.int, 30)
        let heads = try XCTUnwrap(file["deci.attention.head_count"]?.ints)
        let kv = try XCTUnwrap(file["deci.attention.head_count_kv"]?.ints)
        XCTAssertEqual(heads[0], 9, "layer 0 keeps its head count (linear-attention form)")
        XCTAssertEqual(kv[0], 0)
        XCTAssertEqual(heads[5], 0)
        XCTAssertEqual(kv[5], 0)
        XCTAssertEqual(heads[1], 9)
        XCTAssertNil(file.tensor(named: "blk.0.attn_q.weight"))
        XCTAssertEqual(file.tensor(named: "blk.0.attn_output.weight")?.type, .f32)
        XCTAssertNotNil(file.tensor(named: "blk.0.attn_norm.weight"))
        XCTAssertNil(file.tensor(named: "blk.5.attn_norm.weight"))
        XCTAssertNil(file.tensor(named: "blk.5.attn_output.weight"))
        XCTAssertEqual(file["deci.attention.key_length"]?.int, 64)
        XCTAssertEqual(file["tokenizer.ggml.merges"]?.array?.count, 48900, "tokenizer kept")
        XCTAssertEqual(pruned.plan.droppedAttention, [0, 5, 25])
        let record = try XCTUnwrap(file["llmdrop.plan"]?.string)
        XCTAssertEqual(try JSONDecoder().decode(DropPlan.self, from: Data(record.utf8)).droppedAttention, [0, 5, 25])
    }

    func testMLPDropUsesZeroFFN() throws {
        let plan = try LayerPlan.full(layers: 30).removing(mlp: [13, 29])
        let (file, pruned) = try roundTrip(plan, name: "mlp")
        let ffn = try XCTUnwrap(file["deci.feed_forward_length"]?.ints)
        XCTAssertEqual(ffn[13], PrunedModel.zeroFFNWidth)
        XCTAssertEqual(ffn[29], PrunedModel.zeroFFNWidth)
        XCTAssertEqual(ffn[0], 1536)
        XCTAssertEqual(file.tensor(named: "blk.13.ffn_down.weight")?.shape, [32, 576])
        XCTAssertEqual(file["llmdrop.dropped_mlp"]?.ints, [13, 29])
        XCTAssertEqual(pruned.plan.droppedMLP, [13, 29])
    }

    func testBlockDropRenumbersPlainLlama() throws {
        let plan = try LayerPlan.full(layers: 30).removing(blocks: [14, 15, 29])
        let (file, pruned) = try roundTrip(plan, name: "block")
        XCTAssertEqual(file["general.architecture"]?.string, "llama")
        XCTAssertEqual(file["llama.block_count"]?.int, 27)
        XCTAssertNil(file.tensor(named: "blk.27.attn_q.weight"))
        XCTAssertNotNil(file.tensor(named: "blk.26.ffn_down.weight"))
        XCTAssertEqual(pruned.layerCount, 27)
        XCTAssertEqual(file.tensors.count, 272 - 3 * 9)
    }

    func testJointDrop() throws {
        let plan = try LayerPlan.full(layers: 30).removing(attention: [7, 25], mlp: [17], blocks: [3])
        let (file, pruned) = try roundTrip(plan, name: "joint")
        XCTAssertEqual(file["deci.block_count"]?.int, 29)
        XCTAssertEqual(pruned.plan.droppedAttention, [6, 24], "renumbered after block 3")
        XCTAssertEqual(pruned.plan.droppedMLP, [16])
    }

    func testOutputMayNotBeTheInputOrInAMissingFolder() throws {
        let model = try Self.model.get()
        let plan = try LayerPlan.full(layers: 30).removing(attention: [5])
        let record = DropPlan(plan, target: "attention", method: "test")
        XCTAssertThrowsError(try PrunedModel.write(source: model.source, plan: plan, record: record, to: model.source.path)) {
            XCTAssertEqual($0 as? PrunedModelError, .outputIsInput(model.source.path))
        }
        let missing = dir.appendingPathComponent("no/such/folder/out.gguf").path
        XCTAssertThrowsError(try PrunedModel.write(source: model.source, plan: plan, record: record, to: missing)) {
            XCTAssertEqual($0 as? PrunedModelError, .missingFolder(dir.appendingPathComponent("no/such/folder").path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }
}
