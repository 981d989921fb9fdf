// Quantised matrix–vector products for decoding: one weight row · an f32 activation vector, with the
// row decoded in registers and never written to memory (the C kernels, `llmk_dot_rows`, in the set
// chosen for this CPU). `dotReference` is the scalar twin (reference dequantisation, then a plain
// left-to-right f32 sum).
//
// Blocks with one scale per 32 weights are decoded to unsigned quants a, and the bias or offset is
// folded into the sum of x: Σ (a·d + m)·x = Σ (a·d)·x + m·Σx (a bias b is m = −b·d), with the per-32
// sums of x computed once per call (once per GEMV). This saves vector work, so the result differs
// from `dotReference` by float rounding only (summation order, fused multiply-adds and this
// regrouping); the tests bound the difference by 1e-5 · Σ|w·x|.
import CKernels

public enum QuantDot {
    /// Σ_i w[i]·x[i] over one row of `count` weights stored as `type` at `row` — fused dequant+dot, SIMD.
    public static func dot(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        precondition(count >= 0 && count % type.blockSize == 0, "\(type): \(count) is not a whole number of blocks")
        var out: Float = 0
        withBlockSums(needsBlockSums(type), x, count) { xs in
            llmk_dot_rows(Int32(type.rawValue), row, 0, 0, 1, count, x, xs, &out)
        }
        return out
    }

    /// Scalar twin: dequantise with `Dequant.reference` (a block at a time), then a plain f32 loop.
    public static func dotReference(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        precondition(count >= 0 && count % type.blockSize == 0, "\(type): \(count) is not a whole number of blocks")
        let chunk = 256  // a multiple of every block size
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: chunk) { buf in
            let w = buf.baseAddress!
            var sum: Float = 0
            var i = 0
            while i < count {
                let n = min(chunk, count - i)
                Dequant.reference(type, row + i / type.blockSize * type.blockBytes, w, count: n)
                for k in 0..<n { sum += w[k] * x[i + k] }
                i += n
            }
            return sum
        }
    }

    /// y[r] = dot(row r, x) for r in 0..<rows (rows are contiguous, rowBytes apart), split over the pool's threads.
    public static func gemv(
        _ type: GGMLType, _ w: UnsafeRawPointer, rows: Int, cols: Int,
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        guard let rowBytes = type.byteCount(elements: cols) else {
            preconditionFailure("\(type): \(cols) columns is not a whole number of blocks")
        }
        withBlockSums(needsBlockSums(type), x, cols) { xs in
            // Chunks of ≥ 16 rows keep each thread's writes to y on separate cache lines.
            pool.forEachChunk(rows, granularity: 16) { range in
                llmk_dot_rows(Int32(type.rawValue), w, rowBytes, range.lowerBound, range.upperBound, cols, x, xs, y)
            }
        }
    }

    /// y[i·rows + r] = dot(row r, x[i·cols ..<]) for the m inputs in x: each decoded weight block serves
    /// several inputs (8 with AVX-512, else 4), and every output equals `gemv`'s for that input bit for bit (so a batch of
    /// sequences decodes exactly as each would alone). Split over the pool's threads by rows.
    public static func gemm(
        _ type: GGMLType, _ w: UnsafeRawPointer, rows: Int, cols: Int,
        _ x: UnsafePointer<Float>, m: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        guard let rowBytes = type.byteCount(elements: cols) else {
            preconditionFailure("\(type): \(cols) columns is not a whole number of blocks")
        }
        withTransposedBlockSums(needsBlockSums(type), x, m: m, cols: cols) { xs, stride in
            pool.forEachChunk(rows, granularity: 16) { range in
                llmk_dot_rows_multi(Int32(type.rawValue), w, rowBytes, range.lowerBound, range.upperBound, cols,
                                    x, cols, xs, stride, y, rows, m)
            }
        }
    }

    /// Runs `body` with the block sums of the m inputs transposed (block b of input i at b·stride + i,
    /// stride m rounded up to 8, the padding 0), or with nil when they are not `needed`.
    static func withTransposedBlockSums(_ needed: Bool, _ x: UnsafePointer<Float>, m: Int, cols: Int,
                                        _ body: (UnsafePointer<Float>?, Int) -> Void) {
        let blocks = needed ? cols / 32 : 0, stride = (m + 7) / 8 * 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, blocks * stride + cols / 32)) { buf in
            let xsT = buf.baseAddress!, one = xsT + blocks * stride
            xsT.initialize(repeating: 0, count: blocks * stride)
            for i in 0..<m where blocks > 0 {
                llmk_block_sums(x + i * cols, cols, one)
                for b in 0..<blocks { xsT[b * stride + i] = one[b] }
            }
            body(blocks > 0 ? UnsafePointer(xsT) : nil, stride)
        }
    }

    /// Types whose blocks carry a bias or offset (weight = (a − bias)·d or a·d + m) and so need Σx
    /// per 32 weights.
    static func needsBlockSums(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K: return true
        case .f32, .f16, .bf16, .q8_0, .q2_K, .q3_K, .q6_K: return false
        }
    }

    /// Runs `body` with xs[b] = Σ x[32b..<32b+32] when `needed` (else with nil).
    @inline(__always)
    static func withBlockSums<R>(_ needed: Bool, _ x: UnsafePointer<Float>, _ count: Int, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard needed else { return body(nil) }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, count / 32)) { buf in
            llmk_block_sums(x, count, buf.baseAddress!)
            return body(UnsafePointer(buf.baseAddress!))
        }
    }
}

