// Dequantisation: the scalar reference against the `gguf` Python package (committed fixtures, bit for
// bit), and the SIMD fast path, in every kernel set this CPU runs, against the scalar reference (bit
// for bit).
import LLMTensor
import XCTest

final class DequantizeTests: XCTestCase {
    func testReferenceMatchesGGUFPackageExactly() throws {
        for type in GGMLType.allCases {
            let (raw, expected) = try QuantTestData.fixture(type)
            XCTAssertEqual(expected.count, 1024, "\(type)")
            XCTAssertEqual(raw.count, type.byteCount(elements: expected.count), "\(type) fixture size")
            let got = QuantTestData.dequantReference(type, raw, count: expected.count)
            if let i = QuantTestData.firstBitMismatch(got, expected) {
                XCTFail("\(type): weight \(i) is \(got[i]) (0x\(String(got[i].bitPattern, radix: 16))), gguf says \(expected[i]) (0x\(String(expected[i].bitPattern, radix: 16)))")
            }
        }
    }

    func testFastMatchesReferenceOnFixtures() throws {
        try QuantTestData.forEachKernelSet { set in
            for type in GGMLType.allCases {
                let (raw, expected) = try QuantTestData.fixture(type)
                let fast = QuantTestData.dequantFast(type, raw, count: expected.count)
                if let i = QuantTestData.firstBitMismatch(fast, expected) {
                    XCTFail("\(set) \(type): fast weight \(i) is \(fast[i]), expected \(expected[i])")
                }
            }
        }
    }

    func testFastMatchesReferenceOnRandomBlocks() {
        QuantTestData.forEachKernelSet { set in
            for type in GGMLType.allCases {
                for blocks in [1, 2, 3, 7, 16] {
                    let count = blocks * (type.blockSize == 1 ? 37 : type.blockSize)
                    let raw = QuantTestData.randomRow(type, count: count, seed: UInt64(blocks) &* 7919 &+ UInt64(type.rawValue))
                    let ref = QuantTestData.dequantReference(type, raw, count: count)
                    let fast = QuantTestData.dequantFast(type, raw, count: count)
                    XCTAssertFalse(ref.contains { !$0.isFinite }, "\(type): non-finite test data")
                    if let i = QuantTestData.firstBitMismatch(fast, ref) {
                        XCTFail("\(set) \(type) × \(count): fast weight \(i) is \(fast[i]), reference \(ref[i])")
                    }
                }
            }
        }
    }

    /// Every one of the 65536 halves, scalar path against the standard library's Float16 and every
    /// kernel set against the scalar path (NaNs as NaNs: F16C quiets signalling ones).
    func testHalfConversionIsExactForAllBitPatterns() {
        let halves = (0...UInt16.max).map { $0 }
        let raw = halves.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        let ref = QuantTestData.dequantReference(.f16, raw, count: halves.count)
        #if !(os(macOS) && arch(x86_64))
        for (i, h) in halves.enumerated() {
            let expected = Float(Float16(bitPattern: h))
            XCTAssertTrue(expected.isNaN ? ref[i].isNaN : ref[i].bitPattern == expected.bitPattern, "half 0x\(String(h, radix: 16))")
        }
        #endif
        QuantTestData.forEachKernelSet { set in
            let fast = QuantTestData.dequantFast(.f16, raw, count: halves.count)
            for (i, h) in halves.enumerated() {
                XCTAssertTrue(ref[i].isNaN ? fast[i].isNaN : fast[i].bitPattern == ref[i].bitPattern, "half 0x\(String(h, radix: 16)) (\(set))")
            }
        }
    }

    func testBF16IsTheTopHalfOfAnF32() {
        let values: [Float] = [0, -0, 1, -1.5, .infinity, -.infinity, 3.140625, Float(bitPattern: 0x0001_2345), 65504]
        let raw = values.flatMap { withUnsafeBytes(of: UInt16($0.bitPattern >> 16).littleEndian, Array.init) }
        let got = QuantTestData.dequantReference(.bf16, raw, count: values.count)
        for (v, g) in zip(values, got) { XCTAssertEqual(g.bitPattern, v.bitPattern & 0xFFFF_0000) }
    }
}
