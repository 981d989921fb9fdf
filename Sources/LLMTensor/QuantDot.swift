// Quantised matrix–vector products for decoding: one weight row · an f32 activation vector, with the
// row decoded in registers (`BlockDecode`) and never written to memory. `dotReference` is the scalar
// twin (reference dequantisation, then a plain left-to-right f32 sum).
//
// Where a block has one scale per 32 weights, the fused dot multiplies by it once per 32 weights,
// Σ (a·d + m)·x = d·Σ a·x + m·Σ x, with the per-32 sums of x computed once per call (once per GEMV).
// The result therefore differs from `dotReference` by float rounding only (summation order and this
// regrouping); the tests bound the difference by 1e-5 · Σ|w·x|.

public enum QuantDot {
    /// Σ_i w[i]·x[i] over one row of `count` weights stored as `type` at `row` — fused dequant+dot, SIMD.
    public static func dot(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        precondition(count >= 0 && count % type.blockSize == 0, "\(type): \(count) is not a whole number of blocks")
        return withBlockSums(type, x, count) { rowDot(type, row, x, $0, count) }
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
                for r in range { y[r] = rowDot(type, w + r &* rowBytes, x, xs, cols) }
            }
        }
    }

    // MARK: kernels

    /// Types whose blocks add an offset (weight = a·d + m) and so need Σx per 32 weights.
    static func needsBlockSums(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_1, .q5_1, .q4_K, .q5_K: return true
        default: return false
        }
    }

    /// Runs `body` with xs[b] = Σ x[32b..<32b+32] when `type` needs it (else with a dummy pointer).
    @inline(__always)
    static func withBlockSums<R>(_ type: GGMLType, _ x: UnsafePointer<Float>, _ count: Int, _ body: (UnsafePointer<Float>) -> R) -> R {
        guard needsBlockSums(type) else { return body(x) }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, count / 32)) { buf in
            let xr = UnsafeRawPointer(x)
            for b in 0..<count / 32 {
                buf[b] = horizontalSum(xr.loadUnaligned(fromByteOffset: 128 &* b, as: SIMD16<Float>.self)
                                       + xr.loadUnaligned(fromByteOffset: 128 &* b &+ 64, as: SIMD16<Float>.self))
            }
            return body(UnsafePointer(buf.baseAddress!))
        }
    }

    /// One row; `xs` are the block sums from `withBlockSums`.
    @inline(__always)
    static func rowDot(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>, _ count: Int) -> Float {
        switch type {
        case .f32: return dotF32(row, x, count)
        case .f16, .bf16: return dotHalf(type, row, x, count)
        case .q4_0: return dotBlocks(type, row, x, xs, count) { BlockDecode.q4_0($0, $1, $2, &$3) }
        case .q4_1: return dotBlocks(type, row, x, xs, count) { BlockDecode.q4_1($0, $1, $2, &$3) }
        case .q5_0: return dotBlocks(type, row, x, xs, count) { BlockDecode.q5_0($0, $1, $2, &$3) }
        case .q5_1: return dotBlocks(type, row, x, xs, count) { BlockDecode.q5_1($0, $1, $2, &$3) }
        case .q8_0: return dotBlocks(type, row, x, xs, count) { BlockDecode.q8_0($0, $1, $2, &$3) }
        case .q2_K: return dotBlocks(type, row, x, xs, count) { BlockDecode.q2_K($0, $1, $2, &$3) }
        case .q3_K: return dotBlocks(type, row, x, xs, count) { BlockDecode.q3_K($0, $1, $2, &$3) }
        case .q4_K: return dotBlocks(type, row, x, xs, count) { BlockDecode.q4_K($0, $1, $2, &$3) }
        case .q5_K: return dotBlocks(type, row, x, xs, count) { BlockDecode.q5_K($0, $1, $2, &$3) }
        case .q6_K: return dotBlocks(type, row, x, xs, count) { BlockDecode.q6_K($0, $1, $2, &$3) }
        }
    }

    /// Multiplies decoded weights into running sums.
    struct DotSink: LaneSink {
        let x: UnsafeRawPointer
        let xs: UnsafePointer<Float>
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()  // Σ (a·d)·x
        var offsets: Float = 0                             // Σ m·Σx

        init(x: UnsafePointer<Float>, xs: UnsafePointer<Float>) {
            self.x = UnsafeRawPointer(x)
            self.xs = xs
        }

        @inline(__always)
        mutating func put(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>) {
            acc0 += a * x.loadUnaligned(fromByteOffset: offset &* 4, as: SIMD16<Float>.self)
            acc1 += b * x.loadUnaligned(fromByteOffset: offset &* 4 &+ 64, as: SIMD16<Float>.self)
        }

        @inline(__always)
        mutating func scaled(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>, _ d: Float) {
            put(offset, a * d, b * d)
        }

        @inline(__always)
        mutating func affine(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>, _ d: Float, _ m: Float) {
            scaled(offset, a, b, d)
            offsets += m * xs[offset &>> 5]
        }

        var total: Float {
            horizontalSum(acc0 + acc1) + offsets
        }
    }

    /// Decodes `count / type.blockSize` blocks with `decode` into one sink. (Two sinks alternating
    /// between blocks would shorten the add chains, but on the baseline x86-64 target their 32 SSE
    /// registers of accumulators spill.)
    @inline(__always)
    static func dotBlocks(
        _ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>, _ count: Int,
        _ decode: (UnsafeRawPointer, Int, UnsafePointer<Float>, inout DotSink) -> Void
    ) -> Float {
        let weights = type.blockSize, bytes = type.blockBytes
        let table = halfTable
        var sink = DotSink(x: x, xs: xs)
        for b in 0..<count / weights { decode(row + b &* bytes, b &* weights, table, &sink) }
        return sink.total
    }

    @inline(__always)
    static func dotF32(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ count: Int) -> Float {
        let xr = UnsafeRawPointer(x)
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            a0 += row.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD16<Float>.self) * xr.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD16<Float>.self)
            a1 += row.loadUnaligned(fromByteOffset: 4 &* i &+ 64, as: SIMD16<Float>.self) * xr.loadUnaligned(fromByteOffset: 4 &* i &+ 64, as: SIMD16<Float>.self)
            i += 32
        }
        var tail: Float = 0
        while i < count {
            tail += row.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) * x[i]
            i += 1
        }
        return horizontalSum(a0 + a1) + tail
    }

    @inline(__always)
    static func dotHalf(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ count: Int) -> Float {
        let xr = UnsafeRawPointer(x)
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            let h0 = row.loadUnaligned(fromByteOffset: 2 &* i, as: SIMD16<UInt16>.self)
            let h1 = row.loadUnaligned(fromByteOffset: 2 &* i &+ 32, as: SIMD16<UInt16>.self)
            let w0 = type == .f16 ? halfToFloat(h0) : bf16ToFloat(h0)
            let w1 = type == .f16 ? halfToFloat(h1) : bf16ToFloat(h1)
            a0 += w0 * xr.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD16<Float>.self)
            a1 += w1 * xr.loadUnaligned(fromByteOffset: 4 &* i &+ 64, as: SIMD16<Float>.self)
            i += 32
        }
        var tail: Float = 0
        if i < count {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { buf in
                Dequant.reference(type, row + 2 * i, buf.baseAddress!, count: count - i)
                for k in 0..<(count - i) { tail += buf[k] * x[i + k] }
            }
        }
        return horizontalSum(a0 + a1) + tail
    }

    /// Pairwise sum of the 16 lanes.
    @inline(__always)
    static func horizontalSum(_ v: SIMD16<Float>) -> Float {
        let s8 = v.lowHalf + v.highHalf
        let s4 = s8.lowHalf + s8.highHalf
        let s2 = s4.lowHalf + s4.highHalf
        return s2[0] + s2[1]
    }
}
