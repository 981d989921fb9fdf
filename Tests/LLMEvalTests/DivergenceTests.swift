// KL divergence and top-1 agreement between an original and a dropped model, checked against the
// definition computed directly from both models' logits.
import Foundation
import LLMEval
import LLMModels
import LLMTensor
import TestSupport
import XCTest

final class DivergenceTests: XCTestCase {
    func testMatchesDefinitionOnTinyModel() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try LanguageModel(path: TinyModel().write(to: dir), options: LoadOptions(threads: 1))
        let dropped = try original.removing(LayerPlan.full(layers: 4).removing(attention: [1], mlp: [2]))
        let windows = [Array(10..<40), Array(100..<120)]
        let r = try DivergenceEvaluator(original: original, dropped: dropped, rowsPerBatch: 32).evaluate(windows: windows)

        var kl: [Double] = [], agree = 0, nllP = 0.0, nllQ = 0.0
        for w in windows {
            let p = try original.forward([w], logits: .all), q = try dropped.forward([w], logits: .all)
            for t in 0..<(w.count - 1) {
                let a = p.row(t).map(Double.init), b = q.row(t).map(Double.init)
                let lseA = log(a.map { exp($0) }.reduce(0, +)), lseB = log(b.map { exp($0) }.reduce(0, +))
                kl.append(zip(a, b).reduce(0) { $0 + exp($1.0 - lseA) * (($1.0 - lseA) - ($1.1 - lseB)) })
                agree += a.firstIndex(of: a.max()!) == b.firstIndex(of: b.max()!) ? 1 : 0
                nllP += lseA - a[w[t + 1]]
                nllQ += lseB - b[w[t + 1]]
            }
        }
        let n = Double(kl.count)
        XCTAssertEqual(r.tokens, 29 + 19)
        XCTAssertEqual(r.meanKL, kl.reduce(0, +) / n, accuracy: 1e-6)
        XCTAssertGreaterThan(r.meanKL, 1e-4)
        XCTAssertEqual(r.top1Agreement, Double(agree) / n, accuracy: 1e-12)
        XCTAssertEqual(r.perplexityOriginal, exp(nllP / n), accuracy: 1e-6 * r.perplexityOriginal)
        XCTAssertEqual(r.perplexityDropped, exp(nllQ / n), accuracy: 1e-6 * r.perplexityDropped)

        let same = try DivergenceEvaluator(original: original, dropped: original).evaluate(windows: windows)
        XCTAssertEqual(same.meanKL, 0, accuracy: 1e-9)
        XCTAssertEqual(same.top1Agreement, 1)
        XCTAssertEqual(same.perplexityRatio, 1, accuracy: 1e-12)
    }
}
