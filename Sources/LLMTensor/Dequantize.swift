// Dequantisation of GGML weight blocks to f32: a scalar reference per type (`Dequant.reference`) and
// the SIMD fast path (`Dequant.dequantize`, the C kernels' `llmk_dequantize` in the set chosen for this
// CPU), which equals it bit for bit.
//
// Block layouts are ggml's `ggml-common.h` structs (`block_q4_0` … `block_q6_K`); the formulas are
// those of `dequantize_row_*` in ggml's `ggml-quants.c`, with the K-quant 6-bit scale/min packing of
// `get_scale_min_k4`. All multi-byte fields are little-endian; `d`/`m`/`dmin` are IEEE binary16; BF16
// is the top 16 bits of an f32. Blocks are read with unaligned loads: GGUF tensor data is only
// 32-byte aligned and most block sizes are odd.
import CKernels

public enum Dequant {
    /// Scalar reference: decodes `count` weights (a whole number of blocks) of `type` from `src` into `dst`.
    public static func reference(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count >= 0 && count % type.blockSize == 0, "\(type): \(count) is not a whole number of blocks")
        let blocks = count / type.blockSize
        let bb = type.blockBytes
        switch type {
        case .f32:
            for i in 0..<count { dst[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .f16:
            for i in 0..<count { dst[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .q4_0:
            for b in 0..<blocks { refQ4_0(src + b * bb, dst + b * 32) }
        case .q4_1:
            for b in 0..<blocks { refQ4_1(src + b * bb, dst + b * 32) }
        case .q5_0:
            for b in 0..<blocks { refQ5_0(src + b * bb, dst + b * 32) }
        case .q5_1:
            for b in 0..<blocks { refQ5_1(src + b * bb, dst + b * 32) }
        case .q8_0:
            for b in 0..<blocks { refQ8_0(src + b * bb, dst + b * 32) }
        case .q2_K:
            for b in 0..<blocks { refQ2_K(src + b * bb, dst + b * 256) }
        case .q3_K:
            for b in 0..<blocks { refQ3_K(src + b * bb, dst + b * 256) }
        case .q4_K:
            for b in 0..<blocks { refQ4_K(src + b * bb, dst + b * 256) }
        case .q5_K:
            for b in 0..<blocks { refQ5_K(src + b * bb, dst + b * 256) }
        case .q6_K:
            for b in 0..<blocks { refQ6_K(src + b * bb, dst + b * 256) }
        }
    }

    /// Fast path (SIMD). Equals `reference` bit for bit.
    public static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count >= 0 && count % type.blockSize == 0, "\(type): \(count) is not a whole number of blocks")
        llmk_dequantize(Int32(type.rawValue), src, dst, count)
    }

    // MARK: scalar reference, one block each

    @inline(__always)
    static func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        halfToFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// block_q4_0 { f16 d; u8 qs[16] }: y[j] = (lo(qs[j]) − 8)·d, y[j+16] = (hi(qs[j]) − 8)·d.
    static func refQ4_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        for j in 0..<16 {
            let q = p.load(fromByteOffset: 2 + j, as: UInt8.self)
            y[j] = Float(Int(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    /// block_q4_1 { f16 d, m; u8 qs[16] }: y = q·d + m.
    static func refQ4_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0), m = f16(p, 2)
        for j in 0..<16 {
            let q = p.load(fromByteOffset: 4 + j, as: UInt8.self)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// The 5-bit quant of weight j (0 ..< 32) of a Q5_0/Q5_1 block with its 32-bit qh at byte `qh` and
    /// qs[16] right after: the low nibble of qs[j] (j < 16) or the high one of qs[j − 16], and bit j of qh
    /// as the 5th bit.
    @inline(__always)
    static func q5Quant(_ p: UnsafeRawPointer, qh: Int, weight j: Int) -> Int {
        let bits = p.loadUnaligned(fromByteOffset: qh, as: UInt32.self).littleEndian
        let q = p.load(fromByteOffset: qh + 4 + j % 16, as: UInt8.self)
        return Int(j < 16 ? q & 0x0F : q >> 4) | Int((bits >> UInt32(j)) & 1) << 4
    }

    /// block_q5_0 { f16 d; u8 qh[4]; u8 qs[16] }: 5th bit of weight j is bit j of qh; y = (q − 16)·d.
    static func refQ5_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        for j in 0..<32 { y[j] = Float(q5Quant(p, qh: 2, weight: j) - 16) * d }
    }

    /// block_q5_1 { f16 d, m; u8 qh[4]; u8 qs[16] }: y = q·d + m.
    static func refQ5_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0), m = f16(p, 2)
        for j in 0..<32 { y[j] = Float(q5Quant(p, qh: 4, weight: j)) * d + m }
    }

    /// block_q8_0 { f16 d; i8 qs[32] }: y = q·d.
    static func refQ8_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        for j in 0..<32 { y[j] = Float(p.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    /// block_q2_K { u8 scales[16]; u8 qs[64]; f16 d, dmin }: 16 groups of 16 weights; group g has
    /// scale d·(scales[g] & 15) and min dmin·(scales[g] >> 4); weight 128n + 32s + l is
    /// (qs[32n + l] >> 2s) & 3.
    static func refQ2_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 80), dmin = f16(p, 82)
        for n in 0..<2 {
            for s in 0..<4 {
                for half in 0..<2 {
                    let sc = p.load(fromByteOffset: 8 * n + 2 * s + half, as: UInt8.self)
                    let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                    for l in 0..<16 {
                        let q = p.load(fromByteOffset: 16 + 32 * n + 16 * half + l, as: UInt8.self)
                        y[128 * n + 32 * s + 16 * half + l] = dl * Float((q >> UInt8(2 * s)) & 3) - ml
                    }
                }
            }
        }
    }

    /// The 16 signed 6-bit group scales of block_q3_K (12 bytes at offset 96): low 4 bits from
    /// bytes 0…7 (low nibbles for groups 0…7, high nibbles for 8…15), high 2 bits from bytes 8…11.
    @inline(__always)
    static func q3KScale(_ p: UnsafeRawPointer, _ g: Int) -> Int {
        let lowByte = p.load(fromByteOffset: 96 + (g & 7), as: UInt8.self)
        let low = g < 8 ? lowByte & 0x0F : lowByte >> 4
        let high = (p.load(fromByteOffset: 96 + 8 + (g & 3), as: UInt8.self) >> UInt8(2 * (g >> 2))) & 3
        return Int(low | (high << 4)) - 32
    }

    /// block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }: weight 128n + 32s + l has low bits
    /// (qs[32n + l] >> 2s) & 3, and 4 is subtracted unless bit 4n + s of hmask[l] is set.
    static func refQ3_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 108)
        for n in 0..<2 {
            for s in 0..<4 {
                for half in 0..<2 {
                    let dl = d * Float(q3KScale(p, 8 * n + 2 * s + half))
                    for l in 16 * half..<16 * half + 16 {
                        let q = Int((p.load(fromByteOffset: 32 + 32 * n + l, as: UInt8.self) >> UInt8(2 * s)) & 3)
                        let h = (p.load(fromByteOffset: l, as: UInt8.self) >> UInt8(4 * n + s)) & 1
                        y[128 * n + 32 * s + l] = dl * Float(q - (h != 0 ? 0 : 4))
                    }
                }
            }
        }
    }

    /// `get_scale_min_k4`: the 6-bit scale and min of sub-block j (0…7) from the 12 packed bytes at `q`.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        func b(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
        return ((b(j + 4) & 0x0F) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
    }

    /// block_q4_K { f16 d, dmin; u8 scales[12]; u8 qs[128] }: 8 sub-blocks of 32; sub-block 2j takes
    /// the low nibbles of qs[32j…], 2j+1 the high ones; y = (d·sc)·q − dmin·m.
    static func refQ4_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0), dmin = f16(p, 2)
        for j in 0..<4 {
            let (s1, m1) = scaleMinK4(2 * j, p + 4), (s2, m2) = scaleMinK4(2 * j + 1, p + 4)
            let d1 = d * Float(s1), mm1 = dmin * Float(m1), d2 = d * Float(s2), mm2 = dmin * Float(m2)
            for l in 0..<32 {
                let q = p.load(fromByteOffset: 16 + 32 * j + l, as: UInt8.self)
                y[64 * j + l] = d1 * Float(q & 0x0F) - mm1
                y[64 * j + 32 + l] = d2 * Float(q >> 4) - mm2
            }
        }
    }

    /// block_q5_K { f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }: as Q4_K, plus a 5th bit:
    /// bit k of qh[l] for weight 32k + l.
    static func refQ5_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0), dmin = f16(p, 2)
        for s in 0..<8 {
            let (sc, mn) = scaleMinK4(s, p + 4)
            let ds = d * Float(sc), ms = dmin * Float(mn)
            for k in 0..<32 { y[32 * s + k] = ds * Float(q5KQuant(p, weight: 32 * s + k)) - ms }
        }
    }

    /// The 5-bit quant (0 … 31) of weight j of a Q5_K block: a nibble of qs (sub-block j / 32) and bit
    /// j / 32 of qh[j mod 32].
    static func q5KQuant(_ p: UnsafeRawPointer, weight j: Int) -> Int {
        let s = j / 32, l = j % 32
        let q = Int(p.load(fromByteOffset: 48 + 32 * (s / 2) + l, as: UInt8.self)) >> (4 * (s % 2)) & 0x0F
        return q | (Int(p.load(fromByteOffset: 16 + l, as: UInt8.self)) >> s & 1) << 4
    }

    /// block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }: two halves of 128; in half n,
    /// weight 32k + l (k = 0…3) takes a nibble of ql[64n + l + 32(k & 1)] (low for k < 2) and
    /// bits 2k…2k+1 of qh[32n + l]; y = (d·scales[g])·(q − 32) with g = weight / 16.
    static func refQ6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 208)
        for j in 0..<256 {
            y[j] = d * Float(p.load(fromByteOffset: 192 + j / 16, as: Int8.self)) * Float(q6Quant(p, weight: j) - 32)
        }
    }

    /// The 6-bit quant (0 … 63) of weight j of a Q6_K block.
    static func q6Quant(_ p: UnsafeRawPointer, weight j: Int) -> Int {
        let n = j / 128, k = j % 128 / 32, l = j % 32
        let ql = Int(p.load(fromByteOffset: 64 * n + l + 32 * (k & 1), as: UInt8.self)) >> (k < 2 ? 0 : 4) & 0x0F
        let qh = Int(p.load(fromByteOffset: 128 + 32 * n + l, as: UInt8.self)) >> (2 * k) & 3
        return ql | qh << 4
    }
}

// MARK: - half / bfloat conversion

/// Exact IEEE binary16 → binary32 without relying on F16C (the default x86-64 target has none, and
/// `Float(Float16)` then becomes a library call per value). NaN payloads are kept.
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let em = UInt32(h & 0x7FFF) << 13   // exponent and mantissa, moved to f32 positions
    let sign = UInt32(h & 0x8000) << 16
    let bits: UInt32
    if em >= 0x0F80_0000 {              // inf / NaN: all exponent bits
        bits = em | 0x7F80_0000
    } else if em >= 0x0080_0000 {       // normal: rebias the exponent by 127 − 15
        bits = em &+ (112 << 23)
    } else {                            // zero / subnormal: m·2⁻²⁴ = (2⁻¹⁴ + m·2⁻²⁴) − 2⁻¹⁴, exact
        bits = (Float(bitPattern: em | (113 << 23)) - Float(bitPattern: 113 << 23)).bitPattern
    }
    return Float(bitPattern: bits | sign)
}
