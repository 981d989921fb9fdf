// Vectorised elementwise kernels, in every kernel set this CPU runs, against their plain-math definitions.
import Foundation
import LLMTensor
import XCTest

final class KernelTests: XCTestCase {
    func testVectorExpWithinTwoUlpOfLibm() {
        QuantTestData.forEachKernelSet { _ in vectorExpWithinTwoUlpOfLibm() }
    }

    func vectorExpWithinTwoUlpOfLibm() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let lanes = SIMD16<Float>((0..<16).map { x + Float($0) * 0.0037 })
            let got = Kernels.exp(lanes)
            for i in 0..<16 {
                let want = Foundation.exp(lanes[i])
                worst = max(worst, abs(got[i] - want) / want.ulp)
            }
            x += 0.0593
        }
        XCTAssertLessThanOrEqual(worst, 2, "worst error \(worst) ulp")
    }

    func testMaximumEqualsScalarMaximumAtEveryLengthAndPosition() {
        QuantTestData.forEachKernelSet { _ in maximumEqualsScalarMaximumAtEveryLengthAndPosition() }
    }

    func maximumEqualsScalarMaximumAtEveryLengthAndPosition() {
        // The maximum in the 16-lane body, in the tail, first and last; all negative; -infinity (masked).
        for n in [1, 15, 16, 17, 31, 32, 33, 100] {
            for at in Set([0, n / 2, n - 1]) {
                var xs = (0..<n).map { -Float($0 % 7) - 2.5 }
                xs[at] = -0.75
                if n > 2 { xs[(at + 1) % n] = -.infinity }
                XCTAssertEqual(xs.withUnsafeBufferPointer { Kernels.maximum($0.baseAddress!, n) }, xs.max()!, "n \(n), at \(at)")
            }
        }
    }

    func testSoftmaxAndSiluMulMatchScalarFormulas() {
        QuantTestData.forEachKernelSet { _ in softmaxAndSiluMulMatchScalarFormulas() }
    }

    func softmaxAndSiluMulMatchScalarFormulas() {
        let n = 37  // exercises the 16-lane body and the scalar tail
        let xs = (0..<n).map { Float(sin(Double($0) * 1.3)) * 9 }
        var soft = xs
        soft.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, n) }
        let m = xs.max()!
        let denom = xs.reduce(0.0) { $0 + Foundation.exp(Double($1 - m)) }
        for i in 0..<n { XCTAssertEqual(Double(soft[i]), Foundation.exp(Double(xs[i] - m)) / denom, accuracy: 1e-6) }

        var gate = xs
        let up = xs.map { $0 * 0.5 + 1 }
        gate.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { Kernels.siluMul(g.baseAddress!, $0.baseAddress!, n) } }
        for i in 0..<n {
            let g = Double(xs[i])
            XCTAssertEqual(Double(gate[i]), g / (1 + Foundation.exp(-g)) * Double(up[i]), accuracy: 1e-5 * max(1, abs(g)))
        }
    }

    func testLogSumExpMatchesFloat64Definition() {
        QuantTestData.forEachKernelSet { _ in logSumExpMatchesFloat64Definition() }
    }

    func logSumExpMatchesFloat64Definition() {
        let n = 49_157  // a vocabulary-sized row with a scalar tail
        let xs = (0..<n).map { Float(sin(Double($0) * 0.37)) * 12 - 3 }
        let want = { () -> Double in
            let m = Double(xs.max()!)
            return m + log(xs.reduce(0.0) { $0 + exp(Double($1) - m) })
        }()
        let got = xs.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, n) }
        XCTAssertEqual(got, want, accuracy: 1e-6)
    }

    func testGeluTanhMulMatchesScalarTwin() {
        QuantTestData.forEachKernelSet { _ in geluTanhMulMatchesScalarTwin() }
    }

    func geluTanhMulMatchesScalarTwin() {
        let n = 41
        let xs = (0..<n).map { Float(sin(Double($0) * 0.9)) * 7 }
        let up = xs.map { 1 - $0 * 0.25 }
        var gate = xs
        gate.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { Kernels.geluTanhMul(g.baseAddress!, $0.baseAddress!, n) } }
        for i in 0..<n {
            let want = Kernels.geluTanh(xs[i]) * up[i]
            XCTAssertEqual(gate[i], want, accuracy: 2e-6 * max(1, abs(want)), "x = \(xs[i])")
        }
        // Known values of GELU (tanh form): gelu(1) = 0.841192, gelu(−1) = −0.158808.
        XCTAssertEqual(Kernels.geluTanh(1), 0.841_192, accuracy: 1e-6)
        XCTAssertEqual(Kernels.geluTanh(-1), -0.158_808, accuracy: 1e-6)
    }

    /// NEOX RoPE rotates (x[i], x[i + d/2]); adjacent-pair RoPE on the interleaved permutation of the
    /// same vector gives the same numbers in the permuted places (the converter's Q/K permutation).
    func testNeoxRopeEqualsAdjacentRopeOnPermutedVector() {
        let headDim = 8, half = 4
        let x: [Float] = (0..<headDim).map { Float($0) * 0.7 - 2 }
        let angles = (0..<half).map { Float($0 + 1) * 0.3 }
        let c = angles.map { Foundation.cos($0) }, s = angles.map { Foundation.sin($0) }
        var neox = x
        neox.withUnsafeMutableBufferPointer { Kernels.ropeNeox($0.baseAddress!, rows: 1, heads: 1, headDim: headDim, cos: c, sin: s, halfDims: half) }
        var interleaved = (0..<headDim).map { x[$0 % 2 == 0 ? $0 / 2 : half + $0 / 2] }
        interleaved.withUnsafeMutableBufferPointer { Kernels.rope($0.baseAddress!, rows: 1, heads: 1, headDim: headDim, cos: c, sin: s, halfDims: half) }
        for i in 0..<half {
            XCTAssertEqual(neox[i], interleaved[2 * i], accuracy: 1e-6)
            XCTAssertEqual(neox[i + half], interleaved[2 * i + 1], accuracy: 1e-6)
        }
        XCTAssertEqual(neox[0], x[0] * c[0] - x[4] * s[0], accuracy: 1e-6)
    }
}
