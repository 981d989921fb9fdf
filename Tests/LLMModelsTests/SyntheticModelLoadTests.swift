// Synthetic models load as the family they imitate: each named shape's metadata resolves to a ModelConfig
// with its numbers, and tiny synthetic files (Llama, Qwen2 with biases and a tied head) run a forward pass
// with finite logits and tokenize with their byte-level tokenizer.
import Foundation
import LLMFormats
import LLMModels
import LLMTensor
import TestSupport
import XCTest

final class SyntheticModelLoadTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The metadata alone (no tensors) of every named shape, read by the model's config resolver.
    func testEveryShapesMetadataResolvesToItsConfiguration() throws {
        for shape in SyntheticShapes.all {
            let m = try SyntheticModel(shape: shape, type: .q4_0, seed: 1)
            var w = GGUFWriter()
            for (k, v) in m.metadata() { w.set(k, v) }
            let path = dir.appendingPathComponent("\(shape.name).gguf").path
            try w.write(to: path)
            let c = try ModelConfig(source: GGUFFile(path: path))
            let name = shape.name
            XCTAssertEqual(c.architecture.rawValue, shape.architecture, name)
            XCTAssertEqual(c.hiddenSize, shape.hiddenSize, name)
            XCTAssertEqual(c.layerCount, shape.layers, name)
            XCTAssertEqual(c.heads, Array(repeating: shape.heads, count: shape.layers), name)
            XCTAssertEqual(c.kvHeads, Array(repeating: shape.kvHeads, count: shape.layers), name)
            XCTAssertEqual(c.headDim, shape.headDim, name)
            XCTAssertEqual(c.ffnLength, Array(repeating: shape.ffnLength, count: shape.layers), name)
            XCTAssertEqual(c.vocabularySize, shape.vocabularySize, name)
            XCTAssertEqual(c.contextLength, shape.contextLength, name)
            XCTAssertEqual(c.rope.base, Array(repeating: shape.ropeBase, count: shape.layers), name)
            XCTAssertEqual(c.rope.style, shape.architecture == "qwen2" ? .neox : .adjacent, name)
            XCTAssertEqual(Double(c.normEpsilon), shape.normEpsilon, accuracy: shape.normEpsilon * 1e-6, name)
            XCTAssertEqual(c.slidingWindow, Array(repeating: shape.slidingWindow, count: shape.layers), name)
            XCTAssertEqual(c.traits.qkvBias, shape.qkvBias, name)
            XCTAssertEqual(m.tensorPlan().contains { $0.name == "output.weight" }, !shape.tiedEmbeddings, name)
        }
    }

    /// Q4_K: matrices whose rows are whole blocks of 256 are Q4_K, within the quantiser's bound of the same
    /// seed's F32 weights; the model loads and computes.
    func testQ4_KWeightsAreTheF32OnesQuantised() throws {
        let shape = SyntheticShape(name: "tiny-256", architecture: "llama", source: "a test shape", hiddenSize: 256, layers: 2,
                                   heads: 4, kvHeads: 2, ffnLength: 512, vocabularySize: 320, contextLength: 512,
                                   ropeBase: 10000, normEpsilon: 1e-5)
        let k = dir.appendingPathComponent("k.gguf").path, f = dir.appendingPathComponent("f.gguf").path
        try SyntheticModel(shape: shape, type: .q4_K, seed: 3).write(to: k, threads: 2)
        try SyntheticModel(shape: shape, type: .f32, seed: 3).write(to: f, threads: 2)
        let gk = try GGUFFile(path: k), gf = try GGUFFile(path: f)
        XCTAssertEqual(gk["general.file_type"]?.int, 14)
        XCTAssertEqual(gk["general.quantization_version"]?.int, 2)
        for name in ["blk.0.attn_q.weight", "blk.1.ffn_up.weight", "blk.1.ffn_down.weight", "token_embd.weight"] {
            let tk = try XCTUnwrap(gk.tensor(named: name)), tf = try XCTUnwrap(gf.tensor(named: name))
            XCTAssertEqual(tk.type, .q4_K, name)
            let x = Array(gf.bytes(for: tf).bindMemory(to: Float.self))
            var y = [Float](repeating: 0, count: x.count)
            Dequant.reference(.q4_K, gk.bytes(for: tk).baseAddress!, &y, count: x.count)
            for b in 0..<x.count / 256 {
                let bound = q4KErrorBound(x[(256 * b)..<(256 * b + 256)])
                for i in 0..<256 where abs(y[256 * b + i] - x[256 * b + i]) > bound[i] { return XCTFail("\(name) block \(b) weight \(i)") }
            }
        }
        let model = try LanguageModel(path: k, options: LoadOptions(threads: 2))
        let logits = try model.forward([[1, 2, 3, 4]], logits: .last)
        XCTAssertTrue(logits.storage.allSatisfy(\.isFinite))
    }

    func testTinySyntheticModelsRunWithFiniteLogits() throws {
        for (name, type) in [("tiny", GGMLType.q4_0), ("tiny-qwen2", .q8_0), ("tiny", .f16)] {
            let path = dir.appendingPathComponent("\(name)-\(type).gguf").path
            try SyntheticModel(shape: SyntheticShapes.named(name), type: type, seed: 3).write(to: path, threads: 2)
            let model = try LanguageModel(path: path, options: LoadOptions(threads: 2))
            XCTAssertEqual(model.config.tiedEmbeddings, name == "tiny-qwen2")
            let ids = model.tokenizer.encode("Hello, synthetic world!", addSpecialTokens: true)
            XCTAssertEqual(ids.count, 1 + 23, "BOS + one token per byte")
            let logits = try model.forward([ids], logits: .all)
            XCTAssertEqual(logits.rows, ids.count)
            XCTAssertTrue(logits.storage.allSatisfy(\.isFinite), name)
            // Random weights of scale 0.02: logits of order 1, not saturated.
            let maxAbs = logits.storage.map(abs).max()!
            XCTAssertGreaterThan(maxAbs, 0.01, name)
            XCTAssertLessThan(maxAbs, 100, name)
        }
    }
}
