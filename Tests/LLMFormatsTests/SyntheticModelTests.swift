// Synthetic models (`llm-drop synth`): the shape table holds each named checkpoint's numbers; files are
// determined by the seed (not by the thread count); the tokenizer is byte-level or copied and padded;
// a disk too small is refused before anything is written.
import Foundation
import LLMFormats
import LLMTensor
import TestSupport
import XCTest

final class SyntheticModelTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// (hidden, layers, heads, KV heads, head dim, FFN, vocabulary, context, RoPE base, eps, tied, biases, window)
    /// as each model's config.json states them.
    func testShapesAreTheNamedConfigurations() throws {
        typealias Row = (Int, Int, Int, Int, Int, Int, Int, Int, Double, Double, Bool, Bool, Int)
        let expected: [String: Row] = [
            "llama-2-7b": (4096, 32, 32, 32, 128, 11008, 32000, 4096, 10000, 1e-5, false, false, 0),
            "llama-2-13b": (5120, 40, 40, 40, 128, 13824, 32000, 4096, 10000, 1e-5, false, false, 0),
            "llama-2-70b": (8192, 80, 64, 8, 128, 28672, 32000, 4096, 10000, 1e-5, false, false, 0),
            "llama-3-8b": (4096, 32, 32, 8, 128, 14336, 128256, 8192, 500000, 1e-5, false, false, 0),
            "llama-3.1-8b": (4096, 32, 32, 8, 128, 14336, 128256, 131072, 500000, 1e-5, false, false, 0),
            "mistral-7b": (4096, 32, 32, 8, 128, 14336, 32000, 32768, 10000, 1e-5, false, false, 4096),
            "qwen2.5-7b": (3584, 28, 28, 4, 128, 18944, 152064, 32768, 1_000_000, 1e-6, false, true, 0),
        ]
        for (name, e) in expected {
            let s = try SyntheticShapes.named(name)
            let got: Row = (s.hiddenSize, s.layers, s.heads, s.kvHeads, s.headDim, s.ffnLength, s.vocabularySize, s.contextLength,
                            s.ropeBase, s.normEpsilon, s.tiedEmbeddings, s.qkvBias, s.slidingWindow)
            XCTAssertEqual("\(got)", "\(e)", name)
        }
        XCTAssertEqual(try SyntheticShapes.named("qwen2.5-7b").architecture, "qwen2")
        XCTAssertEqual(try SyntheticShapes.named("llama-3.1-8b").ropeScaling, Llama3RopeScaling(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192))
        XCTAssertNil(try SyntheticShapes.named("llama-3-8b").ropeScaling)
        // Parameter counts of the released models (embeddings and head included).
        XCTAssertEqual(try SyntheticShapes.named("llama-2-7b").parameterCount, 6_738_415_616)
        XCTAssertEqual(try SyntheticShapes.named("llama-2-13b").parameterCount, 13_015_864_320)
        XCTAssertEqual(try SyntheticShapes.named("llama-2-70b").parameterCount, 68_976_648_192)
        XCTAssertEqual(try SyntheticShapes.named("llama-3-8b").parameterCount, 8_030_261_248)
        XCTAssertEqual(try SyntheticShapes.named("mistral-7b").parameterCount, 7_241_732_096)
        XCTAssertEqual(try SyntheticShapes.named("qwen2.5-7b").parameterCount, 7_615_616_512)
    }

    func testUnknownNameListsTheKnownOnes() {
        XCTAssertThrowsError(try SyntheticShapes.named("llama-9-1b")) { error in
            let message = "\(error)"
            for name in ["llama-2-7b", "llama-2-70b", "qwen2.5-7b", "mistral-7b"] { XCTAssertTrue(message.contains(name), message) }
        }
        XCTAssertEqual(try SyntheticShapes.named("Llama-2-7B").name, "llama-2-7b")
    }

    func testTensorPlanOfABigShapeHasTheRealTensorsAndTypes() throws {
        let m = try SyntheticModel(shape: SyntheticShapes.named("llama-2-7b"), type: .q4_0, seed: 1)
        let plan = m.tensorPlan()
        XCTAssertEqual(plan.count, 2 + 32 * 9 + 1)
        XCTAssertEqual(plan.first { $0.name == "token_embd.weight" }?.shape, [4096, 32000])
        XCTAssertEqual(plan.first { $0.name == "output.weight" }?.shape, [4096, 32000])
        XCTAssertEqual(plan.first { $0.name == "blk.31.ffn_down.weight" }?.shape, [11008, 4096])
        XCTAssertEqual(plan.reduce(0) { $0 + $1.shape.reduce(1, *) }, 6_738_415_616)
        XCTAssertEqual(m.storedType([4096, 11008]), .q4_0)
        XCTAssertEqual(m.storedType([4096]), .f32)
        let q = try SyntheticModel(shape: SyntheticShapes.named("qwen2.5-7b"), type: .q8_0, seed: 1).tensorPlan()
        XCTAssertEqual(q.first { $0.name == "blk.0.attn_k.bias" }?.shape, [512])
        let l31 = try SyntheticModel(shape: SyntheticShapes.named("llama-3.1-8b"), type: .f16, seed: 1).tensorPlan()
        XCTAssertEqual(l31.first { $0.name == "rope_freqs.weight" }?.shape, [64])
        // The file size is known before writing (GGUFWriter.fileSize) and is what Q4_0 takes.
        let size = try m.writer(pool: ThreadPool(threads: 1)).fileSize()
        XCTAssertGreaterThan(size, 6_738_415_616 / 32 * 18)
        XCTAssertLessThan(size, 6_738_415_616 / 32 * 18 + 4 << 20)
    }

    func testSeedDeterminesTheFileWhateverTheThreads() throws {
        let shape = try SyntheticShapes.named("tiny")
        func write(_ name: String, seed: UInt64, threads: Int, type: GGMLType = .q4_0) throws -> Data {
            let path = dir.appendingPathComponent(name).path
            try SyntheticModel(shape: shape, type: type, seed: seed).write(to: path, threads: threads)
            return try Data(contentsOf: URL(fileURLWithPath: path))
        }
        let a = try write("a.gguf", seed: 7, threads: 1)
        XCTAssertEqual(a, try write("b.gguf", seed: 7, threads: 2))
        XCTAssertNotEqual(a, try write("c.gguf", seed: 8, threads: 1))
        // The values have the intended scale: F32 weights of mean ≈ 0 and standard deviation ≈ 0.02.
        _ = try write("f.gguf", seed: 7, threads: 2, type: .f32)
        let g = try GGUFFile(path: dir.appendingPathComponent("f.gguf").path)
        XCTAssertEqual(g["general.synthetic"]?.bool, true)
        XCTAssertEqual(g["general.synthetic.like"]?.string, "tiny")
        XCTAssertEqual(g["general.synthetic.seed"]?.int, 7)
        let t = try XCTUnwrap(g.tensor(named: "blk.0.ffn_up.weight"))
        let v = Array(g.bytes(for: t).bindMemory(to: Float.self))
        let mean = v.reduce(0, +) / Float(v.count)
        let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(v.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.001)
        XCTAssertEqual(std, 0.02, accuracy: 0.001)
        XCTAssertEqual(Array(g.bytes(for: g.tensor(named: "blk.0.attn_norm.weight")!).bindMemory(to: Float.self)), Array(repeating: 1, count: 64))
    }

    func testTooLittleDiskIsRefusedBeforeWriting() throws {
        let path = dir.appendingPathComponent("big.gguf").path
        let m = try SyntheticModel(shape: SyntheticShapes.named("tiny"), type: .f16, seed: 1)
        XCTAssertThrowsError(try m.write(to: path, availableBytes: { _ in 1000 })) { error in
            guard case SyntheticModelError.notEnoughSpace(_, let needed, 1000) = error else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(needed, 1000)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "no file, no temporary")
        XCTAssertGreaterThan(try DiskSpace.available(forFileAt: path), 0)
    }

    func testByteLevelTokenizerIsPaddedToTheVocabulary() throws {
        let m = try SyntheticModel(shape: SyntheticShapes.named("tiny"), type: .q8_0, seed: 1)
        let meta = Dictionary(uniqueKeysWithValues: m.metadata())
        let tokens = try XCTUnwrap(meta["tokenizer.ggml.tokens"]?.strings)
        XCTAssertEqual(tokens.count, 320)
        XCTAssertEqual(Set(tokens).count, 320)
        XCTAssertEqual(tokens[256...258], ["<s>", "</s>", "[PAD258]"])
        XCTAssertEqual(meta["tokenizer.ggml.token_type"]?.ints?.last, 5)
        XCTAssertEqual(meta["tokenizer.ggml.pre"]?.string, "gpt-2")
    }

    func testTokenizerCopiedFromAnotherModelIsPaddedOrRefused() throws {
        var tiny = TinyModel()
        tiny.vocab = 258
        let donor = try GGUFFile(path: tiny.write(to: dir))
        let m = try SyntheticModel(shape: SyntheticShapes.named("tiny"), type: .q8_0, seed: 1, tokenizerFrom: donor)
        let meta = Dictionary(uniqueKeysWithValues: m.metadata())
        let tokens = try XCTUnwrap(meta["tokenizer.ggml.tokens"]?.strings)
        XCTAssertEqual(tokens.count, 320)
        XCTAssertEqual(Array(tokens[..<258]), donor["tokenizer.ggml.tokens"]?.strings)
        XCTAssertEqual(meta["tokenizer.ggml.token_type"]?.ints?.count, 320)
        XCTAssertEqual(meta["tokenizer.ggml.bos_token_id"]?.int, 256)
        XCTAssertEqual(meta["general.synthetic.tokenizer"]?.string, donor.path)

        var big = TinyModel()
        big.vocab = 258
        let shape = SyntheticShape(name: "small-vocab", architecture: "llama", source: "test", hiddenSize: 32, layers: 1, heads: 2, kvHeads: 2,
                                   ffnLength: 64, vocabularySize: 200, contextLength: 64, ropeBase: 10000, normEpsilon: 1e-5)
        XCTAssertThrowsError(try SyntheticModel(shape: shape, type: .q8_0, seed: 1, tokenizerFrom: donor)) { error in
            XCTAssertEqual(error as? SyntheticModelError, .tokenizerTooLarge(path: donor.path, tokens: 258, vocabularySize: 200, shape: "small-vocab"))
        }
        XCTAssertThrowsError(try SyntheticModel(shape: shape, type: .q4_1, seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("Q4_0"), "\(error)")
        }
    }
}
