// Quantised dot products and GEMV: the fused SIMD kernels, in every kernel set this CPU runs, against
// their scalar twins.
import LLMTensor
import XCTest

final class QuantDotTests: XCTestCase {
    /// |dot − dotReference| ≤ 1e-5 · Σ|wᵢxᵢ|: the two differ in float rounding only (summation order,
    /// and the fused kernel's folding of block biases into Σx), so the bound is relative to the sum of
    /// magnitudes, which judges rows whose terms cancel fairly. (The kernels currently pass at 1e-6.)
    func assertDotsAgree(_ type: GGMLType, _ raw: [UInt8], _ x: [Float], count: Int, file: StaticString = #filePath, line: UInt = #line) {
        let w = QuantTestData.dequantReference(type, raw, count: count)
        let magnitude = zip(w, x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
        raw.withUnsafeBytes { row in
            let fast = QuantDot.dot(type, row.baseAddress!, x, count: count)
            let ref = QuantDot.dotReference(type, row.baseAddress!, x, count: count)
            XCTAssertLessThanOrEqual(abs(fast - ref), 1e-5 * magnitude + Float.leastNormalMagnitude,
                                     "\(type) × \(count): dot \(fast), reference \(ref), Σ|wx| \(magnitude)", file: file, line: line)
        }
    }

    func testDotMatchesReferenceOnRandomRows() {
        QuantTestData.forEachKernelSet { _ in dotsOnRandomRows() }
    }

    func dotsOnRandomRows() {
        for type in GGMLType.allCases {
            let lengths = type.blockSize == 1 ? [1, 15, 16, 17, 31, 32, 33, 100, 576, 1000] : [1, 2, 3, 5, 8, 18, 48].map { $0 * type.blockSize }
            for count in lengths {
                let seed = UInt64(count) &* 31 &+ UInt64(type.rawValue)
                let raw = QuantTestData.randomRow(type, count: count, seed: seed)
                assertDotsAgree(type, raw, QuantTestData.randomVector(count, seed: seed ^ 0xABCDEF), count: count)
            }
        }
    }

    func testDotMatchesReferenceOnFixtures() throws {
        try QuantTestData.forEachKernelSet { _ in try dotsOnFixtures() }
    }

    func dotsOnFixtures() throws {
        for type in GGMLType.allCases {
            let (raw, all) = try QuantTestData.fixture(type)
            // The F16 fixture ends with ±inf edge halves; dot products stop before them.
            let count = all.firstIndex { !$0.isFinite } ?? all.count
            let expected = Array(all[..<count])
            assertDotsAgree(type, raw, QuantTestData.randomVector(count, seed: 42), count: count)
            // dotReference really is Σ w·x over the gguf package's values, summed left to right.
            let x = QuantTestData.randomVector(count, seed: 43)
            var plain: Float = 0
            for i in expected.indices { plain += expected[i] * x[i] }
            raw.withUnsafeBytes { XCTAssertEqual(QuantDot.dotReference(type, $0.baseAddress!, x, count: x.count), plain, "\(type)") }
        }
    }

    func testDotOfEmptyRowIsZero() {
        let x: [Float] = [1]
        for type in GGMLType.allCases {
            XCTAssertEqual([UInt8](repeating: 0, count: 1).withUnsafeBytes { QuantDot.dot(type, $0.baseAddress!, x, count: 0) }, 0)
        }
    }

    func testGemvMatchesPerRowReferenceWithTwoThreads() throws {
        try QuantTestData.forEachKernelSet { _ in try gemvOnRandomMatrices() }
    }

    /// The AVX2 and AVX-512 sets run the same 16-lane arithmetic with the same fused multiply-adds,
    /// so their dot products agree bit for bit (SSE2 has no FMA and differs in rounding only).
    func testAVX2AndAVX512DotsAreBitIdentical() {
        guard Set(KernelSet.supported).isSuperset(of: ["avx2", "avx512"]) else { return }
        for type in GGMLType.allCases {
            let count = 5 * max(type.blockSize, 64)
            let raw = QuantTestData.randomRow(type, count: count, seed: 99 &+ UInt64(type.rawValue))
            let x = QuantTestData.randomVector(count, seed: 5)
            var dots: [String: Float] = [:]
            QuantTestData.forEachKernelSet { set in
                dots[set] = raw.withUnsafeBytes { QuantDot.dot(type, $0.baseAddress!, x, count: count) }
            }
            XCTAssertEqual(dots["avx2"]?.bitPattern, dots["avx512"]?.bitPattern, "\(type): \(dots)")
            if let vnni = dots["avx512vnni"] { XCTAssertEqual(vnni.bitPattern, dots["avx512"]?.bitPattern, "\(type): \(dots)") }
        }
    }

    /// Several inputs at once (decoding a batch of sequences) give exactly what each input gives alone.
    func testGemmEqualsGemvPerInputBitForBit() throws {
        let pool = try ThreadPool(threads: 2)
        QuantTestData.forEachKernelSet { set in
            for type in GGMLType.allCases {
                let rows = 21, cols = type.blockSize == 1 ? 100 : 3 * max(type.blockSize, 64)
                let w = QuantTestData.randomRow(type, count: rows * cols, seed: 2000 + UInt64(type.rawValue))
                for m in [2, 3, 4, 5, 8, 9] {
                    let x = QuantTestData.randomVector(m * cols, seed: 300 + UInt64(m))
                    var together = [Float](repeating: .nan, count: m * rows), alone = together
                    w.withUnsafeBytes { wb in
                        together.withUnsafeMutableBufferPointer { QuantDot.gemm(type, wb.baseAddress!, rows: rows, cols: cols, x, m: m, $0.baseAddress!, pool: pool) }
                        alone.withUnsafeMutableBufferPointer { y in
                            x.withUnsafeBufferPointer { xb in
                                for i in 0..<m { QuantDot.gemv(type, wb.baseAddress!, rows: rows, cols: cols, xb.baseAddress! + i * cols, y.baseAddress! + i * rows, pool: pool) }
                            }
                        }
                    }
                    XCTAssertEqual(together.map(\.bitPattern), alone.map(\.bitPattern), "\(set) \(type) × \(m) inputs")
                }
            }
        }
    }

    func gemvOnRandomMatrices() throws {
        let pool = try ThreadPool(threads: 2)
        for type in GGMLType.allCases {
            let rows = 37
            let cols = type.blockSize == 1 ? 100 : 3 * max(type.blockSize, 64)
            let rowBytes = type.byteCount(elements: cols)!
            let w = QuantTestData.randomRow(type, count: rows * cols, seed: 1000 + UInt64(type.rawValue))
            let x = QuantTestData.randomVector(cols, seed: 77)
            var y = [Float](repeating: .nan, count: rows)
            w.withUnsafeBytes { wb in
                y.withUnsafeMutableBufferPointer { QuantDot.gemv(type, wb.baseAddress!, rows: rows, cols: cols, x, $0.baseAddress!, pool: pool) }
                for r in 0..<rows {
                    let row = wb.baseAddress! + r * rowBytes
                    // gemv is dot row by row, whatever thread computes the row.
                    XCTAssertEqual(y[r].bitPattern, QuantDot.dot(type, row, x, count: cols).bitPattern, "\(type) row \(r)")
                    let ref = QuantDot.dotReference(type, row, x, count: cols)
                    let rowBytesArray = Array(UnsafeRawBufferPointer(start: row, count: rowBytes))
                    let magnitude = zip(QuantTestData.dequantReference(type, rowBytesArray, count: cols), x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
                    XCTAssertLessThanOrEqual(abs(y[r] - ref), 1e-5 * magnitude, "\(type) row \(r): \(y[r]) vs \(ref)")
                }
            }
        }
    }
}
