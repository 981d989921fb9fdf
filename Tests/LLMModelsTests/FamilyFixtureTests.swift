// Every supported family against transformers on tiny random-weight models that llama.cpp's own
// converter wrote (Tests/Fixtures/families, made by scripts/make-family-fixtures.py): logits of every
// position within 1.5e-5 relative L2 (10× the 1.3e-6 measured; the issue asks 1e-4) (at every 16th vocabulary id, and the full last row), the same
// argmax at every position. Prompts longer than the sliding window check the window.
import Foundation
import LLMFormats
import LLMModels
import TestSupport
import XCTest

final class FamilyFixtureTests: XCTestCase {
    struct Expected {
        let ids: [Int]
        let columns: [Float]   // [T, V / stride]
        let last: [Float]      // [V]
        let argmax: [Int]
    }

    func folder(_ family: String) throws -> URL { try TestPaths.fixture("families/\(family)/model.gguf").deletingLastPathComponent() }

    func floats(_ url: URL) throws -> [Float] {
        try Data(contentsOf: url).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// The prompts of a family; `variant` "nowindow" reads the reference computed without a sliding window.
    func expected(_ family: String, variant: String? = nil) throws -> [Expected] {
        let dir = try folder(family)
        let json = try XCTUnwrap(TestPaths.json(dir.appendingPathComponent("logits.json")) as? [String: Any])
        XCTAssertEqual(json["column_stride"] as? Int, 16)
        return try XCTUnwrap(json["prompts"] as? [[String: Any]]).compactMap { p in
            let source = variant.map { p[$0] as? [String: Any] } ?? p
            guard let source else { return nil }
            return Expected(ids: try XCTUnwrap(p["ids"] as? [Int]),
                            columns: try floats(dir.appendingPathComponent(try XCTUnwrap(source["cols_file"] as? String))),
                            last: try floats(dir.appendingPathComponent(try XCTUnwrap(source["last_file"] as? String))),
                            argmax: try XCTUnwrap(source["argmax"] as? [Int]))
        }
    }

    /// Compares the model's logits with the reference; returns the worst relative L2 error.
    @discardableResult
    func check(_ model: LanguageModel, _ prompts: [Expected], _ label: String) throws -> Double {
        var worst = 0.0
        for (i, p) in prompts.enumerated() {
            let logits = try model.forward([p.ids], logits: .all)
            let V = logits.cols
            let columns = (0..<p.ids.count).flatMap { t in stride(from: 0, to: V, by: 16).map { logits.storage[t * V + $0] } }
            let last = Array(logits.row(p.ids.count - 1))
            let errs = [relativeL2(columns, p.columns), relativeL2(last, p.last)]
            worst = max(worst, errs.max()!)
            XCTAssertLessThan(errs.max()!, 1.5e-5, "\(label) prompt \(i) (\(p.ids.count) tokens): relative L2 \(errs)")
            let argmax = (0..<p.ids.count).map { t in (0..<V).max { logits.storage[t * V + $0] < logits.storage[t * V + $1] }! }
            XCTAssertEqual(argmax, p.argmax, "\(label) prompt \(i): argmax per position")
        }
        print("\(label): worst relative L2 \(worst) over \(prompts.count) prompts, all positions")
        return worst
    }

    func load(_ family: String) throws -> LanguageModel {
        try LanguageModel(path: folder(family).appendingPathComponent("model.gguf").path, options: LoadOptions(threads: 2))
    }

    func testLlamaQKPermutation() throws {
        let m = try load("llama")
        XCTAssertEqual(m.config.rope.style, .adjacent)
        try check(m, expected("llama"), "llama")
    }

    func testQwen2BiasesAndUntiedHead() throws {
        let m = try load("qwen2")
        XCTAssertEqual(m.config.architecture, .qwen2)
        XCTAssertTrue(m.config.traits.qkvBias)
        XCTAssertFalse(m.config.tiedEmbeddings)
        try check(m, expected("qwen2"), "qwen2")
    }

    func testQwen3QKNorms() throws {
        let m = try load("qwen3")
        XCTAssertEqual(m.config.architecture, .qwen3)
        XCTAssertTrue(m.config.traits.qkNorm)
        try check(m, expected("qwen3"), "qwen3")
    }

    func testGemma3SlidingAndGlobalLayers() throws {
        let m = try load("gemma3")
        XCTAssertEqual((0..<6).map(m.config.isSliding), [true, true, true, true, true, false])
        XCTAssertEqual(m.config.slidingWindow[0], 16)
        try check(m, expected("gemma3"), "gemma3")
    }

    /// llama.cpp's converter writes Mistral as plain `llama` without its window: the file alone runs
    /// with full attention (as llama.cpp runs it); with `llama.attention.sliding_window` set in the
    /// metadata, every layer attends to that window, as transformers computes it.
    func testMistralSlidingWindowWhenTheMetadataSetsOne() throws {
        let plain = try load("mistral")
        XCTAssertEqual(plain.config.slidingWindow, [0, 0, 0, 0])
        let windowless = try expected("mistral", variant: "nowindow")
        XCTAssertEqual(windowless.count, 2)
        try check(plain, windowless, "mistral as llama.cpp runs it (no window)")

        let source = try GGUFFile(path: folder("mistral").appendingPathComponent("model.gguf").path)
        var w = GGUFWriter(copyingMetadataFrom: source)
        w.set("llama.attention.sliding_window", .uint32(16))
        for t in source.tensors { try w.addTensor(t, from: source) }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mistral-window-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: out) }
        try w.write(to: out.path)
        let windowed = try LanguageModel(path: out.path, options: LoadOptions(threads: 2))
        XCTAssertEqual(windowed.config.slidingWindow, [16, 16, 16, 16])
        try check(windowed, expected("mistral"), "mistral with its window")
    }
}
