// Vectorised elementwise kernels against their plain-math definitions.
import Foundation
import LLMTensor
import XCTest

final class KernelTests: XCTestCase {
    func testVectorExpWithinTwoUlpOfLibm() {
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

    func testSoftmaxAndSiluMulMatchScalarFormulas() {
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
        let n = 49_157  // a vocabulary-sized row with a scalar tail
        let xs = (0..<n).map { Float(sin(Double($0) * 0.37)) * 12 - 3 }
        let want = { () -> Double in
            let m = Double(xs.max()!)
            return m + log(xs.reduce(0.0) { $0 + exp(Double($1) - m) })
        }()
        let got = xs.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, n) }
        XCTAssertEqual(got, want, accuracy: 1e-6)
    }
}
