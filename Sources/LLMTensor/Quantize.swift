// Quantisation of f32 weights into GGML blocks and rounding to the half-precision storage types: the
// inverse direction of Dequantize.swift, for writing models.
//   Q8_0 and Q4_0 follow ggml's reference quantisers, `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref` in
//   ggml-quants.c, operation for operation (f32 arithmetic, the scale's reciprocal computed from the f32
//   scale before it is rounded to f16, `roundf` — halves away from zero — for Q8_0, `(int8_t)(x·id + 8.5f)`
//   truncation clamped to 15 for Q4_0), so the bytes equal those llama.cpp's `llama-quantize` and
//   gguf-py write for the same f32 rows.
//   F16: IEEE binary16, round to nearest even (ggml's GGML_FP32_TO_FP16, PyTorch's `.half()`).
//   BF16: the top 16 bits of the f32 after round-to-nearest-even (PyTorch's `.bfloat16()`, ggml's
//   `ggml_compute_fp32_to_bf16`); NaNs stay quiet NaNs.
public enum Quantize {
    /// The types `encode` writes.
    public static let writableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0]

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

    /// MIN(15, (int8_t)v) for v in [0, 17) as finite weights give it; NaN and out-of-range values clamp.
    @inline(__always) static func nibble(_ v: Float) -> UInt8 {
        guard v.isFinite, v >= 0 else { return 0 }
        return UInt8(min(15, Int(min(v, 127))))
    }
}
