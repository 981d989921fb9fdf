// Quantised matrix–vector products for decoding: one weight row · an f32 activation vector, with the
// row decoded in registers (`BlockDecode`) and never written to memory. `dotReference` is the scalar
// twin (reference dequantisation, then a plain left-to-right f32 sum).
//
// Blocks with one scale per 32 weights are decoded to unsigned quants a, and the bias or offset is
// folded into the sum of x: Σ (a·d + m)·x = Σ (a·d)·x + m·Σx (a bias b is m = −b·d), with the per-32
// sums of x computed once per call (once per GEMV). This saves vector work and keeps the quants
// unsigned (see `LaneSink`), so the result differs from `dotReference` by float rounding only
// (summation order and this regrouping); the tests bound the difference by 1e-5 · Σ|w·x|.

public enum QuantDot {
    /// Σ_i w[i]·x[i] over one row of `count` weights stored as `type` at `row` — fused dequant+dot, SIMD.
    public static func dot(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        precondition(count >= 0 && count % type.blockSize == 0, "\(type): \(count) is not a whole number of blocks")
        var out: Float = 0
        withBlockSums(type, x, count) { xs in rows(type, row, rowBytes: 0, 0..<1, cols: count, x, xs, &out) }
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
                Self.rows(type, w, rowBytes: rowBytes, range, cols: cols, x, xs, y)
            }
        }
    }

    // MARK: kernels

    /// Types whose blocks carry a bias or offset (weight = (a − bias)·d or a·d + m) and so need Σx
    /// per 32 weights.
    static func needsBlockSums(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K: return true
        case .f32, .f16, .bf16, .q2_K, .q3_K, .q6_K: return false
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

    /// y[r] = row r · x for r in `range`; `xs` are the block sums from `withBlockSums`.
    static func rows(
        _ type: GGMLType, _ w: UnsafeRawPointer, rowBytes: Int, _ range: Range<Int>, cols: Int,
        _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>
    ) {
        switch type {
        case .f32: for r in range { y[r] = dotF32(w + r &* rowBytes, x, cols) }
        case .f16, .bf16: for r in range { y[r] = dotHalf(type, w + r &* rowBytes, x, cols) }
        case .q4_0: rows(BlockDecode.Q4_0.self, w, rowBytes, range, cols, x, xs, y)
        case .q4_1: rows(BlockDecode.Q4_1.self, w, rowBytes, range, cols, x, xs, y)
        case .q5_0: rows(BlockDecode.Q5_0.self, w, rowBytes, range, cols, x, xs, y)
        case .q5_1: rows(BlockDecode.Q5_1.self, w, rowBytes, range, cols, x, xs, y)
        case .q8_0: rows(BlockDecode.Q8_0.self, w, rowBytes, range, cols, x, xs, y)
        case .q2_K: rows(BlockDecode.Q2_K.self, w, rowBytes, range, cols, x, xs, y)
        case .q3_K: rows(BlockDecode.Q3_K.self, w, rowBytes, range, cols, x, xs, y)
        case .q4_K: rows(BlockDecode.Q4_K.self, w, rowBytes, range, cols, x, xs, y)
        case .q5_K: rows(BlockDecode.Q5_K.self, w, rowBytes, range, cols, x, xs, y)
        case .q6_K: rows(BlockDecode.Q6_K.self, w, rowBytes, range, cols, x, xs, y)
        }
    }

    /// The row loop of one block format, kept out of line: each format's kernel is then compiled as a
    /// small function of its own, which is what keeps LLVM's vectoriser from tangling them.
    @inline(never)
    static func rows<F: BlockFormat>(
        _: F.Type, _ w: UnsafeRawPointer, _ rowBytes: Int, _ range: Range<Int>, _ cols: Int,
        _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>
    ) {
        let table = decodeTables
        let weights = F.type.blockSize, bytes = F.type.blockBytes, blocks = cols / weights
        for r in range {
            let row = w + r &* rowBytes
            // One sink: two alternating sinks would shorten the add chains, but on the baseline
            // x86-64 target their 32 SSE registers of accumulators spill.
            var sink = DotSink(x: x, xs: xs)
            for b in 0..<blocks { F.decode(row + b &* bytes, b &* weights, table, &sink) }
            y[r] = sink.total
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
        mutating func scaled(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>, bias: Float, _ d: Float) {
            affine(offset, a, b, d, -bias * d)
        }

        @inline(__always)
        mutating func affine(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>, _ d: Float, _ m: Float) {
            put(offset, a * d, b * d)
            offsets += m * xs[offset &>> 5]
        }

        @inline(__always)
        var total: Float {
            horizontalSum(acc0 + acc1) + offsets
        }
    }

    @inline(never)
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

    @inline(never)
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
