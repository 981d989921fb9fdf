// Exact re-encodings (`Repack`): the repacked blocks dequantise to the stored weights bit for bit, and
// their products agree with the stored form's scalar twin as any fused product does.
import LLMTensor
import XCTest

final class RepackTests: XCTestCase {
    private func repacked(_ type: GGMLType, _ raw: [UInt8], count: Int) -> (GGMLType, [UInt8]) {
        let target = Repack.target(for: type)!
        var out = [UInt8](repeating: 0, count: target.byteCount(elements: count)!)
        raw.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { Repack.convert(type, src.baseAddress!, into: $0.baseAddress!, blocks: count / type.blockSize) }
        }
        return (target, out)
    }

    func testOnlyQ5_0HasARepackedForm() {
        for type in GGMLType.allCases {
            XCTAssertEqual(Repack.target(for: type), type == .q5_0 ? .q8_0 : nil, "\(type)")
        }
    }

    /// The gguf package's fixture and random blocks, plus blocks whose quants are all 0 or all 31 (the
    /// ends of the signed byte range −16 … 15).
    func testRepackedWeightsEqualStoredOnesBitForBit() throws {
        let (fixture, expected) = try QuantTestData.fixture(.q5_0)
        var rows = [fixture] + [1, 7, 64].map { QuantTestData.randomRow(.q5_0, count: $0 * 32, seed: UInt64($0)) }
        for fill: UInt8 in [0x00, 0xFF] {
            var block = [UInt8](repeating: fill, count: 22)
            block[0] = 0x00; block[1] = 0x3C  // d = 1
            rows.append(block)
        }
        for raw in rows {
            let count = raw.count / 22 * 32
            let (target, packed) = repacked(.q5_0, raw, count: count)
            let stored = QuantTestData.dequantReference(.q5_0, raw, count: count)
            let got = QuantTestData.dequantReference(target, packed, count: count)
            if let i = QuantTestData.firstBitMismatch(got, stored) {
                XCTFail("\(count) weights: repacked weight \(i) is \(got[i]), stored \(stored[i])")
            }
        }
        XCTAssertEqual(QuantTestData.dequantReference(.q8_0, repacked(.q5_0, fixture, count: 1024).1, count: 1024), expected)
        let ends = repacked(.q5_0, rows[rows.count - 2], count: 32).1 + repacked(.q5_0, rows[rows.count - 1], count: 32).1
        XCTAssertEqual(QuantTestData.dequantReference(.q8_0, ends, count: 64), Array(repeating: -16, count: 32) + Array(repeating: 15, count: 32))
    }

    /// The repacked product against the stored form's scalar twin, in every kernel set, within the bound
    /// every fused product meets (1e-5 · Σ|wx|).
    func testRepackedProductsMatchStoredReference() {
        QuantTestData.forEachKernelSet { set in
            for blocks in [1, 2, 20, 64] {
                let count = blocks * 32
                let raw = QuantTestData.randomRow(.q5_0, count: count, seed: UInt64(blocks) &* 977)
                let x = QuantTestData.randomVector(count, seed: UInt64(blocks) ^ 0x5EED)
                let (target, packed) = repacked(.q5_0, raw, count: count)
                let w = QuantTestData.dequantReference(.q5_0, raw, count: count)
                let magnitude = zip(w, x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
                let ref = raw.withUnsafeBytes { QuantDot.dotReference(.q5_0, $0.baseAddress!, x, count: count) }
                let fast = packed.withUnsafeBytes { QuantDot.dot(target, $0.baseAddress!, x, count: count) }
                XCTAssertLessThanOrEqual(abs(fast - ref), 1e-5 * magnitude, "\(set), \(count) weights: \(fast) vs \(ref)")
            }
        }
    }
}
