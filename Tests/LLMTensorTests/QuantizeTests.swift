// Q8_0 / Q4_0 quantisers against ggml's reference quantize_row_q8_0_ref / quantize_row_q4_0_ref on rows
// built so the expected bytes are known by hand (scale, rounding of halves, the clamp at 15), and
// dequantise(quantise(x)) within half a step of x (plus the f16 rounding of the scale); Q4_K's block_q4_K
// layout on exact levels read back by the dequantiser, and its round trip within the stated bound; F16 / BF16
// rounding to nearest even.
import LLMTensor
import TestSupport
import XCTest

final class QuantizeTests: XCTestCase {
    func encode(_ type: GGMLType, _ x: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: type.byteCount(elements: x.count)!)
        x.withUnsafeBufferPointer { xb in out.withUnsafeMutableBytes { Quantize.encode(type, xb.baseAddress!, $0.baseAddress!, count: x.count) } }
        return out
    }

    func decode(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
        var f = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { Dequant.reference(type, $0.baseAddress!, &f, count: count) }
        return f
    }

    func testQ8_0ScaleAndHalvesAwayFromZero() {
        // amax 127 → d = 1 exactly; 2.5 → 3, −2.5 → −3, 0.5 → 1 (roundf), −0.49 → 0.
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127; x[1] = 2.5; x[2] = -2.5; x[3] = 0.5; x[4] = -0.49; x[5] = -127; x[6] = 64.4
        let b = encode(.q8_0, x)
        XCTAssertEqual(b.count, 34)
        XCTAssertEqual(UInt16(b[0]) | UInt16(b[1]) << 8, Float16(1).bitPattern)
        XCTAssertEqual(b[2...8].map { Int8(bitPattern: $0) }, [127, 3, -3, 1, 0, -127, 64])
        XCTAssertEqual(decode(.q8_0, b, count: 32)[1], 3)
        // All zeros: d = 0, every quant 0.
        XCTAssertEqual(encode(.q8_0, [Float](repeating: 0, count: 32)), [UInt8](repeating: 0, count: 34))
    }

    func testQ4_0SignedScaleNibblesAndClamp() {
        // x_j = j − 16: the largest magnitude is −16 (j = 0), so d = −16 / −8 = 2, id = 0.5;
        // q = trunc(x/2 + 8.5) clamped to 15: j = 0 → 0, j = 31 (x = 15) → 16 → 15, x = 1 → 9, x = −1 → 8.
        let x = (0..<32).map { Float($0 - 16) }
        let b = encode(.q4_0, x)
        XCTAssertEqual(b.count, 18)
        XCTAssertEqual(UInt16(b[0]) | UInt16(b[1]) << 8, Float16(2).bitPattern)
        var q: [UInt8] = []
        for j in 0..<32 { q.append(j < 16 ? b[2 + j] & 0x0F : b[2 + j - 16] >> 4) }
        for j in 0..<32 {
            let expected = min(15, Int((Float(j - 16) * 0.5 + 8.5).rounded(.towardZero)))
            XCTAssertEqual(Int(q[j]), expected, "q[\(j)]")
        }
        XCTAssertEqual(q[0], 0)
        XCTAssertEqual(q[31], 15)
        XCTAssertEqual(q[17], 9)
        XCTAssertEqual(q[15], 8)
        let y = decode(.q4_0, b, count: 32)
        XCTAssertEqual(y[0], -16)
        XCTAssertEqual(y[31], 14)   // 15 is out of Q4_0's range for this block: clamped to (15 − 8)·2
        XCTAssertEqual(y[17], 2)    // 1 is halfway between 0 and 2: q = trunc(9.0) = 9
    }

    func testRoundTripWithinHalfAStep() {
        var g = SystemRandomNumberGenerator()
        for type in [GGMLType.q8_0, .q4_0] {
            let x = (0..<32 * 64).map { _ in Float.random(in: -3...3, using: &g) }
            let y = decode(type, encode(type, x), count: x.count)
            for b in 0..<64 {
                let block = x[(32 * b)..<(32 * b + 32)]
                let amax = block.map(abs).max()!
                let step = type == .q8_0 ? amax / 127 : amax / 8
                let signedMax = block.first { abs($0) == amax }!
                for j in block.indices {
                    // Q4_0 spans −8…7 steps from the value of largest magnitude's side: values beyond 7.5
                    // steps on the other side are clamped to 7, up to a whole step away.
                    let clamped = type == .q4_0 && x[j] * (-8 / signedMax) > 7.5
                    // Plus the scale's rounding to f16 (relative 2⁻¹¹) times the largest quant.
                    let bound = (clamped ? step : step * 0.5) + step * (type == .q8_0 ? 127 : 8) / 2048 + 1e-6
                    XCTAssertLessThanOrEqual(abs(y[j] - x[j]), bound, "\(type) block \(b) index \(j)")
                }
            }
        }
    }

    func testQ4_KLayoutOnExactLevels() {
        // d = dmin = 1 exactly (a step and a −min of 63): sub-block j holds −m_j + sc_j·q for q = l % 16,
        // which the quantiser must store as sc_j, m_j and q, and our dequantiser (checked against llama.cpp's
        // fixtures) must return exactly.
        let sc: [Float] = [63, 1, 2, 17, 40, 33, 48, 5], m: [Float] = [0, 63, 7, 16, 31, 32, 50, 63]
        let x = (0..<256).map { i in -m[i / 32] + sc[i / 32] * Float(i % 32 % 16) }
        let b = encode(.q4_K, x)
        XCTAssertEqual(b.count, 144)
        XCTAssertEqual(UInt16(b[0]) | UInt16(b[1]) << 8, Float16(1).bitPattern, "d")
        XCTAssertEqual(UInt16(b[2]) | UInt16(b[3]) << 8, Float16(1).bitPattern, "dmin")
        // scales[0…3]: sc 0–3 in the low 6 bits, the top 2 bits of sc 4–7 (40 → 2, 33 → 2, 48 → 3, 5 → 0) above;
        // scales[4…7]: m 0–3 and the top bits of m 4–7 (31 → 1, 32 → 2, 50 → 3, 63 → 3); scales[8…11]: low
        // nibbles of sc 4–7 and m 4–7.
        let scales: [UInt8] = [63 + 2 * 64, 1 + 2 * 64, 2 + 3 * 64, 17, 0 + 1 * 64, 63 + 2 * 64, 7 + 3 * 64, 16 + 3 * 64,
                               8 + 15 * 16, 1 + 0 * 16, 0 + 2 * 16, 5 + 15 * 16]
        XCTAssertEqual(Array(b[4..<16]), scales)
        XCTAssertEqual(b[16 + 5], 5 + 5 * 16, "weight 5 of sub-blocks 0 and 1: level 5")
        XCTAssertEqual(decode(.q4_K, b, count: 256), x)
        // All zeros: zero scales, zero quants.
        XCTAssertEqual(encode(.q4_K, [Float](repeating: 0, count: 256)), [UInt8](repeating: 0, count: 144))
    }

    func testQ4_KRoundTripWithinTheStatedBound() {
        var g = SeededGenerator(seed: 11)
        func uniform(_ a: Float, _ b: Float) -> Float { a + (b - a) * Float(g.next(below: 1 << 24)) / Float(1 << 24) }
        // Normal-like weights of scale 0.02, all-positive and all-negative blocks, one wide sub-block among narrow ones.
        var x: [Float] = (0..<256 * 16).map { _ in (0..<4).map { _ in uniform(-0.035, 0.035) }.reduce(0, +) }
        x += (0..<256).map { _ in uniform(0.5, 2) } + (0..<256).map { _ in uniform(-3, -1) }
        x += (0..<256).map { $0 < 32 ? uniform(-10, 10) : uniform(-0.1, 0.1) }
        let y = decode(.q4_K, encode(.q4_K, x), count: x.count)
        var worst: Float = 0
        for b in 0..<x.count / 256 {
            let bound = q4KErrorBound(x[(256 * b)..<(256 * b + 256)])
            for i in 0..<256 {
                let e = abs(y[256 * b + i] - x[256 * b + i])
                XCTAssertLessThanOrEqual(e, bound[i], "block \(b) weight \(i)")
                worst = max(worst, e / bound[i])
            }
        }
        print("Q4_K round trip: largest error \(worst) of the bound")
        // A fit, not just a bound: the normal-like blocks' RMS error is about step / √12 (uniform rounding).
        let normal = zip(x.prefix(256 * 16), y).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Float(256 * 16)
        let expected: Float = 0.14 / 15 / Float(12).squareRoot()
        XCTAssertLessThan(normal.squareRoot(), expected * 1.5)
    }

    func testHalfPrecisionRoundsToNearestEven() {
        let tie: Float = 1 + 1 / 256   // exactly between two BF16 values: to the even one, 1.0
        XCTAssertEqual(Quantize.bf16(tie), 0x3F80)
        XCTAssertEqual(Quantize.bf16(1 + 3 / 256), 0x3F82)   // between 0x3F81 and 0x3F82: to even 0x3F82
        XCTAssertEqual(Quantize.bf16(-2), 0xC000)
        XCTAssertTrue(Float(bitPattern: UInt32(Quantize.bf16(.nan)) << 16).isNaN)
        XCTAssertEqual(encode(.f16, [1, 65504, 1e-8]), [0x00, 0x3C, 0xFF, 0x7B, 0x00, 0x00])
        XCTAssertEqual(encode(.f32, [1.5]), [0x00, 0x00, 0xC0, 0x3F])
    }
}
