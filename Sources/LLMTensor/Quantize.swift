// Quantisation of f32 weights into GGML blocks and rounding to the half-precision storage types: the
// inverse direction of Dequantize.swift, for writing models.
//   Q8_0 and Q4_0 follow ggml's reference quantisers, `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref` in
//   ggml-quants.c, operation for operation (f32 arithmetic, the scale's reciprocal computed from the f32
//   scale before it is rounded to f16, `roundf` — halves away from zero — for Q8_0, `(int8_t)(x·id + 8.5f)`
//   truncation clamped to 15 for Q4_0), so the bytes equal those llama.cpp's `llama-quantize` and
//   gguf-py write for the same f32 rows.
//   Q4_K (ggml's block_q4_K layout, our own fit — not ggml's iterative make_qkx2_quants search): per sub-block
//   of 32 the range [min(0, min x), max x] spread over the 16 levels, its step and −minimum as 6-bit
//   multiples of two f16 super-block scales (rounded up so 63 of them reach the largest), weights rounded to
//   the nearest level of the stored scale and minimum. |dequantised − x| ≤ (step + d)/2 + dmin/2 (see q4_K).
//   F16: IEEE binary16, round to nearest even (ggml's GGML_FP32_TO_FP16, PyTorch's `.half()`).
//   BF16: the top 16 bits of the f32 after round-to-nearest-even (PyTorch's `.bfloat16()`, ggml's
//   `ggml_compute_fp32_to_bf16`); NaNs stay quiet NaNs.
public enum Quantize {
    /// The types `encode` writes.
    public static let writableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_K]

    /// Encodes `count` floats (a whole number of `type`'s blocks) into `dst`, which holds
    /// `type.byteCount(elements: count)` bytes. `type` must be one of `writableTypes`.
    public static func encode(_ type: GGMLType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
        precondition(count % type.blockSize == 0, "\(type): \(count) is not a whole number of blocks")
        switch type {
        case .f32:
            for i in 0..<count { dst.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        case .f16:
            for i in 0..<count { dst.storeBytes(of: Float16(src[i]).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in 0..<count { dst.storeBytes(of: bf16(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0:
            for b in 0..<count / 32 { q8_0(src + 32 * b, dst + 34 * b) }
        case .q4_0:
            for b in 0..<count / 32 { q4_0(src + 32 * b, dst + 18 * b) }
        case .q4_K:
            for b in 0..<count / 256 { q4_K(src + 256 * b, dst + 144 * b) }
        default:
            preconditionFailure("\(type) has no quantiser; write one of \(writableTypes)")
        }
    }

    /// BF16 bits of `x`, rounded to nearest even.
    public static func bf16(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(rounded >> 16)
    }

    /// ggml `quantize_row_q8_0_ref` for one block: d = amax / 127, q = roundf(x · (1/d)).
    static func q8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        y.storeBytes(of: Float16(d).bitPattern.littleEndian, as: UInt16.self)
        for j in 0..<32 {
            let q = (x[j] * id).rounded(.toNearestOrAwayFromZero)
            // Finite weights give −127…127; a NaN or infinity (undefined in C) becomes 0 or ±127.
            y.storeBytes(of: q.isNaN ? 0 : Int8(max(-127, min(127, q))), toByteOffset: 2 + j, as: Int8.self)
        }
    }

    /// ggml `quantize_row_q4_0_ref` for one block: d = (the value of largest magnitude) / −8,
    /// q = min(15, trunc(x · (1/d) + 8.5)); byte j holds q[j] (low nibble) and q[j + 16] (high nibble).
    static func q4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0, maxValue: Float = 0
        for j in 0..<32 where amax < abs(x[j]) {
            amax = abs(x[j])
            maxValue = x[j]
        }
        let d = maxValue / -8
        let id: Float = d != 0 ? 1 / d : 0
        y.storeBytes(of: Float16(d).bitPattern.littleEndian, as: UInt16.self)
        for j in 0..<16 {
            let x0 = x[j] * id, x1 = x[16 + j] * id
            let q0 = nibble(x0 + 8.5), q1 = nibble(x1 + 8.5)
            y.storeBytes(of: q0 | (q1 << 4), toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// One block_q4_K { f16 d, dmin; u8 scales[12]; u8 qs[128] } of 256 weights, decoded (Dequantize's
    /// refQ4_K) as y = d·sc_j·q − dmin·m_j for sub-block j of 32. Sub-block j spans [lo_j, hi_j] with
    /// lo_j = min(0, min x) (the offset −dmin·m_j cannot be positive) and hi_j = max x: step_j = (hi_j − lo_j)/15.
    /// d and dmin are the largest step and −lo over 63, rounded to f16 and up one f16 step if that fell
    /// below, so every sc_j = ⌈step_j / d⌉ and m_j = round(−lo_j / dmin) fits 6 bits. Then d·sc_j ∈
    /// [step_j, step_j + d) and dmin·m_j is within dmin/2 of −lo_j: the levels cover [lo_j, hi_j] but for
    /// dmin/2 at either end, so |y − x| ≤ (step_j + d)/2 + dmin/2. Non-finite weights count as 0.
    static func q4_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        @inline(__always) func v(_ i: Int) -> Float { x[i].isFinite ? x[i] : 0 }
        // SIMD8 values, not arrays: no allocation per block (a 7B file has 27 million of them).
        var step = SIMD8<Float>(), negLo = SIMD8<Float>()
        for j in 0..<8 {
            var lo: Float = 0, hi = -Float.infinity
            for i in 32 * j..<32 * j + 32 { lo = min(lo, v(i)); hi = max(hi, v(i)) }
            step[j] = (hi - lo) / 15
            negLo[j] = 0 - lo   // +0 for lo = 0, so an all-zero block stores dmin as +0 (−lo would give −0)
        }
        /// The f16 of `largest` / 63, one f16 step up if 63 of it falls short of `largest`.
        func superScale(_ largest: Float) -> Float16 {
            var s = Float16(largest / 63)
            if Float(s) * 63 < largest { s = s.nextUp }
            return s
        }
        let d16 = superScale(step.max()), dmin16 = superScale(negLo.max())
        let d = Float(d16), dmin = Float(dmin16)
        var sc = SIMD8<UInt8>(), m = SIMD8<UInt8>()
        for j in 0..<8 {
            sc[j] = d > 0 ? UInt8(min(63, (step[j] / d).rounded(.up))) : 0
            m[j] = dmin > 0 ? UInt8(min(63, (negLo[j] / dmin).rounded())) : 0
        }
        y.storeBytes(of: d16.bitPattern.littleEndian, as: UInt16.self)
        y.storeBytes(of: dmin16.bitPattern.littleEndian, toByteOffset: 2, as: UInt16.self)
        // scales[12], the inverse of get_scale_min_k4: sub-blocks 0–3 in the low 6 bits of bytes 0–3 (scale)
        // and 4–7 (min); sub-blocks 4–7 in the nibbles of bytes 8–11, their top 2 bits in the top bits of 0–7.
        for j in 0..<4 {
            y.storeBytes(of: sc[j] | (sc[j + 4] >> 4) << 6, toByteOffset: 4 + j, as: UInt8.self)
            y.storeBytes(of: m[j] | (m[j + 4] >> 4) << 6, toByteOffset: 8 + j, as: UInt8.self)
            y.storeBytes(of: (sc[j + 4] & 0x0F) | (m[j + 4] & 0x0F) << 4, toByteOffset: 12 + j, as: UInt8.self)
        }
        // qs: sub-block 2k in the low nibbles of qs[32k…32k+31], 2k+1 in the high ones.
        for k in 0..<4 {
            for l in 0..<32 {
                func level(_ j: Int) -> UInt8 {
                    let dl = d * Float(sc[j]), ml = dmin * Float(m[j])
                    return dl > 0 ? UInt8(max(0, min(15, ((v(32 * j + l) + ml) / dl).rounded()))) : 0
                }
                y.storeBytes(of: level(2 * k) | level(2 * k + 1) << 4, toByteOffset: 16 + 32 * k + l, as: UInt8.self)
            }
        }
    }

    /// MIN(15, (int8_t)v) for v in [0, 17) as finite weights give it; NaN and out-of-range values clamp.
    @inline(__always) static func nibble(_ v: Float) -> UInt8 {
        guard v.isFinite, v >= 0 else { return 0 }
        return UInt8(min(15, Int(min(v, 127))))
    }
}
