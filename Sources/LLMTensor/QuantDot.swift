// Quantised matrix–vector products for decoding: one weight row · an f32 activation vector, with the
// row decoded in registers (`BlockDecode`) and never written to memory. `dotReference` is the scalar
// twin (reference dequantisation, then a plain left-to-right f32 sum).
//
// The fused dot decodes every weight with exactly the reference's float operations, so it differs
// from `dotReference` only in summation order (four SIMD16 accumulators, then a tree sum).

public enum QuantDot {
    /// Σ_i w[i]·x[i] over one row of `count` weights stored as `type` at `row` — fused dequant+dot, SIMD.
    public static func dot(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        precondition(count >= 0 && count % type.blockSize == 0, "\(type): \(count) is not a whole number of blocks")
        switch type {
        case .f32: return dotF32(row, x, count)
        case .f16, .bf16: return dotHalf(type, row, x, count)
        case .q4_0: return dotBlocks(type, row, x, count) { BlockDecode.q4_0($0, $1, &$2) }
        case .q4_1: return dotBlocks(type, row, x, count) { BlockDecode.q4_1($0, $1, &$2) }
        case .q5_0: return dotBlocks(type, row, x, count) { BlockDecode.q5_0($0, $1, &$2) }
        case .q5_1: return dotBlocks(type, row, x, count) { BlockDecode.q5_1($0, $1, &$2) }
        case .q8_0: return dotBlocks(type, row, x, count) { BlockDecode.q8_0($0, $1, &$2) }
        case .q2_K: return dotBlocks(type, row, x, count) { BlockDecode.q2_K($0, $1, &$2) }
        case .q3_K: return dotBlocks(type, row, x, count) { BlockDecode.q3_K($0, $1, &$2) }
        case .q4_K: return dotBlocks(type, row, x, count) { BlockDecode.q4_K($0, $1, &$2) }
        case .q5_K: return dotBlocks(type, row, x, count) { BlockDecode.q5_K($0, $1, &$2) }
        case .q6_K: return dotBlocks(type, row, x, count) { BlockDecode.q6_K($0, $1, &$2) }
        }
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
        // Chunks of ≥ 16 rows keep each thread's writes to y on separate cache lines.
        pool.forEachChunk(rows, granularity: 16) { range in
            for r in range { y[r] = dot(type, w + r * rowBytes, x, count: cols) }
        }
    }

    // MARK: kernels

    /// Multiplies decoded weights into two running sums.
    struct DotSink: LaneSink {
        let x: UnsafeRawPointer
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()

        @inline(__always)
        mutating func put(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>) {
            acc0 += a * x.loadUnaligned(fromByteOffset: offset &* 4, as: SIMD16<Float>.self)
            acc1 += b * x.loadUnaligned(fromByteOffset: offset &* 4 &+ 64, as: SIMD16<Float>.self)
        }
    }

    /// Decodes `count / type.blockSize` blocks with `decode`; consecutive blocks alternate between two
    /// sinks (four accumulators in all).
    @inline(__always)
    static func dotBlocks(
        _ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ count: Int,
        _ decode: (UnsafeRawPointer, Int, inout DotSink) -> Void
    ) -> Float {
        let weights = type.blockSize, bytes = type.blockBytes, blocks = count / weights
        var even = DotSink(x: UnsafeRawPointer(x)), odd = DotSink(x: UnsafeRawPointer(x))
        var b = 0
        while b &+ 2 <= blocks {
            decode(row + b &* bytes, b &* weights, &even)
            decode(row + (b &+ 1) &* bytes, (b &+ 1) &* weights, &odd)
            b &+= 2
        }
        if b < blocks { decode(row + b &* bytes, b &* weights, &even) }
        return horizontalSum((even.acc0 + even.acc1) + (odd.acc0 + odd.acc1))
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
