// Importance metrics: each metric on hand-made activations gives the value computed by hand, the kl
// metric agrees with the divergence evaluator it mirrors, and every metric ranks in its own direction.
import Foundation
import LLMDrop
import LLMEval
import LLMModels
import TestSupport
import XCTest

final class MetricsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// One layer, two tokens, width 2, fed through the hook points in forward order:
    ///   X  = [[3,4],[1,0]]   Norm₁X = [[1,0],[0,1]]   A = Attn = [[0,4],[1,1]]   X' = X + A = [[3,8],[2,1]]
    ///   Norm₂X' = [[1,1],[1,0]]   M = MLP = [[-3,0],[0,2]]   Y = X' + M = [[0,8],[2,3]]
    /// Hand-computed means over the two tokens:
    ///   attention  cos(X, X'):  (41/(5√73) + 2/√5)/2 = 0.927082299     angular 0.119108066   ‖A‖/‖X‖ (4/5 + √2/1)/2 = 1.107106781
    ///   MLP        cos(X', Y):  (64/(8√73) + 7/√65)/2 = 0.902286160     angular 0.139724796   ‖M‖/‖X'‖ (3/√73 + 2/√5)/2 = 0.622775316
    ///   block      cos(X, Y):   (32/40 + 2/√13)/2 = 0.677350098        angular 0.258832861   ‖Y−X‖/‖X‖ (5/5 + √10/1)/2 = 2.081138830
    ///   no residual: attention cos(Norm₁X, A) = (0 + 1/√2)/2 = 0.353553391 (angular (1/2 + 1/4)/2 = 0.375);
    ///                MLP cos(Norm₂X', M) = (−1/√2 + 0)/2 = −0.353553391 (angular (3/4 + 1/2)/2 = 0.625)
    func testActivationMetricsOnConstructedActivations() throws {
        let acc = SimilarityAccumulator(plan: .full(layers: 1))
        func feed(_ p: HookPoint, _ v: [Float]) { v.withUnsafeBufferPointer { acc.observe(p, layer: 0, values: $0.baseAddress!, rows: 2, width: 2) } }
        feed(.blockIn, [3, 4, 1, 0])
        feed(.attnIn, [1, 0, 0, 1])
        feed(.attnOut, [0, 4, 1, 1])
        feed(.attnResidual, [3, 8, 2, 1])
        feed(.mlpIn, [1, 1, 1, 0])
        feed(.mlpOut, [-3, 0, 0, 2])
        feed(.blockOut, [0, 8, 2, 3])

        let expected: [(ImportanceMetric, Bool, [Double])] = [
            (.cosine, true, [0.9270822990040932, 0.902286159846752, 0.6773500981126146]),
            (.angular, true, [0.11910806556482927, 0.13972479587923797, 0.2588328614440673]),
            (.relativeNorm, true, [1.1071067811865476, 0.6227753162941538, 2.08113883008419]),
            (.cosine, false, [0.35355339059327373, -0.3535533905932738, 0.6773500981126146]),
            (.angular, false, [0.375, 0.625, 0.2588328614440673]),
        ]
        for (metric, residual, values) in expected {
            let s = try XCTUnwrap(acc.moduleScores(metric, residual: residual))
            XCTAssertEqual(s.metric, metric)
            XCTAssertEqual(s.tokens, 2)
            for (got, want, what) in [(s.attention[0], values[0], "attention"), (s.mlp[0], values[1], "MLP"), (s.block[0], values[2], "block")] {
                XCTAssertEqual(try XCTUnwrap(got), want, accuracy: 1e-7, "\(metric.rawValue) \(what) residual=\(residual)")
            }
        }
        XCTAssertNil(acc.moduleScores(.kl))
        // The cosine metric is the similarity `score` reports.
        XCTAssertEqual(acc.moduleScores(.cosine)!.attention, acc.scores.attention)
        XCTAssertEqual(acc.moduleScores(.cosine)!.block, acc.scores.block)
    }

    /// KL(p ‖ q) for p = softmax(0, ln 2) = (1/3, 2/3), q = softmax(0, 0) = (1/2, 1/2):
    /// 1/3·ln(2/3) + 2/3·ln(4/3) = 0.056633012.
    func testKLOfTwoDistributions() {
        XCTAssertEqual(OutputDivergenceScorer.divergence([0, Float(log(2.0))], [0, 0]), 0.056633012265132426, accuracy: 1e-7)
        XCTAssertEqual(OutputDivergenceScorer.divergence([1, 2, 3], [1, 2, 3]), 0, accuracy: 1e-12)
    }

    /// A module's kl value is the mean KL divergence the divergence evaluator measures for the model
    /// without that module on the same text; an identity block's modules score 0. The reference
    /// budget is small so that several batches are used.
    func testKLMetricMatchesDivergenceEvaluator() throws {
        var tiny = TinyModel()
        tiny.identityBlocks = [2]
        let model = try LanguageModel(path: tiny.write(to: dir), options: LoadOptions(threads: 1))
        let set = try CalibrationSet.selfGenerated(model: model, samples: 3, length: 12, seed: 5)
        let scorer = OutputDivergenceScorer(model: model, referenceBudget: model.vocabularySize * 4 * 15)
        var calls = 0
        let s = try scorer.score(set, kinds: [.attention, .mlp, .block]) { _, _ in calls += 1 }
        XCTAssertEqual(s.metric, .kl)
        XCTAssertEqual(s.tokens, 3 * 11)
        XCTAssertEqual(calls, 3 * (1 + 4 * 3), "3 batches, each the model once and 12 variants")
        for l in 0..<4 {
            for (kind, value) in [(Module.Kind.attention, s.attention[l]), (.mlp, s.mlp[l]), (.block, s.block[l])] {
                let plan = Selection.removing(Module(kind: kind, layer: l), from: model.plan)
                let reference = try DivergenceEvaluator(original: model, dropped: model.removing(plan)).evaluate(windows: set.samples).meanKL
                let got = try XCTUnwrap(value)
                XCTAssertEqual(got, reference, accuracy: 1e-6 * max(1, reference), "\(kind) \(l)")
                if l == 2 { XCTAssertEqual(got, 0, accuracy: 1e-6, "the identity block's \(kind)") } else { XCTAssertGreaterThan(got, 1e-4) }
            }
        }
        // Only the kinds asked for are scored.
        let attentionOnly = try scorer.score(set, kinds: [.attention])
        XCTAssertEqual(attentionOnly.mlp, [nil, nil, nil, nil])
        XCTAssertEqual(attentionOnly.attention, s.attention)
    }

    /// Cosine drops its highest value first; the other metrics their lowest. Joint ranks attention and
    /// MLP values in one list.
    func testRankingDirection() {
        let cos = ModuleScores(metric: .cosine, attention: [0.9, 0.99, 0.95], mlp: [0.5, 0.97, 0.6], block: [0.4, 0.9, 0.5], tokens: 1)
        XCTAssertEqual(cos.ranking(target: .attention, plan: .full(layers: 3)).map(\.module.layer), [1, 2, 0])
        XCTAssertEqual(cos.ranking(target: .attention, plan: .full(layers: 3)).map(\.value), [0.99, 0.95, 0.9])
        for metric in [ImportanceMetric.angular, .relativeNorm, .kl] {
            let s = ModuleScores(metric: metric, attention: [0.3, 0.01, 0.2], mlp: [0.02, 0.5, 0.1], block: [1, 2, 0.5], tokens: 1)
            XCTAssertEqual(s.ranking(target: .attention, plan: .full(layers: 3)).map(\.module.layer), [1, 2, 0], metric.rawValue)
            XCTAssertEqual(s.ranking(target: .block, plan: .full(layers: 3)).map(\.module.layer), [2, 0, 1], metric.rawValue)
            let joint = s.ranking(target: .joint, plan: .full(layers: 3)).prefix(3).map { "\($0.module.kind.rawValue)\($0.module.layer)" }
            XCTAssertEqual(joint, ["attention1", "mlp0", "mlp2"], metric.rawValue)
            XCTAssertEqual(s.ranking(target: .attention, plan: .full(layers: 3)).first?.value, 0.01)
        }
    }

    func testMetricNames() throws {
        XCTAssertEqual(try ImportanceMetric.list("cosine,kl,cosine"), [.cosine, .kl])
        XCTAssertEqual(try ImportanceMetric.list("all"), ImportanceMetric.allCases)
        XCTAssertEqual(try ImportanceMetric.list("relative-norm"), [.relativeNorm])
        XCTAssertThrowsError(try ImportanceMetric.list("cosine,euclid")) { e in
            XCTAssertEqual("\(e)", "unknown metric 'euclid'; choose from cosine, angular, relative-norm, kl (comma-separated, or all)")
        }
    }

    /// One-shot order = the ranking; iterative re-scores: with the identity block it is removed first
    /// by every metric (cosine 1, angular 0, relative norm 0, KL 0).
    func testEveryMetricDropsTheIdentityBlockFirst() throws {
        var tiny = TinyModel()
        tiny.layers = 5
        tiny.identityBlocks = [3]
        let model = try LanguageModel(path: tiny.write(to: dir), options: LoadOptions(threads: 1))
        let set = try CalibrationSet.selfGenerated(model: model, samples: 2, length: 10, seed: 1)
        let scorer = MetricScorer(model: model, calibration: set)
        for metric in ImportanceMetric.allCases {
            for iterative in [false, true] {
                let order = try scorer.order(metric, target: .block, count: 2, plan: model.plan, iterative: iterative)
                XCTAssertEqual(order.count, 2)
                XCTAssertEqual(order.first?.module, Module(kind: .block, layer: 3), "\(metric.rawValue) iterative=\(iterative)")
                XCTAssertEqual(order.first!.value, metric == .cosine ? 1 : 0, accuracy: 1e-6)
            }
            let oneShot = try scorer.order(metric, target: .attention, count: 3, plan: model.plan, iterative: false)
            XCTAssertEqual(oneShot.map(\.module), try scorer.scores(metric, plan: model.plan).ranking(target: .attention, plan: model.plan).prefix(3).map(\.module))
        }
    }
}
