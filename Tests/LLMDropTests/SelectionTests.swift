// Selection rules and plan files on tiny synthetic models, where the answer is known by construction.
import Foundation
import LLMDrop
import LLMFormats
import LLMModels
import TestSupport
import XCTest

final class SelectionTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func calibration(_ model: LanguageModel) throws -> CalibrationSet {
        try CalibrationSet.fromDocuments(["The quick brown fox jumps over the lazy dog. " + String(repeating: "Pack my box with five dozen liquor jugs. ", count: 4)],
                                         tokenizer: model.tokenizer, samples: 4, length: 24, sampling: .blocks, source: "test")
    }

    /// Blocks 2 and 3 of a 6-layer model are the identity: the run of 2 consecutive blocks whose
    /// entry and exit states are most similar starts at 2 (cos = 1 exactly).
    func testConsecutiveFindsTheIdentityRun() throws {
        var tiny = TinyModel()
        tiny.layers = 6
        tiny.identityBlocks = [2, 3]
        let model = try LanguageModel(path: tiny.write(to: dir), options: LoadOptions(threads: 1))
        let scorer = RedundancyScorer(model: model)
        let span = try scorer.consecutiveSimilarity(calibration(model), span: 2)
        XCTAssertEqual(span.count, 5)
        XCTAssertEqual(span[2], 1, accuracy: 1e-6)
        XCTAssertTrue(span.enumerated().allSatisfy { $0.offset == 2 || $0.element < 0.9999 })
        let plan = try Selection.consecutive(spanSimilarity: span, count: 2, plan: model.plan)
        XCTAssertEqual(plan.droppedBlocks, [2, 3])
        // Block scores agree: identity blocks have similarity 1 and rank first.
        let scores = try scorer.score(calibration(model))
        XCTAssertEqual(scores.block[2]!, 1, accuracy: 1e-6)
        XCTAssertEqual(try Selection.oneShot(scores, target: .block, count: 2, plan: model.plan).droppedBlocks, [2, 3])
    }

    /// A run that contains a block the load plan already removed is not a candidate (such a block is the
    /// identity, so its run would look most redundant).
    func testConsecutiveSkipsRunsWithRemovedBlocks() throws {
        let plan = try LayerPlan.full(layers: 6).removing(blocks: [1])
        let span = [0.5, 0.99, 0.7, 0.6, 0.4]
        XCTAssertEqual(try Selection.consecutive(spanSimilarity: span, count: 2, plan: plan).droppedBlocks, [1, 2, 3])
    }

    /// Two models with the same tensor table but different weights (two fine-tunes of one base) have
    /// different fingerprints; the same file has the same one.
    func testFingerprintSeesTheWeights() throws {
        let a = TinyModel()
        var b = TinyModel()
        b.seed = 2
        let fa = try GGUFFile(path: a.write(to: dir)), fb = try GGUFFile(path: b.write(to: dir))
        XCTAssertEqual(fa.tensors.map(\.offset), fb.tensors.map(\.offset))
        let plan = LayerPlan.full(layers: a.layers)
        XCTAssertNotEqual(ModelFingerprint.of(fa, plan: plan), ModelFingerprint.of(fb, plan: plan))
        XCTAssertEqual(ModelFingerprint.of(fa, plan: plan), ModelFingerprint.of(try GGUFFile(path: fa.path), plan: plan))
    }

    /// Crashers the scores fuzzer found: a hand-made scores file whose lists have other lengths than
    /// the model's layers (fingerprint copied) is an error, never an index out of range.
    func testScoresOfTheWrongShapeAreRefused() throws {
        let tail = #""tokens":1,"samples":1,"seq_len":2,"sampling":"blocks","model":"m","fingerprint":"fuzz","residual":true,"calibration":"c"}"#
        let half = Array(repeating: "0.5", count: 31).joined(separator: ",")
        for (i, lists) in [#"{"attention":[0.5],"mlp":[],"block":[0.5],"#, #"{"attention":[0.5],"mlp":[0.5],"block":[],"#].enumerated() {
            let url = dir.appendingPathComponent("bad-scores-\(i).json")
            try Data((lists + tail).utf8).write(to: url)
            XCTAssertThrowsError(try ScoresFile.load(path: url.path, expectedFingerprint: "fuzz")) { XCTAssertTrue("\($0)".contains("one per layer"), "\($0)") }
        }
        let url = dir.appendingPathComponent("bad-scores-31.json")
        try Data((#"{"attention":[\#(half)],"mlp":[\#(half)],"block":[\#(half)],"# + tail).utf8).write(to: url)
        let file = try ScoresFile.load(path: url.path, expectedFingerprint: "fuzz")
        let plan = LayerPlan.full(layers: 30)
        for target in DropTarget.allCases {
            XCTAssertThrowsError(try Selection.oneShot(file.similarityScores, target: target, count: 2, plan: plan)) {
                XCTAssertEqual($0 as? SelectionError, .scoresDoNotMatch(scoreLayers: 31, modelLayers: 30))
            }
            XCTAssertEqual(Selection.ranking(file.similarityScores, target: target, plan: LayerPlan.full(layers: 40)).count,
                           target == .joint ? 62 : 31, "ranking reads only layers both have")
        }
    }

    func testJointRanksAttentionAndMLPTogether() {
        let s = SimilarityScores(attention: [0.5, 0.99, 0.9], mlp: [0.2, 0.95, 0.97], block: [0.1, 0.9, 0.8],
                                 attentionNoResidual: [0, 0, 0], mlpNoResidual: [0, 0, 0], tokens: 10)
        let full = LayerPlan.full(layers: 3)
        let plan = try! Selection.oneShot(s, target: .joint, count: 3, plan: full)
        // K=3 takes attention 1 (0.99), MLP 2 (0.97), MLP 1 (0.95): layer 1 loses both, i.e. its block.
        XCTAssertEqual(plan.attention, [true, false, true])
        XCTAssertEqual(plan.mlp, [true, false, false])
        XCTAssertEqual(plan.droppedBlocks, [1])
        XCTAssertEqual(plan.droppedMLP, [2])
    }

    func testCountMustLeaveSomethingAndBePositive() {
        let s = SimilarityScores(attention: [0.5, 0.9], mlp: [0.2, 0.9], block: [0.1, 0.9], attentionNoResidual: [0, 0], mlpNoResidual: [0, 0], tokens: 1)
        let full = LayerPlan.full(layers: 2)
        for k in [0, -1, 2, 3] {
            XCTAssertThrowsError(try Selection.oneShot(s, target: .attention, count: k, plan: full)) {
                XCTAssertEqual($0 as? SelectionError, .invalidCount(count: k, available: 2, target: .attention))
            }
        }
        XCTAssertNoThrow(try Selection.oneShot(s, target: .joint, count: 3, plan: full))
    }

    func testPlanFilesInBothForms() throws {
        let ours = dir.appendingPathComponent("plan.json")
        try Data(#"{"dropped_attention": [1, 3], "dropped_mlp": [2], "dropped_blocks": [0], "target": "joint", "method": "one-shot", "layers": 4}"#.utf8).write(to: ours)
        let p = try PlanFile.load(path: ours.path, layers: 4)
        XCTAssertEqual(p.attention, [false, false, true, false])
        XCTAssertEqual(p.mlp, [false, true, false, true])

        let indices = dir.appendingPathComponent("config.json")
        try Data(#"{"model_type": "llama", "drop_attn_list": [2, 3], "drop_mlp_list": []}"#.utf8).write(to: indices)
        XCTAssertEqual(try PlanFile.load(path: indices.path, layers: 4).droppedAttention, [2, 3])

        let flags = dir.appendingPathComponent("flags.json")
        try Data(#"{"drop_attn_list": [false, true, false, false], "drop_mlp_list": [false, false, false, true]}"#.utf8).write(to: flags)
        let f = try PlanFile.load(path: flags.path, layers: 4)
        XCTAssertEqual(f.droppedAttention, [1])
        XCTAssertEqual(f.droppedMLP, [3])
    }

    func testBadPlansAreRefused() throws {
        let outOfRange = dir.appendingPathComponent("bad.json")
        try Data(#"{"dropped_attention": [40], "dropped_mlp": [], "dropped_blocks": [], "target": "attention", "method": "one-shot", "layers": 30}"#.utf8).write(to: outOfRange)
        XCTAssertThrowsError(try PlanFile.load(path: outOfRange.path, layers: 30)) {
            XCTAssertEqual($0 as? ModelError, .invalidPlan("attention layer 40 is out of range; the model has layers 0...29"))
        }
        XCTAssertThrowsError(try PlanFile.load(path: outOfRange.path, layers: 12)) { XCTAssertTrue($0 is ModelError) }
        let flags = dir.appendingPathComponent("flags.json")
        try Data(#"{"drop_attn_list": [true, false]}"#.utf8).write(to: flags)
        XCTAssertThrowsError(try PlanFile.load(path: flags.path, layers: 4)) { XCTAssertTrue($0 is PlanFileError) }
        XCTAssertThrowsError(try PlanFile.load(path: dir.appendingPathComponent("none.json").path, layers: 4)) {
            XCTAssertEqual($0 as? PlanFileError, .notFound(dir.appendingPathComponent("none.json").path))
        }
        let notAPlan = dir.appendingPathComponent("other.json")
        try Data(#"{"hello": 1}"#.utf8).write(to: notAPlan)
        XCTAssertThrowsError(try PlanFile.load(path: notAPlan.path, layers: 4)) { XCTAssertTrue($0 is PlanFileError) }
    }

    /// Plans people write by hand: any subset of the three lists, no provenance.
    func testHandWrittenPlansLoad() throws {
        let cases: [(String, [Int], [Int], [Int])] = [
            (#"{"dropped_attention": [1, 2], "dropped_mlp": [], "dropped_blocks": []}"#, [1, 2], [], []),
            (#"{"dropped_attention": [3]}"#, [3], [], []),
            (#"{"dropped_mlp": [0], "dropped_blocks": [2]}"#, [], [0], [2]),
            (#"{}"#, [], [], []),
        ]
        for (i, (json, attention, mlp, blocks)) in cases.enumerated() {
            let url = dir.appendingPathComponent("hand\(i).json")
            try Data(json.utf8).write(to: url)
            let p = try PlanFile.load(path: url.path, layers: 4)
            XCTAssertEqual(p.droppedAttention, attention, json)
            XCTAssertEqual(p.droppedMLP, mlp, json)
            XCTAssertEqual(p.droppedBlocks, blocks, json)
        }
    }

    /// Errors name the file and the field, never a Swift DecodingError description.
    func testPlanErrorsNameTheField() throws {
        func message(_ json: String) throws -> String {
            let url = dir.appendingPathComponent("msg.json")
            try Data(json.utf8).write(to: url)
            do {
                _ = try PlanFile.load(path: url.path, layers: 4)
            } catch {
                let text = "\(error)"
                XCTAssertTrue(text.contains(url.path), text)
                XCTAssertFalse(text.contains("DecodingError") || text.contains("CodingKeys") || text.contains("codingPath"), text)
                return text
            }
            XCTFail("\(json) was accepted")
            return ""
        }
        XCTAssertTrue(try message(#"{"dropped_attention": [1], "droped_mlp": [2]}"#).contains("unknown field 'droped_mlp'"))
        XCTAssertTrue(try message(#"{"dropped_attention": [1, "two"]}"#).contains("field 'dropped_attention[1]' should be an integer"))
        XCTAssertTrue(try message(#"{"dropped_attention": 3}"#).contains("field 'dropped_attention' should be a list"))
        XCTAssertTrue(try message(#"{"dropped_attention": [1], "layers": "many"}"#).contains("field 'layers' should be an integer"))
        XCTAssertTrue(try message(#"{"dropped_attention": [1"#).contains("not valid JSON"))
        XCTAssertTrue(try message(#"[1, 2]"#).contains("not a JSON object"))
    }

    func testScoresFileErrorsNameTheField() throws {
        let url = dir.appendingPathComponent("scores-bad.json")
        try Data(#"{"attention": [0.9], "mlp": [0.8], "block": [0.7], "tokens": 3}"#.utf8).write(to: url)
        XCTAssertThrowsError(try ScoresFile.load(path: url.path, expectedFingerprint: "x")) {
            XCTAssertEqual($0 as? ScoresFileError, .malformed(path: url.path, reason: "field 'samples' is missing"))
        }
    }

    func testScoresFileFromAnotherModelIsRefused() throws {
        let a = try LanguageModel(path: TinyModel().write(to: dir), options: LoadOptions(threads: 1))
        var other = TinyModel()
        other.layers = 3
        let b = try LanguageModel(path: other.write(to: dir), options: LoadOptions(threads: 1))
        let set = try calibration(a)
        let file = ScoresFile(scores: try RedundancyScorer(model: a).score(set), residual: true, calibration: set, seqLen: 24,
                              model: "a", fingerprint: ModelFingerprint.of(a.source, plan: a.plan))
        let path = dir.appendingPathComponent("scores.json").path
        try file.write(to: path)
        XCTAssertEqual(try ScoresFile.load(path: path, expectedFingerprint: ModelFingerprint.of(a.source, plan: a.plan)), file)
        XCTAssertThrowsError(try ScoresFile.load(path: path, expectedFingerprint: ModelFingerprint.of(b.source, plan: b.plan))) {
            XCTAssertEqual($0 as? ScoresFileError, .otherModel(path: path, model: "a"))
        }
        // The same file under another load-time plan is another model too.
        let dropped = try a.plan.removing(attention: [1])
        XCTAssertThrowsError(try ScoresFile.load(path: path, expectedFingerprint: ModelFingerprint.of(a.source, plan: dropped)))
    }

    /// A dropped attention layer allocates no KV cache: 2 × kept layers × KV heads × head dim × 4 bytes per token.
    func testKVCacheShrinksWithDroppedAttention() throws {
        let tiny = TinyModel()
        let model = try LanguageModel(path: tiny.write(to: dir), options: LoadOptions(threads: 1, plan: LayerPlan.full(layers: 4).removing(attention: [1, 2])))
        let cache = try model.makeCache(capacity: 10)
        XCTAssertEqual(model.kvCacheBytesPerToken, 2 * 2 * 2 * 4 * 4)
        XCTAssertEqual(cache.allocatedBytes, 10 * model.kvCacheBytesPerToken)
    }
}
