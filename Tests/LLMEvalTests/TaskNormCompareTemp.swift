// TEMPORARY: compares acc_norm under the two length rules; deleted after measuring.
import Foundation
import LLMEval
import LLMModels
import TestSupport
import XCTest

final class TaskNormCompareTemp: XCTestCase {
    func testCompareNorms() throws {
        guard ProcessInfo.processInfo.environment["NORM_COMPARE"] != nil else { throw XCTSkip("manual") }
        let model = try TaskTestModel.load()
        for t in ["piqa", "arc_easy"] {
            let items = try TaskTestModel.items("data/\(t)/mc.jsonl", count: 500)
            let e = try TaskEvaluator(model: model).evaluate(items, task: t)
            var a = 0, b = 0, differ = 0
            for (item, s) in zip(items, e.items) {
                guard case .multipleChoice(_, let choices, let gold) = item.body else { continue }
                let lls = s.logLikelihoods.map(\.value)
                let p1 = MultipleChoiceScoring.predictions(logLikelihoods: lls, lengths: choices.map { MultipleChoiceScoring.length(of: $0, .lmEval) })!.accNorm
                let p2 = MultipleChoiceScoring.predictions(logLikelihoods: lls, lengths: choices.map { MultipleChoiceScoring.length(of: $0, .utf8Bytes) })!.accNorm
                a += p1 == gold ? 1 : 0; b += p2 == gold ? 1 : 0; differ += p1 != p2 ? 1 : 0
            }
            print("NORMCMP \(t): lmEval acc_norm \(Double(a)/500) bytes acc_norm \(Double(b)/500) differing predictions \(differ) acc \(e.result.acc)")
        }
    }
}
