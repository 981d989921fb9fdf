// The sweep grid on tiny synthetic models: points equal the separate measurements they stand for,
// an interrupted sweep resumes with what it saved, analytic costs match a hand count, and bad grids
// are refused before any work.
import Foundation
import LLMDrop
import LLMEval
import LLMModels
import TestSupport
import XCTest

final class SweepTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func settings(targets: [DropTarget] = [.attention, .mlp, .block, .joint], counts: [Int] = [0, 1, 2],
                  metrics: [ImportanceMetric] = [.cosine, .kl], tasks: [String] = []) -> SweepSettings {
        SweepSettings(targets: targets, counts: counts, metrics: metrics, calibration: "test", calibrationArguments: ["--calibration", "self"],
                      heldOut: "test", heldOutArguments: ["--data", "self"], tasks: tasks, costContext: 16, command: "llm-drop sweep test")
    }

    func runner(_ model: LanguageModel, _ s: SweepSettings, tasks: [TaskFile] = []) throws -> SweepRunner {
        try SweepRunner(model: model, modelPath: model.source.path, settings: s, tasks: tasks,
                        calibration: { try CalibrationSet.selfGenerated(model: model, samples: 3, length: 12, seed: 0) },
                        windows: { try CalibrationSet.selfGenerated(model: model, samples: 3, length: 16, seed: 99).samples })
    }

    /// With a needle grid, every point carries the pass-key accuracy a separate needle run of its plan
    /// gives, by length; the report draws it and the CSV has it; a sweep without it is not resumed.
    func testNeedleAtEveryPointEqualsASeparateNeedleRun() throws {
        var tiny = TinyModel()
        tiny.contextLength = 512
        let model = try LanguageModel(path: tiny.write(to: dir), options: LoadOptions(threads: 1))
        let grid = NeedleGrid(lengths: [300, 400, 1024], depths: [0, 100], trials: 2, seed: 5)   // 1024 > context 512: skipped
        var s = settings(targets: [.attention, .block], counts: [0, 2], metrics: [.cosine])
        let plain = try runner(model, s).run()
        s.needle = grid
        let result = try runner(model, s).run(previous: plain)
        XCTAssertEqual(result.points.count, 4)
        for p in result.points {
            let needle = try XCTUnwrap(p.needle, "\(p.target) \(p.count)")
            let alone = try NeedleEvaluator.evaluate(model: model.removing(p.dropPlan.layerPlan(layers: model.layerCount)), grid: grid)
            XCTAssertEqual(needle, SweepNeedle(alone))
            XCTAssertEqual(needle.total, 2 * 2 * 2)
            XCTAssertEqual(needle.lengths, [300, 400])
            XCTAssertEqual(needle.accuracyByLength.count, 2)
        }
        XCTAssertNotEqual(result.key, plain.key, "the needle grid is part of what a point measures")
        XCTAssertTrue(SweepReport.html(result).contains("Pass-key retrieval"))
        XCTAssertTrue(result.csv().split(separator: "\n")[0].contains("needle_accuracy"))
        XCTAssertFalse(SweepReport.html(plain).contains("Pass-key retrieval"))
    }

    /// Every grid point is the plan its metric's ranking gives at that count, measured exactly as the
    /// divergence evaluator measures that plan alone; equal plans are measured once.
    func testPointsEqualSeparateMeasurements() throws {
        let model = try LanguageModel(path: TinyModel().write(to: dir), options: LoadOptions(threads: 1))
        let taskPath = dir.appendingPathComponent("t.jsonl").path
        try Data((0..<4).map { #"{"id": \#($0), "context": "The sky is", "choices": [" blue", " green", " loud"], "gold": 0}"# }.joined(separator: "\n").utf8)
            .write(to: URL(fileURLWithPath: taskPath))
        let task = try TaskFile(path: taskPath)
        let s = settings(tasks: [taskPath])
        let result = try runner(model, s, tasks: [task]).run()
        XCTAssertTrue(result.complete)
        XCTAssertEqual(result.points.count, 2 * 4 * 3)
        let calibration = try CalibrationSet.selfGenerated(model: model, samples: 3, length: 12, seed: 0)
        let windows = try CalibrationSet.selfGenerated(model: model, samples: 3, length: 16, seed: 99).samples
        let cosine = try RedundancyScorer(model: model).score(calibration)
        let kl = try OutputDivergenceScorer(model: model).score(calibration, kinds: [.attention, .mlp, .block])
        var measured = 0
        for p in result.points {
            let scores = p.metric == .cosine ? ModuleScores(cosine) : kl
            let plan = p.count == 0 ? model.plan
                : scores.ranking(target: p.target, plan: model.plan).prefix(p.count).reduce(model.plan) { Selection.removing($1.module, from: $0) }
            XCTAssertEqual([p.droppedAttention, p.droppedMLP, p.droppedBlocks], [plan.droppedAttention, plan.droppedMLP, plan.droppedBlocks], "\(p.metric) \(p.target) \(p.count)")
            let dropped = try model.removing(plan)
            XCTAssertEqual(p.divergence, try DivergenceEvaluator(original: model, dropped: dropped).evaluate(windows: windows))
            XCTAssertEqual(p.cost, PlanCost.of(config: model.config, source: model.source, plan: plan, context: 16))
            var t = try XCTUnwrap(p.tasks[taskPath])
            var reference = try TaskEvaluator(model: dropped).evaluate(task).result
            (t.seconds, reference.seconds) = (0, 0)
            XCTAssertEqual(t, reference)
            if p.seconds > 0 { measured += 1 }
        }
        let distinct = Set(result.points.map(\.planKey)).count
        XCTAssertEqual(measured, distinct, "each distinct plan measured once")
        XCTAssertEqual(result.scores(.cosine)?.attention, cosine.attention)
        XCTAssertEqual(result.scores(.kl)?.mlp, kl.mlp)
        // The CSV has a header and one row per point.
        XCTAssertEqual(result.csv().split(separator: "\n").count, 1 + result.points.count)
        XCTAssertTrue(result.csv().hasPrefix("metric,target,count,dropped_attention"))
        // JSON round trip.
        XCTAssertEqual(try SweepResult.decode(result.jsonData()), result)
    }

    struct Interrupt: Error {}

    /// A sweep stopped after a few points resumes from its saved state: it measures only the rest and
    /// ends with the same result as one that ran through.
    func testResumesAfterInterrupt() throws {
        let model = try LanguageModel(path: TinyModel().write(to: dir), options: LoadOptions(threads: 1))
        let s = settings(metrics: [.cosine, .angular])
        let whole = try runner(model, s).run()
        var saved: SweepResult?
        var saves = 0
        XCTAssertThrowsError(try runner(model, s).run { r in
            saved = r
            saves += 1
            if saves == 5 { throw Interrupt() }
        })
        let partial = try XCTUnwrap(saved)
        XCTAssertFalse(partial.complete)
        XCTAssertGreaterThan(partial.points.count, 0)
        XCTAssertLessThan(partial.points.count, whole.points.count)
        var calibrations = 0, texts = 0
        let again = try SweepRunner(model: model, modelPath: model.source.path, settings: s,
                                    calibration: { calibrations += 1; return try CalibrationSet.selfGenerated(model: model, samples: 3, length: 12, seed: 0) },
                                    windows: { texts += 1; return try CalibrationSet.selfGenerated(model: model, samples: 3, length: 16, seed: 99).samples })
        var remeasured = 0
        let resumed = try again.run(previous: SweepResult.decode(partial.jsonData()),
                                    observer: SweepObserver(point: { if $0.seconds > 0 { remeasured += 1 } }))
        XCTAssertEqual(calibrations, 0, "scores and orders were saved: no scoring again")
        XCTAssertEqual(texts, 0, "the held-out windows were saved")
        XCTAssertEqual(partial.heldOutWindows, try CalibrationSet.selfGenerated(model: model, samples: 3, length: 16, seed: 99).samples)
        XCTAssertEqual(partial.calibrationSamples, try CalibrationSet.selfGenerated(model: model, samples: 3, length: 12, seed: 0).samples)
        XCTAssertEqual(remeasured, Set(whole.points.map(\.planKey)).subtracting(partial.points.map(\.planKey)).count)
        XCTAssertEqual(resumed.points.map(\.planKey), whole.points.map(\.planKey))
        XCTAssertEqual(resumed.points.map(\.divergence), whole.points.map(\.divergence))
        XCTAssertTrue(resumed.complete)

        // Another calibration: the metrics score and rank again, but plans already measured are not
        // measured again (a plan measures the same however it was chosen).
        var otherCalibration = s
        otherCalibration.calibrationArguments = ["--calibration", "self", "--seed", "7"]
        var scored = 0
        let rescored = try SweepRunner(model: model, modelPath: model.source.path, settings: otherCalibration,
                                       calibration: { scored += 1; return try CalibrationSet.selfGenerated(model: model, samples: 3, length: 12, seed: 7) },
                                       windows: { try CalibrationSet.selfGenerated(model: model, samples: 3, length: 16, seed: 99).samples })
        XCTAssertEqual(rescored.key, whole.key)
        XCTAssertNotEqual(rescored.selectionKey(.cosine), try runner(model, s).selectionKey(.cosine))
        var remeasuredAfterRescoring = 0
        let r2 = try rescored.run(previous: whole, observer: SweepObserver(point: { progress in
            if progress.seconds > 0 {
                remeasuredAfterRescoring += 1
                XCTAssertFalse(whole.points.contains { $0.planKey == progress.point.planKey })
            }
        }))
        XCTAssertEqual(scored, 1)
        XCTAssertTrue(r2.selections.allSatisfy { $0.key == rescored.selectionKey($0.metric) })

        // Other held-out text: a different key, everything is measured again.
        var otherText = s
        otherText.heldOutArguments = ["--data", "self", "--seed", "8"]
        let fresh = try runner(model, otherText)
        XCTAssertNotEqual(fresh.key, whole.key)
        var reused = 0
        _ = try fresh.run(previous: whole, observer: SweepObserver(point: { if $0.seconds == 0 { reused += 1 } }))
        XCTAssertEqual(reused, whole.points.count - Set(whole.points.map(\.planKey)).count, "only repeats within the new run are reused")
    }

    /// FLOPs, weight bytes and KV cache by hand for the tiny model (D 16, 4 heads, 2 KV heads, head dim
    /// 4, FFN 32, vocabulary 258, f32, tied head) at 10 tokens of context:
    ///   attention per layer 2·16·(4+2·2)·4 + 2·16·16 + 4·16·10 = 1024 + 512 + 640 = 2176 FLOPs,
    ///     weights 4·(16 + 256 + 128 + 128 + 256) = 3136 bytes;
    ///   MLP per layer 6·16·32 = 3072 FLOPs, weights 4·(16 + 3·512) = 6208 bytes;
    ///   head 2·16·258 = 8256 FLOPs, 4·(16·258 + 16) = 16576 bytes; KV 2·8·4 = 64 bytes per token per layer.
    func testAnalyticCost() throws {
        let model = try LanguageModel(path: TinyModel().write(to: dir), options: LoadOptions(threads: 1))
        let full = PlanCost.of(config: model.config, source: model.source, plan: model.plan, context: 10)
        XCTAssertEqual(full.flopsPerToken, 4 * (2176 + 3072) + 8256)
        XCTAssertEqual(full.weightBytesPerToken, 4 * (3136 + 6208) + 16576)
        XCTAssertEqual(full.kvCacheBytesPerToken, 4 * 64)
        XCTAssertEqual(full.kvCacheBytes, 4 * 64 * 10)
        let plan = try model.plan.removing(attention: [1], mlp: [2], blocks: [3])
        let cut = PlanCost.of(config: model.config, source: model.source, plan: plan, context: 10)
        XCTAssertEqual(cut.flopsPerToken, full.flopsPerToken - 2 * 2176 - 2 * 3072)
        XCTAssertEqual(cut.weightBytesPerToken, full.weightBytesPerToken - 2 * 3136 - 2 * 6208)
        XCTAssertEqual(cut.kvCacheBytesPerToken, 2 * 64)
    }

    /// A count that would drop every module of a target, and malformed grids, are refused up front.
    func testGridIsCheckedBeforeAnyWork() throws {
        let model = try LanguageModel(path: TinyModel().write(to: dir), options: LoadOptions(threads: 1))
        var called = false
        XCTAssertThrowsError(try SweepRunner(model: model, modelPath: "m", settings: settings(counts: [0, 4]),
                                             calibration: { called = true; throw Interrupt() }, windows: { called = true; throw Interrupt() })) { e in
            XCTAssertEqual("\(e)", "--counts goes up to 4, but the model has 4 attention modules left to drop and at least one must stay; use counts up to 3 for --targets attention")
        }
        XCTAssertFalse(called)
        XCTAssertEqual(try SweepGrid.counts("0:16:2"), [0, 2, 4, 6, 8, 10, 12, 14, 16])
        XCTAssertEqual(try SweepGrid.counts("8,2,2,0"), [0, 2, 8])
        XCTAssertEqual(try SweepGrid.counts("1:3"), [1, 2, 3])
        XCTAssertThrowsError(try SweepGrid.counts("0:16:0"))
        XCTAssertThrowsError(try SweepGrid.counts("a,b"))
        XCTAssertThrowsError(try SweepGrid.counts("-2,4")) { XCTAssertEqual("\($0)", "--counts has -2; counts are numbers of modules to drop, 0 or more") }
        XCTAssertEqual(try SweepGrid.targets("block,attention,block"), [.block, .attention])
        XCTAssertThrowsError(try SweepGrid.targets("attention,heads")) { XCTAssertEqual("\($0)", "unknown target 'heads'; choose from attention, mlp, block, joint (comma-separated)") }
        XCTAssertEqual(SweepGrid.defaultSpeedCounts([0, 2, 4, 6, 8]), [2, 6, 8])
        // joint counts attention and MLP together: 7 of 8 is allowed.
        XCTAssertNoThrow(try SweepGrid.validate(counts: [7], targets: [.joint], plan: model.plan))
    }

    /// Speed is measured once for the model and every distinct plan at the speed counts, interleaved
    /// in one benchmark; ratios are to the model; a rerun measures again only with other bench options.
    func testSpeedAtAFewCounts() throws {
        let model = try LanguageModel(path: TinyModel().write(to: dir), options: LoadOptions(threads: 1))
        var s = settings(targets: [.attention, .block], metrics: [.cosine])
        s.speedCounts = [1, 2]
        s.speedArguments = ["--prompt-tokens", "8"]
        var calls: [[String?]] = []
        func make(_ s: SweepSettings) throws -> SweepRunner {
            try SweepRunner(model: model, modelPath: model.source.path, settings: s,
                            calibration: { try CalibrationSet.selfGenerated(model: model, samples: 3, length: 12, seed: 0) },
                            windows: { try CalibrationSet.selfGenerated(model: model, samples: 3, length: 16, seed: 99).samples },
                            speed: { variants in
                                calls.append(variants.map(\.plan))
                                return variants.enumerated().flatMap { i, v in
                                    [8, 16].map { n in
                                        SpeedRun(model: v.name, plan: v.plan, promptTokens: n, prefillTokensPerSecond: 100 * Double(i + 1),
                                                 genTokens: n == 8 ? 4 : 0, decodeTokensPerSecond: n == 8 ? 10 * Double(i + 2) : nil,
                                                 kvCacheBytes: v.model.kvCacheBytesPerToken * n, peakRSSBytes: 1)
                                    }
                                }
                            })
        }
        let r = try make(s).run()
        XCTAssertEqual(calls, [[nil, "attention 1", "attention 2", "block 1", "block 2"]])
        XCTAssertEqual(r.speed.count, 5)
        XCTAssertEqual(r.speed[0].count, 0)
        XCTAssertNil(r.speed[0].target)
        XCTAssertEqual(r.speed.map(\.prefillSpeedup), [1, 2, 3, 4, 5])
        XCTAssertEqual(r.speed.map(\.decodeSpeedup), [1, 1.5, 2, 2.5, 3])
        XCTAssertEqual(r.speed[2].planKey, r.point(metric: .cosine, target: .attention, count: 2)?.planKey)
        XCTAssertEqual(r.speed[2].promptTokens, 8)
        _ = try make(s).run(previous: r)
        XCTAssertEqual(calls.count, 1, "same bench options: not measured again")
        s.speedArguments = ["--prompt-tokens", "16"]
        let again = try make(s).run(previous: r)
        XCTAssertEqual(calls.count, 2, "other bench options: measured again")
        XCTAssertEqual(again.points.map(\.divergence), r.points.map(\.divergence))
        XCTAssertTrue(r.csv().contains(",2,1.5\n"), "speed-ups in the CSV")
    }

    /// The Pareto front keeps the points no other beats on both axes (larger x, smaller y).
    func testParetoFront() {
        let pts = [(1.0, 1.0), (1.2, 1.1), (1.1, 1.3), (1.5, 2.0), (1.4, 2.5), (1.5, 1.9)].map { ChartPoint(x: $0.0, y: $0.1) }
        XCTAssertEqual(SVGChart.paretoFront(pts).map { [$0.x, $0.y] }, [[1, 1], [1.2, 1.1], [1.5, 1.9]])
    }
}
