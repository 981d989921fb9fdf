// The opt-in 8-bit-activation products: the quantiser against its scalar twin, and the integer kernels,
// in every kernel set this CPU runs, against the f32 reference dot on inputs the quantiser represents
// exactly (so any difference is the kernels' own), and within the quantisation error on any input.
import LLMTensor
import XCTest

final class QuantDotInt8Tests: XCTestCase {
    static let types: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    func testWhichTypesHaveInt8Kernels() {
        XCTAssertEqual(GGMLType.allCases.filter(QuantDot.supportsInt8), Self.types)
    }

    /// Scalar twin: d = max|x| / 127, q = (x · (1/d)) rounded half to even, Σq per 4; a zero block has d = 0.
    func testQuantizerMatchesScalarTwin() {
        var x = QuantTestData.randomVector(32 * 6, seed: 17)
        for i in 32..<64 { x[i] = 0 }                                   // a zero block
        for i in 64..<96 { x[i] *= 1e-30 }                              // tiny values
        x[100] = 127.5; x[101] = -3e4                                   // a large range within one block
        for set in KernelSet.supported {
            KernelSet.select(set)
            let got = QuantDot.quantizeInt8(x)
            for b in 0..<x.count / 32 {
                let block = x[32 * b ..< 32 * b + 32]
                let d = block.map(abs).max()! / 127, inv: Float = d != 0 ? 1 / d : 0
                XCTAssertEqual(got.scales[b].bitPattern, d.bitPattern, "\(set) block \(b)")
                for i in block.indices {
                    XCTAssertEqual(got.quants[i], Int8((x[i] * inv).rounded(.toNearestOrEven)), "\(set) value \(i) = \(x[i])")
                }
            }
            for k in 0..<x.count / 4 {
                XCTAssertEqual(got.quadSums[k], (0..<4).reduce(Int32(0)) { $0 + Int32(got.quants[4 * k + $1]) }, "\(set) quad \(k)")
            }
            XCTAssertEqual(got.quants[32..<64].filter { $0 != 0 }.count, 0)
            XCTAssertEqual(got.quants[101], -127)
        }
        KernelSet.select(KernelSet.supported[0])
    }

    /// Inputs whose blocks are integers −127…127 times a power of two, with ±127 in every block: the
    /// quantiser represents them exactly, so the 8-bit product must equal the f32 reference dot up to
    /// float rounding (1e-5 · Σ|wx|, the f32 kernels' bound) — biases, scales, mins and offsets included.
    func testInt8ProductsEqualReferenceOnExactInputs() throws {
        let pool = try ThreadPool(threads: 2)
        QuantTestData.forEachKernelSet { set in
            for type in Self.types {
                let rows = 7, cols = 3 * max(type.blockSize, 64)
                let raw = QuantTestData.randomRow(type, count: rows * cols, seed: 500 + UInt64(type.rawValue))
                let x = exactInput(cols, seed: 7 + UInt64(type.rawValue))
                let y = product(type, raw, rows: rows, cols: cols, x, m: 1, pool: pool)
                for r in 0..<rows {
                    let row = Array(raw[r * type.byteCount(elements: cols)! ..< (r + 1) * type.byteCount(elements: cols)!])
                    let w = QuantTestData.dequantReference(type, row, count: cols)
                    let magnitude = zip(w, x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
                    let ref = row.withUnsafeBytes { QuantDot.dotReference(type, $0.baseAddress!, x, count: cols) }
                    XCTAssertLessThanOrEqual(abs(y[r] - ref), 1e-5 * magnitude, "\(set) \(type) row \(r): int8 \(y[r]), reference \(ref)")
                }
            }
        }
    }

    /// On any input the difference from the f32 reference is the activations' rounding: at most
    /// Σ |a·f|·|x − x̂| ≤ Σ 2·max|w of the block|·(d/2) per weight (a·f = w − m, |m| ≤ max|w| for
    /// these formats' offsets), and in practice far less.
    func testInt8ProductsWithinQuantisationErrorOnRandomInputs() throws {
        let pool = try ThreadPool(threads: 1)
        for type in Self.types {
            let cols = 4 * max(type.blockSize, 64)
            let raw = QuantTestData.randomRow(type, count: cols, seed: 900 + UInt64(type.rawValue))
            let x = QuantTestData.randomVector(cols, seed: 31)
            let w = QuantTestData.dequantReference(type, raw, count: cols)
            let scales = QuantDot.quantizeInt8(x).scales
            var bound: Float = 0
            for i in 0..<cols {
                let blockW = w[(i / type.blockSize) * type.blockSize ..< (i / type.blockSize + 1) * type.blockSize]
                bound += 2 * blockW.map(abs).max()! * scales[i / 32] / 2
            }
            let ref = raw.withUnsafeBytes { QuantDot.dotReference(type, $0.baseAddress!, x, count: cols) }
            let got = product(type, raw, rows: 1, cols: cols, x, m: 1, pool: pool)[0]
            XCTAssertLessThanOrEqual(abs(got - ref), bound, "\(type): int8 \(got), reference \(ref)")
            XCTAssertNotEqual(got, ref, "\(type): random inputs are not represented exactly")
        }
    }

    /// m inputs at once (batched decoding, prefill) give exactly what each gives alone, in every set,
    /// with rows split over two threads; the sets with fused multiply-adds agree bit for bit.
    func testInt8BatchesEqualSingleInputsAndSetsAgree() throws {
        let pool = try ThreadPool(threads: 2)
        var bySet: [String: [Float]] = [:]
        QuantTestData.forEachKernelSet { set in
            var all: [Float] = []
            for type in Self.types {
                let rows = 70, cols = 2 * max(type.blockSize, 64)  // more rows than one tile
                let raw = QuantTestData.randomRow(type, count: rows * cols, seed: 40 + UInt64(type.rawValue))
                for m in [2, 3, 8, 9, 17] {
                    let x = QuantTestData.randomVector(m * cols, seed: 60 + UInt64(m))
                    let together = product(type, raw, rows: rows, cols: cols, x, m: m, pool: pool)
                    var alone: [Float] = []
                    for i in 0..<m { alone += product(type, raw, rows: rows, cols: cols, Array(x[i * cols ..< (i + 1) * cols]), m: 1, pool: pool) }
                    XCTAssertEqual(QuantTestData.firstBitMismatch(together, alone), nil, "\(set) \(type) × \(m) inputs")
                    all += together
                }
            }
            bySet[set] = all
        }
        let fused = ["avx512vnni", "avx512", "avx2"].compactMap { bySet[$0] }
        for other in fused.dropFirst() { XCTAssertEqual(QuantTestData.firstBitMismatch(fused[0], other), nil) }
    }

    func exactInput(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count / 32).flatMap { b -> [Float] in
            let scale = Float(sign: .plus, exponent: -Int(b % 9), significand: 1)
            var k = (0..<32).map { _ in Float(Int(rng.next() % 255) - 127) }
            k[Int(rng.next() % 32)] = rng.next() & 1 == 0 ? 127 : -127
            return k.map { $0 * scale }
        }
    }

    func product(_ type: GGMLType, _ raw: [UInt8], rows: Int, cols: Int, _ x: [Float], m: Int, pool: ThreadPool) -> [Float] {
        var y = [Float](repeating: .nan, count: m * rows)
        raw.withUnsafeBytes { w in
            y.withUnsafeMutableBufferPointer { QuantDot.gemmInt8(type, w.baseAddress!, rows: rows, cols: cols, x, m: m, $0.baseAddress!, pool: pool) }
        }
        return y
    }
}
