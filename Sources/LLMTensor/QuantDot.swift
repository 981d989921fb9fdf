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
        withBlockSums(type, x, count) { xs in
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
        withBlockSums(type, x, cols) { xs in
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
        // Block sums transposed (block b of input i at b·stride + i), stride m rounded up to 8, padding 0.
        let blocks = needsBlockSums(type) ? cols / 32 : 0, stride = (m + 7) / 8 * 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, blocks * stride + cols / 32)) { buf in
            let xsT = buf.baseAddress!, one = xsT + blocks * stride
            xsT.initialize(repeating: 0, count: blocks * stride)
            for i in 0..<m where blocks > 0 {
                llmk_block_sums(x + i * cols, cols, one)
                for b in 0..<blocks { xsT[b * stride + i] = one[b] }
            }
            let xs = blocks > 0 ? UnsafePointer(xsT) : nil
            pool.forEachChunk(rows, granularity: 16) { range in
                llmk_dot_rows_multi(Int32(type.rawValue), w, rowBytes, range.lowerBound, range.upperBound, cols,
                                    x, cols, xs, stride, y, rows, m)
            }
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

    /// Runs `body` with xs[b] = Σ x[32b..<32b+32] when `type` needs it (else with nil).
    @inline(__always)
    static func withBlockSums<R>(_ type: GGMLType, _ x: UnsafePointer<Float>, _ count: Int, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard needsBlockSums(type) else { return body(nil) }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, count / 32)) { buf in
            llmk_block_sums(x, count, buf.baseAddress!)
            return body(UnsafePointer(buf.baseAddress!))
        }
    }
}