/// How the input of a quantised product is represented: f32 (the default: every fidelity test holds
/// to it), or 8-bit blocks multiplied in integers (`int8`: llama.cpp's numerics, opt-in, faster where the
/// CPU has integer dot products; its cost in divergence is measured by `llm-drop kld --activations int8`).
public enum ActivationPrecision: String, Sendable, CaseIterable {
    case float32 = "f32"
    case int8
}

extension QuantDot {
    /// True when `type` has an 8-bit-activation kernel (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K).
    public static func supportsInt8(_ type: GGMLType) -> Bool { llmk_has_int8(Int32(type.rawValue)) != 0 }

    /// Rows a tile of the 8-bit product sweeps for all inputs before moving on: with many inputs
    /// (prefill), the tile's weights stay in cache while every group of inputs passes over them.
    static let int8TileRows = 64

    /// y[i·rows + r] = Σ_j w(r, j)·x_i[j] for the m inputs in x with 8-bit activations: each input is
    /// quantised per block of 32 (`llmk_quantize_q8`), each weight block meets it in integer
    /// multiply-adds. Any m (decode and prefill); results do not depend on m or the thread count.
    public static func gemmInt8(
        _ type: GGMLType, _ w: UnsafeRawPointer, rows: Int, cols: Int,
        _ x: UnsafePointer<Float>, m: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        precondition(supportsInt8(type) && cols % 32 == 0, "\(type) × \(cols) columns has no 8-bit kernel")
        let rowBytes = type.byteCount(elements: cols)!
        let blocks = cols / 32
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: m * cols) { q in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * m * blocks) { f in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: m * cols / 4) { s4 in
                    let d = f.baseAddress!, xs = d + m * blocks
                    pool.forEachChunk(m, granularity: 1) { inputs in
                        for i in inputs {
                            llmk_quantize_q8(x + i * cols, cols, q.baseAddress! + i * cols, d + i * blocks,
                                             xs + i * blocks, s4.baseAddress! + i * cols / 4)
                        }
                    }
                    pool.forEachChunk(rows, granularity: 16) { range in
                        for r0 in stride(from: range.lowerBound, to: range.upperBound, by: int8TileRows) {
                            llmk_dot_rows_q8(Int32(type.rawValue), w, rowBytes, r0, min(r0 + int8TileRows, range.upperBound), cols,
                                             q.baseAddress!, d, xs, s4.baseAddress!, y, rows, m)
                        }
                    }
                }
            }
        }
    }
}

extension QuantDot {
    /// An input as `gemmInt8` quantises it: per block of 32, scale d = max|x| / 127 and quants
    /// q = x / d rounded to nearest even; the exact f32 block sums; Σq per 4 quants.
    public struct Int8Input: Equatable {
        public var quants: [Int8]
        public var scales: [Float]
        public var blockSums: [Float]
        public var quadSums: [Int32]
    }

    /// `x` (a multiple of 32 values) quantised as the 8-bit products see it.
    public static func quantizeInt8(_ x: [Float]) -> Int8Input {
        precondition(x.count % 32 == 0, "\(x.count) values are not whole blocks of 32")
        var r = Int8Input(quants: Array(repeating: 0, count: x.count), scales: Array(repeating: 0, count: x.count / 32),
                          blockSums: Array(repeating: 0, count: x.count / 32), quadSums: Array(repeating: 0, count: x.count / 4))
        llmk_quantize_q8(x, x.count, &r.quants, &r.scales, &r.blockSums, &r.quadSums)
        return r
    }
}
