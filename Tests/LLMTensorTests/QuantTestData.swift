// Test data for the dequantisation and quantised-dot tests: the committed fixtures (raw blocks and the
// values the `gguf` Python package decodes them to; see scripts/make-quant-fixtures.py) and
// deterministic pseudo-random blocks with sane f16 scale fields.
import Foundation
import LLMTensor
import XCTest

enum QuantTestData {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Raw block bytes and the expected f32 values of one fixture (1024 weights per type).
    static func fixture(_ type: GGMLType) throws -> (raw: [UInt8], expected: [Float]) {
        let raw = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent("\(type).raw")))
        let f32 = try Data(contentsOf: fixtures.appendingPathComponent("\(type).f32"))
        let expected = f32.withUnsafeBytes { buf in
            (0..<f32.count / 4).map { Float(bitPattern: UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        return (raw, expected)
    }

    /// IEEE half bits of a value in the normal half range (mantissa truncated; enough for test data).
    static func halfBits(_ v: Float) -> UInt16 {
        let b = v.bitPattern
        let exp = Int((b >> 23) & 0xFF) - 127 + 15
        precondition(exp > 0 && exp < 31, "test scale out of half range")
        return UInt16((b >> 16) & 0x8000) | UInt16(exp << 10) | UInt16((b >> 13) & 0x3FF)
    }

    /// Byte offsets of the f16 scale fields in a block, and whether each may be negative.
    static func scaleFields(_ type: GGMLType) -> [(offset: Int, signed: Bool)] {
        switch type {
        case .q4_0, .q5_0, .q8_0: return [(0, true)]
        case .q4_1, .q5_1: return [(0, false), (2, true)]
        case .q2_K: return [(80, false), (82, false)]
        case .q3_K: return [(108, true)]
        case .q4_K, .q5_K: return [(0, false), (2, false)]
        case .q6_K: return [(208, true)]
        case .f32, .f16, .bf16: return []
        }
    }

    /// `count` weights of `type` as random bytes; scale fields hold halves of magnitude 1e-3…2e-2 and
    /// F32/F16/BF16 elements are random values in (−2, 2).
    static func randomRow(_ type: GGMLType, count: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        switch type {
        case .f32:
            return (0..<count).flatMap { _ in withUnsafeBytes(of: rng.float(-2, 2).bitPattern.littleEndian, Array.init) }
        case .f16:
            return (0..<count).flatMap { _ in
                let v = rng.float(-2, 2)
                return withUnsafeBytes(of: (abs(v) < 1e-4 ? 0 : halfBits(v)).littleEndian, Array.init)
            }
        case .bf16:
            return (0..<count).flatMap { _ in withUnsafeBytes(of: UInt16(rng.float(-2, 2).bitPattern >> 16).littleEndian, Array.init) }
        default:
            var bytes = (0..<type.byteCount(elements: count)!).map { _ in rng.byte() }
            for b in 0..<count / type.blockSize {
                for (offset, signed) in scaleFields(type) {
                    var v = rng.float(1e-3, 2e-2)
                    if signed && rng.next() & 1 == 1 { v = -v }
                    let h = halfBits(v)
                    bytes[b * type.blockBytes + offset] = UInt8(h & 0xFF)
                    bytes[b * type.blockBytes + offset + 1] = UInt8(h >> 8)
                }
            }
            return bytes
        }
    }

    static func randomVector(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in rng.float(-1, 1) }
    }

    static func dequantReference(_ type: GGMLType, _ raw: [UInt8], count: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        raw.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { Dequant.reference(type, src.baseAddress!, $0.baseAddress!, count: count) } }
        return out
    }

    static func dequantFast(_ type: GGMLType, _ raw: [UInt8], count: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        raw.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { Dequant.dequantize(type, src.baseAddress!, $0.baseAddress!, count: count) } }
        return out
    }

    /// Runs `body` once with each kernel set this CPU supports active (the C kernels' AVX-512, AVX2
    /// and SSE2 builds on x86-64), naming the set; the set chosen at start-up is active again after.
    static func forEachKernelSet(_ body: (String) throws -> Void) rethrows {
        let chosen = KernelSet.active
        defer { KernelSet.select(chosen) }
        for set in KernelSet.supported {
            XCTAssertTrue(KernelSet.select(set), set)
            try body(set)
        }
    }

    /// Index of the first element whose bit pattern differs, or nil.
    static func firstBitMismatch(_ a: [Float], _ b: [Float]) -> Int? {
        precondition(a.count == b.count)
        return a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
    }
}

extension SeededGenerator {
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 24) }
    /// Uniform in [lo, hi).
    mutating func float(_ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
}
