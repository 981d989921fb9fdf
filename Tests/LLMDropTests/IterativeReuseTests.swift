// Iterative dropping that restarts each re-scoring at the first layer the last removal changed
// (ResumableActivations) chooses the same modules with the same scores, bit for bit, as re-scoring every
// plan from the embeddings — on a tiny synthetic model and on SmolLM2, with every layer's input kept, with
// one kept layer, and with several forward calls per pass. The layer-progress hook hears resumed calls too.
import Foundation
import LLMDrop
import LLMFormats
import LLMModels
import LLMTensor
import TestSupport
import XCTest

final class IterativeReuseTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Iterative selection with a `PlanScorer`: the plan, each step's module and similarity, and every
    /// plan's full scores.
    func iterate(_ scorer: PlanScorer, target: DropTarget, count: Int, starts: inout [Int]) throws
        -> (plan: LayerPlan, steps: [String], scores: [SimilarityScores]) {
        var steps: [String] = [], all: [SimilarityScores] = [], found: [Int] = []
        let plan = try Selection.iterative(target: target, count: count, plan: scorer.model.plan, score: { plan in
            let s = try scorer.scores(plan)
            all.append(s)
            found.append(scorer.lastStartLayer)
            return s
        }) { step, module, similarity in steps.append("\(step) \(module.kind.rawValue) \(module.layer) \(similarity.bitPattern)") }
        starts = found
        return (plan, steps, all)
    }

    func check(model: LanguageModel, set: CalibrationSet, target: DropTarget, count: Int, rowsPerBatch: Int) throws -> [Int] {
        let tokens = set.samples.reduce(0) { $0 + $1.count }
        let perLayer = tokens * model.hiddenSize * 4
        var none: [Int] = [], every: [Int] = [], one: [Int] = []
        let plain = try iterate(PlanScorer(model: model, calibration: set, rowsPerBatch: rowsPerBatch), target: target, count: count, starts: &none)
        let allKept = PlanScorer(model: model, calibration: set, rowsPerBatch: rowsPerBatch, keepBytes: model.layerCount * perLayer)
        XCTAssertEqual(allKept.keptLayers, Array(1..<model.layerCount))
        let reused = try iterate(allKept, target: target, count: count, starts: &every)
        let oneKept = PlanScorer(model: model, calibration: set, rowsPerBatch: rowsPerBatch, keepBytes: perLayer + perLayer / 2)
        XCTAssertEqual(oneKept.keptLayers, [model.layerCount / 2])
        let half = try iterate(oneKept, target: target, count: count, starts: &one)

        XCTAssertEqual(none, Array(repeating: 0, count: count), "without kept inputs every pass starts at the embeddings")
        XCTAssertEqual(plain.plan, reused.plan)
        XCTAssertEqual(plain.steps, reused.steps)
        XCTAssertEqual(plain.scores, reused.scores, "every score bit for bit")
        XCTAssertEqual(plain.plan, half.plan)
        XCTAssertEqual(plain.steps, half.steps)
        XCTAssertEqual(plain.scores, half.scores)
        // Each re-scoring restarts at the layer of the previous step's removal (all kept), or at the kept
        // middle layer when the removal is at or above it.
        let layers = plain.steps.map { Int($0.split(separator: " ")[2])! }
        XCTAssertEqual(every, [0] + layers.dropLast().map { $0 })
        XCTAssertEqual(one, [0] + layers.dropLast().map { $0 >= model.layerCount / 2 ? model.layerCount / 2 : 0 })
        return layers
    }

    func testTinyModelSameChoicesAndScoresBitForBit() throws {
        var tiny = TinyModel()
        tiny.layers = 8
        tiny.seed = 5
        let model = try LanguageModel(path: tiny.write(to: dir), options: LoadOptions(threads: 2))
        var g = SeededGenerator(seed: 3)
        let samples = (0..<6).map { _ in (0..<24).map { _ in Int(g.next(below: 256)) } }
        let set = CalibrationSet(samples: samples, source: "test", sampling: "blocks")
        for target in [DropTarget.attention, .mlp, .block, .joint] {
            // One call per pass, and three calls of two samples.
            let layers = try check(model: model, set: set, target: target, count: 5, rowsPerBatch: 1024)
            XCTAssertEqual(try check(model: model, set: set, target: target, count: 5, rowsPerBatch: 48), layers, target.rawValue)
        }
        // The metric scorer reuses the same way, for every activation metric.
        for metric in [ImportanceMetric.cosine, .angular, .relativeNorm] {
            let plain = try MetricScorer(model: model, calibration: set).order(metric, target: .attention, count: 5, plan: model.plan, iterative: true)
            let reused = try MetricScorer(model: model, calibration: set, keepBytes: 1 << 20).order(metric, target: .attention, count: 5, plan: model.plan, iterative: true)
            XCTAssertEqual(plain.map(\.module), reused.map(\.module), metric.rawValue)
            XCTAssertEqual(plain.map(\.value.bitPattern), reused.map(\.value.bitPattern), metric.rawValue)
        }
    }

    /// `LanguageModel.layerProgress` hears every layer of every forward call, a resumed call from its first.
    func testLayerProgressHearsEachLayerOfEachCall() throws {
        var tiny = TinyModel()
        tiny.layers = 8
        let model = try LanguageModel(path: tiny.write(to: dir), options: LoadOptions(threads: 2))
        let set = CalibrationSet(samples: (0..<6).map { s in (0..<16).map { (s * 7 + $0) % 256 } }, source: "test", sampling: "blocks")
        var heard: [String] = []
        LanguageModel.layerProgress = { layer, layers in heard.append("\(layer + 1)/\(layers)") }
        defer { LanguageModel.layerProgress = nil }
        let scorer = PlanScorer(model: model, calibration: set, rowsPerBatch: 32, keepBytes: 1 << 20)
        _ = try scorer.scores(model.plan)
        let call = (1...8).map { "\($0)/8" }
        XCTAssertEqual(heard, call + call + call, "three calls of two samples, eight layers each")
        heard = []
        _ = try scorer.scores(Selection.removing(Module(kind: .attention, layer: 5), from: model.plan))
        XCTAssertEqual(scorer.lastStartLayer, 5)
        XCTAssertEqual(heard, Array(repeating: ["6/8", "7/8", "8/8"], count: 3).flatMap { $0 })
    }

    func testSmolLM2SameChoicesAndScoresBitForBit() throws {
        let model = try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 2))
        let docs = try TextCorpus.documents(at: TestPaths.fixture("data/c4_demo.json").path)
        let set = try CalibrationSet.fromDocuments(docs, tokenizer: model.tokenizer, samples: 8, length: 64, sampling: .blocks, source: "c4")
        let layers = try check(model: model, set: set, target: .attention, count: 4, rowsPerBatch: 256)
        print("SmolLM2 attention layers dropped, in order: \(layers)")
    }
}
