// Needle evaluation: exact-match scoring of decoded continuations, the trial runner (its KV-cache
// decoding agrees with plain greedy generation; lengths over the context are skipped), the real SmolLM2
// retrieving its pass key at 1024 tokens, and the HTML report's heat-map.
import Foundation
import LLMEval
import LLMModels
import TestSupport
import XCTest

final class NeedleEvaluatorTests: XCTestCase {
    func testExactMatchScoring() {
        let key = "12345"
        for (continuation, right) in [(" 12345.", true), (" 12345", true), ("12345 is the pass key", true), ("\n 12345\n", true),
                                      (" 123456", false), (" 1234", false), (" 12346.", false), (" the key is 12345", false),
                                      ("", false), (" 12345a", false)] {
            XCTAssertEqual(NeedleScoring.isCorrect(continuation: continuation, answer: key), right, "'\(continuation)'")
        }
        XCTAssertEqual(NeedleScoring.prediction(continuation: " 12346. Remember", answer: key), "12346")
        XCTAssertEqual(NeedleScoring.prediction(continuation: " unknown", answer: key), "")
        XCTAssertTrue(NeedleScoring.isDecided(continuation: " 12345.", answer: key))
        XCTAssertTrue(NeedleScoring.isDecided(continuation: " The", answer: key))
        XCTAssertFalse(NeedleScoring.isDecided(continuation: " 1234", answer: key))
        XCTAssertFalse(NeedleScoring.isDecided(continuation: " ", answer: key))

        let answer = "saffron"
        XCTAssertTrue(NeedleScoring.isCorrect(continuation: " saffron, of course.", answer: answer))
        XCTAssertTrue(NeedleScoring.isCorrect(continuation: " saffron", answer: answer))
        XCTAssertFalse(NeedleScoring.isCorrect(continuation: " saffrons", answer: answer))
        XCTAssertFalse(NeedleScoring.isCorrect(continuation: " Saffron", answer: answer))
        XCTAssertFalse(NeedleScoring.isCorrect(continuation: " pepper", answer: answer))
        XCTAssertEqual(NeedleScoring.prediction(continuation: " saffron and salt\nMore", answer: answer), "saffron and salt")
        XCTAssertTrue(NeedleScoring.isDecided(continuation: " saffron.\n", answer: answer))
        XCTAssertFalse(NeedleScoring.isDecided(continuation: " saffron", answer: answer))
    }

    /// On a tiny random model: the cached prefill + greedy decode of a trial is plain greedy generation,
    /// lengths over the context are skipped, and results repeat exactly.
    func testTrialRunnerOnTinyModel() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try LanguageModel(path: TinyModel().write(to: dir), options: LoadOptions(threads: 1))
        let test = try NeedleTest(needle: .custom(needle: "The code is 42.", question: "The code is", answer: "42"))
        let grid = NeedleGrid(lengths: [120, 200, 300], depths: [0, 50, 100], trials: 2, seed: 9)
        var calls: [Int] = []
        let r = try NeedleEvaluator.evaluate(model: model, grid: grid, test: test) { done, total in
            calls.append(done)
            XCTAssertEqual(total, 12)
        }
        XCTAssertEqual(calls, Array(1...12))
        XCTAssertEqual(r.skippedLengths, [300])
        XCTAssertEqual(r.lengths, [120, 200])
        XCTAssertEqual(r.trials.count, 12)
        XCTAssertEqual(r.cells.count, 6)
        XCTAssertEqual(r.total, 12)
        XCTAssertEqual(r.correct, r.trials.filter(\.correct).count)
        XCTAssertEqual(r.test.kind, "custom")

