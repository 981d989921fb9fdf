// Weights interleaved across 16 rows (`Interleave`): every weight decodes to the stored one bit for bit,
// the kernels of every set with fused multiply-adds equal the scalar twin bit for bit (the others within
// rounding), several inputs give exactly what each gives alone, and the products stay within the bound
// every fused product meets against the stored form's reference.
import LLMTensor
import XCTest

final class InterleaveTests: XCTestCase {
    static let sources: [GGMLType] = [.q8_0, .q5_0, .q4_0, .q4_1, .q4_K, .q5_K, .q6_K]

    /// rows × cols stored weights of `type`, interleaved.
    private func interleaved(_ type: GGMLType, _ raw: [UInt8], rows: Int, cols: Int) -> (Interleave.Format, [UInt8]) {
        let format = Interleave.format(for: type)!
        var out = [UInt8](repeating: 0xAA, count: Interleave.byteCount(format, rows: rows, cols: cols))
        raw.withUnsafeBytes { src in
            out.withUnsafeMutableBytes {
                Interleave.convert(type, src.baseAddress!, rows: rows, cols: cols, groups: 0..<Interleave.groups(rows: rows), into: $0.baseAddress!)
            }
        }
        return (format, out)
    }

    func testFormatsOfStoredTypes() {
        for type in GGMLType.allCases {
            let expected: Interleave.Format? = [.q8_0: .q8, .q5_0: .q8, .q4_0: .q4_0, .q4_1: .q4_1, .q4_K: .q4_K, .q5_K: .q5_K, .q6_K: .q6_K][type]
            XCTAssertEqual(Interleave.format(for: type), expected, "\(type)")
        }
        XCTAssertEqual(Interleave.byteCount(.q8, rows: 37, cols: 64), 3 * 2 * 544)  // 37 rows: 3 groups, the last padded
        // K-quants keep their integer sub-block scales: Q4_K 4.625 bits a weight (the file's 4.5 plus f16 d
        // and dmin per row and super-block), Q6_K 8.5625 (its quants as bytes: 2 more bits than the file).
        XCTAssertEqual(Interleave.byteCount(.q4_K, rows: 32, cols: 512), 2 * 2 * 2368)
        XCTAssertEqual(Interleave.byteCount(.q6_K, rows: 32, cols: 512), 32 * (GGMLType.q6_K.byteCount(elements: 512)! + 2 * 512 / 8))
    }

    /// Random matrices whose row count leaves a partial group, and the gguf package's fixture as one row.
    func testEveryWeightDecodesToTheStoredOne() throws {
        for type in Self.sources {
            let cols = 2 * max(type.blockSize, 64), rows = 37
            var cases = [(QuantTestData.randomRow(type, count: rows * cols, seed: 50 + UInt64(type.rawValue)), rows, cols)]
            let (fixture, expected) = try QuantTestData.fixture(type)
            cases.append((fixture, 1, expected.count))
            for (raw, rows, cols) in cases {
                let stored = QuantTestData.dequantReference(type, raw, count: rows * cols)
                let (format, packed) = interleaved(type, raw, rows: rows, cols: cols)
                packed.withUnsafeBytes { w in
                    for r in 0..<rows {
                        for c in 0..<cols {
                            let got = Interleave.weight(format, w.baseAddress!, cols: cols, row: r, col: c)
                            if got.bitPattern != stored[r * cols + c].bitPattern {
                                return XCTFail("\(type) \(rows)×\(cols): weight (\(r), \(c)) is \(got), stored \(stored[r * cols + c])")
                            }
                        }
                    }
                }
                if rows == 1 { XCTAssertEqual(stored, expected, "\(type): the fixture's reference values") }
            }
        }
    }

    /// Every kernel set against the twin (bit for bit where the set fuses multiply-adds), against the
    /// stored form's reference within 1e-5 · Σ|wx|, on 1 and 2 threads; y holds exactly `rows` outputs.
    func testProductsEqualTheTwin() throws {
        let pools = [try ThreadPool(threads: 1), try ThreadPool(threads: 2)]
        QuantTestData.forEachKernelSet { set in
            let fused = !["sse2", "generic"].contains(set)
            for type in Self.sources {
                let cols = 3 * max(type.blockSize, 64), rows = 37, rowBytes = type.byteCount(elements: cols)!
                let raw = QuantTestData.randomRow(type, count: rows * cols, seed: 700 + UInt64(type.rawValue))
                let x = QuantTestData.randomVector(cols, seed: 71)
                let (format, packed) = interleaved(type, raw, rows: rows, cols: cols)
                let stored = QuantTestData.dequantReference(type, raw, count: rows * cols)
                for pool in pools {
                    var y = [Float](repeating: .nan, count: rows + 1)
                    packed.withUnsafeBytes { w in
                        y.withUnsafeMutableBufferPointer { Interleave.gemv(format, w.baseAddress!, rows: rows, cols: cols, x, $0.baseAddress!, pool: pool) }
                        XCTAssertTrue(y[rows].isNaN, "\(set) \(type): wrote past the last row")
                        for r in 0..<rows {
                            let twin = Interleave.dotReference(format, w.baseAddress!, cols: cols, row: r, x)
                            let ref = raw.withUnsafeBytes { QuantDot.dotReference(type, $0.baseAddress! + r * rowBytes, x, count: cols) }
                            let magnitude = (0..<cols).reduce(Float(0)) { $0 + abs(stored[r * cols + $1] * x[$1]) }
                            if fused {
                                XCTAssertEqual(y[r].bitPattern, twin.bitPattern, "\(set) \(type) row \(r): \(y[r]) vs twin \(twin)")
                            } else {
                                XCTAssertLessThanOrEqual(abs(y[r] - twin), 1e-5 * magnitude, "\(set) \(type) row \(r)")
                            }
                            XCTAssertLessThanOrEqual(abs(y[r] - ref), 1e-5 * magnitude, "\(set) \(type) row \(r): \(y[r]) vs stored \(ref)")
                        }
                    }
                }
            }
        }
    }

    /// Several inputs at once (a batch of sequences) give exactly what each input gives alone, for every
    /// count of inputs the kernel splits into passes of 4, 2 and 1.
    func testSeveralInputsEqualEachAloneBitForBit() throws {
        let pool = try ThreadPool(threads: 2)
        QuantTestData.forEachKernelSet { set in
            for type in Self.sources {
                let rows = 21, cols = 2 * max(type.blockSize, 64)
                let (format, packed) = interleaved(type, QuantTestData.randomRow(type, count: rows * cols, seed: 900 + UInt64(type.rawValue)),
                                                   rows: rows, cols: cols)
                for m in [2, 3, 4, 5, 7, 16] {
                    let x = QuantTestData.randomVector(m * cols, seed: 30 + UInt64(m))
                    var together = [Float](repeating: .nan, count: m * rows), alone = together
                    packed.withUnsafeBytes { wb in
                        let w = wb.baseAddress!
                        together.withUnsafeMutableBufferPointer { Interleave.gemm(format, w, rows: rows, cols: cols, x, m: m, $0.baseAddress!, pool: pool) }
                        alone.withUnsafeMutableBufferPointer { y in
                            x.withUnsafeBufferPointer { xb in
                                for i in 0..<m { Interleave.gemv(format, w, rows: rows, cols: cols, xb.baseAddress! + i * cols, y.baseAddress! + i * rows, pool: pool) }
                            }
                        }
                    }
                    XCTAssertEqual(together.map(\.bitPattern), alone.map(\.bitPattern), "\(set) \(type) × \(m) inputs")
                }
            }
        }
    }
}