        let prompts = try NeedleEvaluator(model: model, test: test).prompts(grid: grid).prompts
        for ((_, p), t) in zip(prompts, r.trials) {
            XCTAssertEqual(t.promptTokens, p.tokens.count)
            XCTAssertLessThanOrEqual(t.promptTokens + p.decodeBudget, t.length)
            XCTAssertEqual(t.correct, NeedleScoring.isCorrect(continuation: t.continuation, answer: "42"))
            let g = try Generator(model: model).generate(prompt: p.tokens, maxTokens: t.generatedTokens, stopAtEOS: false)
            XCTAssertEqual(model.tokenizer.decode(g.generated, special: false), t.continuation)
        }
        let again = try NeedleEvaluator.evaluate(model: model, grid: grid, test: test)
        XCTAssertEqual(again.trials.map(\.continuation), r.trials.map(\.continuation))
        XCTAssertEqual(again.trials.map(\.answer), r.trials.map(\.answer))
    }

    /// The real SmolLM2-135M retrieves its pass key at 1024 tokens, needle at the start, middle and end.
    func testSmolLM2RetrievesPasskeyAt1024Tokens() throws {
        let model = try LanguageModel(path: TestPaths.smollm2())
        let r = try NeedleEvaluator.evaluate(model: model, grid: NeedleGrid(lengths: [1024], depths: [0, 50, 100], trials: 1, seed: 1234))
        for t in r.trials {
            XCTAssertTrue(t.correct, "depth \(t.depth): key \(t.answer), continuation '\(t.continuation)'")
            XCTAssertEqual(t.prediction, t.answer)
            XCTAssertGreaterThan(t.promptTokens, 1024 - 16)
        }
        XCTAssertEqual(r.accuracy, 1)
    }

    func testHeatmapReport() throws {
        // Greyscale: the palette's luminance rises with the value, by a visible step per tenth.
        let lum = stride(from: 0.0, through: 1.0, by: 0.1).map(SVGHeatmap.luminance)
        for (a, b) in zip(lum, lum.dropFirst()) { XCTAssertGreaterThan(b - a, 0.015) }

        func trial(_ n: Int, _ d: Double, _ ok: Bool) -> NeedleTrial {
            NeedleTrial(length: n, depth: d, actualDepth: d, trial: 0, answer: "12345", prediction: ok ? "12345" : "5<4", continuation: "",
                        correct: ok, promptTokens: n - 10, needlePosition: 5, generatedTokens: 7, prefillSeconds: 1, decodeSeconds: 0.1)
        }
        let trials = [trial(1024, 0, true), trial(1024, 50, true), trial(2048, 0, true), trial(2048, 50, false)]
        let cells = [(1024, 0.0, 1), (1024, 50.0, 1), (2048, 0.0, 1), (2048, 50.0, 0)].map {
            NeedleCell(length: $0.0, depth: $0.1, correct: $0.2, trials: 1, accuracy: Double($0.2), seconds: 1.1)
        }
        let r = NeedleResult(test: NeedleTestInfo(.passkey), grid: NeedleGrid(lengths: [1024, 2048, 8192], depths: [0, 50], trials: 1),
                             skippedLengths: [8192], cells: cells, trials: trials, correct: 3, total: 4, accuracy: 0.75, seconds: 4.4, prefillSeconds: 4)
        let html = NeedleReport.html(model: "/models/a<b>.gguf", plan: "plan.json", results: [("original", r), ("dropped", r)])
        XCTAssertTrue(html.hasPrefix("<!doctype html>"))
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"), "no network references")
        XCTAssertFalse(html.contains("a<b>"))
        XCTAssertTrue(html.contains("a&lt;b&gt;.gguf"))
        XCTAssertTrue(html.contains("5&lt;4"))
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 3, "two heat-maps and a legend")
        // Numbers are SVG text: 100 and 0 percent cells, the length and depth labels, "ctx" for the skipped length.
        XCTAssertTrue(html.contains(">100</text>"))
        XCTAssertTrue(html.contains(">0</text>"))
        XCTAssertTrue(html.contains(">2k</text>"))
        XCTAssertTrue(html.contains(">50 %</text>"))
        XCTAssertTrue(html.contains(">ctx</text>"))
        XCTAssertTrue(html.contains(SVGHeatmap.color(1)) && html.contains(SVGHeatmap.color(0)))
        XCTAssertEqual(SVGHeatmap.textColor(0), "#ffffff")
        XCTAssertEqual(SVGHeatmap.textColor(1), "#000000")
    }
}
