// Dequantisation of GGML weight blocks to f32: a scalar reference per type (`Dequant.reference`) and
// a SIMD fast path (`Dequant.dequantize`) that equals it bit for bit.
//
// Block layouts are ggml's `ggml-common.h` structs (`block_q4_0` … `block_q6_K`); the formulas are
// those of `dequantize_row_*` in ggml's `ggml-quants.c`, with the K-quant 6-bit scale/min packing of
// `get_scale_min_k4`. All multi-byte fields are little-endian; `d`/`m`/`dmin` are IEEE binary16; BF16
// is the top 16 bits of an f32. Blocks are read with unaligned loads: GGUF tensor data is only
// 32-byte aligned and most block sizes are odd.
//
// The fast path decodes 32 weights at a time (see `BlockDecode`) and hands them to a `LaneSink`,
// as finished weights or as unsigned integer quants plus scale and bias/offset: `Dequant.dequantize`
// stores them (`StoreSink`), `QuantDot` multiplies them into running sums. The store sink computes
// each lane with the same float operations in the same order as the reference (no fused
// multiply-add), which is what makes the two bit-identical.
//
// A note on codegen: Swift has no SIMD conversion or shuffle primitives that lower to single LLVM
// instructions, so lane conversions are written as per-lane loops that LLVM re-vectorises. That works
// when each kernel is a small function of its own (hence `BlockFormat` and the out-of-line generic
// loops), with unsigned quants only and no SIMD comparisons; see the comments at those places.

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
        switch type {
        case .f32:
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: 4 * count)
        case .f16, .bf16:
            let wide = count & ~15
            var i = 0
            while i < wide {
                let h = src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
                let v = type == .f16 ? halfToFloat(h) : bf16ToFloat(h)
                UnsafeMutableRawPointer(dst + i).storeBytes(of: v, as: SIMD16<Float>.self)
                i += 16
            }
            if i < count { reference(type, src + 2 * i, dst + i, count: count - i) }
        default:
            var sink = StoreSink(dst: dst)
            BlockDecode.decode(type, src, blocks: count / type.blockSize, into: &sink)
        }
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

    /// block_q5_0 { f16 d; u8 qh[4]; u8 qs[16] }: 5th bit of weight j is bit j of qh; y = (q − 16)·d.
    static func refQ5_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
        for j in 0..<16 {
            let q = p.load(fromByteOffset: 6 + j, as: UInt8.self)
            let h0 = Int((qh >> UInt32(j)) & 1) << 4, h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = Float((Int(q & 0x0F) | h0) - 16) * d
            y[j + 16] = Float((Int(q >> 4) | h1) - 16) * d
        }
    }

    /// block_q5_1 { f16 d, m; u8 qh[4]; u8 qs[16] }: y = q·d + m.
    static func refQ5_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0), m = f16(p, 2)
        let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        for j in 0..<16 {
            let q = p.load(fromByteOffset: 8 + j, as: UInt8.self)
            let h0 = Int((qh >> UInt32(j)) & 1) << 4, h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = Float(Int(q & 0x0F) | h0) * d + m
            y[j + 16] = Float(Int(q >> 4) | h1) * d + m
        }
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
        for j in 0..<4 {
            let (s1, m1) = scaleMinK4(2 * j, p + 4), (s2, m2) = scaleMinK4(2 * j + 1, p + 4)
            let d1 = d * Float(s1), mm1 = dmin * Float(m1), d2 = d * Float(s2), mm2 = dmin * Float(m2)
            for l in 0..<32 {
                let q = p.load(fromByteOffset: 48 + 32 * j + l, as: UInt8.self)
                let h = p.load(fromByteOffset: 16 + l, as: UInt8.self)
                let h1: UInt8 = (h >> UInt8(2 * j)) & 1 != 0 ? 16 : 0
                let h2: UInt8 = (h >> UInt8(2 * j + 1)) & 1 != 0 ? 16 : 0
                y[64 * j + l] = d1 * Float((q & 0x0F) + h1) - mm1
                y[64 * j + 32 + l] = d2 * Float((q >> 4) + h2) - mm2
            }
        }
    }

    /// block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }: two halves of 128; in half n,
    /// weight 32k + l (k = 0…3) takes a nibble of ql[64n + l + 32(k & 1)] (low for k < 2) and
    /// bits 2k…2k+1 of qh[32n + l]; y = (d·scales[g])·(q − 32) with g = weight / 16.
    static func refQ6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 208)
        for n in 0..<2 {
            for l in 0..<32 {
                let qlA = p.load(fromByteOffset: 64 * n + l, as: UInt8.self)
                let qlB = p.load(fromByteOffset: 64 * n + l + 32, as: UInt8.self)
                let qh = p.load(fromByteOffset: 128 + 32 * n + l, as: UInt8.self)
                let q1 = Int((qlA & 0x0F) | ((qh >> 0) & 3) << 4) - 32
                let q2 = Int((qlB & 0x0F) | ((qh >> 2) & 3) << 4) - 32
                let q3 = Int((qlA >> 4) | ((qh >> 4) & 3) << 4) - 32
                let q4 = Int((qlB >> 4) | ((qh >> 6) & 3) << 4) - 32
                let g = 8 * n + l / 16
                func sc(_ k: Int) -> Float { Float(p.load(fromByteOffset: 192 + g + k, as: Int8.self)) }
                y[128 * n + l] = d * sc(0) * Float(q1)
                y[128 * n + l + 32] = d * sc(2) * Float(q2)
                y[128 * n + l + 64] = d * sc(4) * Float(q3)
                y[128 * n + l + 96] = d * sc(6) * Float(q4)
            }
        }
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

/// Lookup tables of the block decoders, built once and read-only afterwards (hence Sendable).
struct DecodeTables: @unchecked Sendable {
    /// All 65536 halves as floats (256 KiB), filled by `halfToFloat`: the kernels read their f16
    /// scales here with one load instead of a dozen integer operations (ggml keeps the same table,
    /// `ggml_table_f32_f16`, for CPUs without F16C).
    let half: UnsafePointer<Float>
    /// For each byte value, 8 bytes that are 16 where the corresponding bit is set, else 0: the
    /// 5th bits of eight Q5_0/Q5_1 weights in one load.
    let fifthBits: UnsafePointer<UInt64>

    static func make() -> DecodeTables {
        let half = UnsafeMutablePointer<Float>.allocate(capacity: 1 << 16)
        for h in 0...UInt16.max { half[Int(h)] = halfToFloat(h) }
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: 256)
        for b in 0..<256 {
            bits[b] = (0..<8).reduce(0) { v, k in b >> k & 1 == 0 ? v : v | 16 << (8 * k) }
        }
        return DecodeTables(half: half, fifthBits: bits)
    }
}

let decodeTables = DecodeTables.make()

/// Sixteen halves at once, same rules as the scalar `halfToFloat`. Lanes are selected with sign-bit
/// masks computed arithmetically: Swift's SIMD comparisons and `replacing(with:where:)` are written
/// as per-lane loops and can stay scalar.
@inline(__always)
func halfToFloat(_ h: SIMD16<UInt16>) -> SIMD16<Float> {
    var w = SIMD16<Int32>()
    for i in 0..<16 { w[i] = Int32(h[i]) }
    let em = (w & 0x7FFF) &<< 13
    let sign = (w & 0x8000) &<< 16
    let normal = em &+ (112 << 23)
    let sub = unsafeBitCast(unsafeBitCast(em | (113 << 23), to: SIMD16<Float>.self) - Float(bitPattern: 113 << 23),
                            to: SIMD16<Int32>.self)
    let isSub = (em &- 0x0080_0000) &>> 31       // all ones where em < 0x0080_0000
    let isInfNaN = ~((em &- 0x0F80_0000) &>> 31) // all ones where em ≥ 0x0F80_0000
    var bits = (normal & ~isSub) | (sub & isSub)
    bits = (bits & ~isInfNaN) | ((em | 0x7F80_0000) & isInfNaN)
    return unsafeBitCast(bits | sign, to: SIMD16<Float>.self)
}

@inline(__always)
func bf16ToFloat(_ h: SIMD16<UInt16>) -> SIMD16<Float> {
    var w = SIMD16<UInt32>()
    for i in 0..<16 { w[i] = UInt32(h[i]) << 16 }
    return unsafeBitCast(w, to: SIMD16<Float>.self)
}

// MARK: - SIMD block decoding

/// Receives decoded weights 32 at a time, weights offset…offset+15 in the first vector and
/// offset+16…offset+31 in the second, in one of three forms:
///  * `put`: the weights themselves;
///  * `scaled`: non-negative integer-valued `a`, `b`, an integer bias and a scale: weight = (a − bias)·d;
///  * `affine`: non-negative integer-valued `a`, `b`, a scale and an offset: weight = a·d + m.
/// The last two let the dot product fold the bias or offset into Σx (see `QuantDot`). Quants stay
/// unsigned throughout: on the baseline SSE2 target LLVM sign-extends bytes by interleaving with a
/// stale register, a false dependency that serialises the whole loop.
protocol LaneSink {
    mutating func put(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>)
    mutating func scaled(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>, bias: Float, _ d: Float)
    mutating func affine(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>, _ d: Float, _ m: Float)
}

/// Stores decoded weights to memory (the fast dequantiser), computing each lane as the reference does.
struct StoreSink: LaneSink {
    let dst: UnsafeMutablePointer<Float>

    @inline(__always)
    mutating func put(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>) {
        let p = UnsafeMutableRawPointer(dst + offset)
        p.storeBytes(of: a, as: SIMD16<Float>.self)
        p.storeBytes(of: b, toByteOffset: 64, as: SIMD16<Float>.self)
    }

    @inline(__always)
    mutating func scaled(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>, bias: Float, _ d: Float) {
        put(offset, (a - bias) * d, (b - bias) * d)  // a − bias is exact: both are small integers
    }

    @inline(__always)
    mutating func affine(_ offset: Int, _ a: SIMD16<Float>, _ b: SIMD16<Float>, _ d: Float, _ m: Float) {
        put(offset, a * d + m, b * d + m)
    }
}

/// Lane-wise UInt8 → Float, written as a loop: LLVM turns it into (v)pmovzxbd + cvtdq2ps, whereas
/// the generic `SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded:))` stays an out-of-line call.
@inline(__always)
func floats(_ v: SIMD16<UInt8>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(v[i]) }
    return r
}

/// 16 where bit `k` of a lane is set, else 0, by shifting that bit to position 4 (`k` is a constant
/// once the caller's loop is unrolled). Shifts and masks only: Swift's SIMD comparisons are per-lane
/// loops that can stay scalar.
@inline(__always)
func bit(_ k: Int, of v: SIMD16<UInt8>, to position: Int) -> SIMD16<UInt8> {
    let moved = k <= position ? v &<< UInt8(position - k) : v &>> UInt8(k - position)
    return moved & SIMD16(repeating: 1 << UInt8(position))
}

/// A block-quantised format: its GGML type and its SIMD decoder (one block at byte `p`, whose first
/// weight has index `o`, with f16 scales read through `table`).
protocol BlockFormat {
    static var type: GGMLType { get }
}

extension BlockFormat {
    @inline(__always)
    static func decode<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ table: DecodeTables, _ sink: inout S) {
        switch type {
        case .q4_0: BlockDecode.q4_0(p, o, table, &sink)
        case .q4_1: BlockDecode.q4_1(p, o, table, &sink)
        case .q5_0: BlockDecode.q5_0(p, o, table, &sink)
        case .q5_1: BlockDecode.q5_1(p, o, table, &sink)
        case .q8_0: BlockDecode.q8_0(p, o, table, &sink)
        case .q2_K: BlockDecode.q2_K(p, o, table, &sink)
        case .q3_K: BlockDecode.q3_K(p, o, table, &sink)
        case .q4_K: BlockDecode.q4_K(p, o, table, &sink)
        case .q5_K: BlockDecode.q5_K(p, o, table, &sink)
        case .q6_K: BlockDecode.q6_K(p, o, table, &sink)
        case .f32, .f16, .bf16: preconditionFailure("\(type) has no blocks to decode")
        }
    }
}

/// The SIMD decoders of the block types. Each hands its sink, lane for lane, the operands of exactly
/// the float operations the scalar reference performs (x − y is passed as x + (−y), which IEEE
/// arithmetic makes identical; q − bias is exact in floats for these small integers).
enum BlockDecode {
    /// Decodes `blocks` blocks of a block-quantised type (not F32/F16/BF16) into `sink`.
    @inline(__always)
    static func decode<S: LaneSink>(_ type: GGMLType, _ src: UnsafeRawPointer, blocks: Int, into sink: inout S) {
        switch type {
        case .q4_0: decode(Q4_0.self, src, blocks, &sink)
        case .q4_1: decode(Q4_1.self, src, blocks, &sink)
        case .q5_0: decode(Q5_0.self, src, blocks, &sink)
        case .q5_1: decode(Q5_1.self, src, blocks, &sink)
        case .q8_0: decode(Q8_0.self, src, blocks, &sink)
        case .q2_K: decode(Q2_K.self, src, blocks, &sink)
        case .q3_K: decode(Q3_K.self, src, blocks, &sink)
        case .q4_K: decode(Q4_K.self, src, blocks, &sink)
        case .q5_K: decode(Q5_K.self, src, blocks, &sink)
        case .q6_K: decode(Q6_K.self, src, blocks, &sink)
        case .f32, .f16, .bf16: preconditionFailure("\(type) has no blocks to decode")
        }
    }

    /// Out of line so that each format is compiled on its own (see the note at the top of the file).
    @inline(never)
    static func decode<F: BlockFormat, S: LaneSink>(_: F.Type, _ src: UnsafeRawPointer, _ blocks: Int, _ sink: inout S) {
        let table = decodeTables
        for b in 0..<blocks { F.decode(src + b &* F.type.blockBytes, b &* F.type.blockSize, table, &sink) }
    }

    // One type per format, so that generic kernels get one specialisation each.
    enum Q4_0: BlockFormat { static var type: GGMLType { .q4_0 } }
    enum Q4_1: BlockFormat { static var type: GGMLType { .q4_1 } }
    enum Q5_0: BlockFormat { static var type: GGMLType { .q5_0 } }
    enum Q5_1: BlockFormat { static var type: GGMLType { .q5_1 } }
    enum Q8_0: BlockFormat { static var type: GGMLType { .q8_0 } }
    enum Q2_K: BlockFormat { static var type: GGMLType { .q2_K } }
    enum Q3_K: BlockFormat { static var type: GGMLType { .q3_K } }
    enum Q4_K: BlockFormat { static var type: GGMLType { .q4_K } }
    enum Q5_K: BlockFormat { static var type: GGMLType { .q5_K } }
    enum Q6_K: BlockFormat { static var type: GGMLType { .q6_K } }

    /// The f16 at `offset`, through the table.
    @inline(__always)
    static func f16(_ p: UnsafeRawPointer, _ offset: Int, _ t: DecodeTables) -> Float {
        t.half[Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))]
    }

    @inline(__always)
    static func q4_0<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        let q = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
        sink.scaled(o, floats(q & 0x0F), floats(q &>> 4), bias: 8, f16(p, 0, t))
    }

    @inline(__always)
    static func q4_1<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        let q = p.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
        sink.affine(o, floats(q & 0x0F), floats(q &>> 4), f16(p, 0, t), f16(p, 2, t))
    }

    /// The 5th bits of a Q5 block (the 32-bit qh at `offset`) as 0/16 per lane, for weights 0…15
    /// and 16…31.
    @inline(__always)
    static func q5High(_ p: UnsafeRawPointer, _ offset: Int, _ t: DecodeTables) -> (SIMD16<UInt8>, SIMD16<UInt8>) {
        @inline(__always) func lanes(_ byte: Int) -> UInt64 {
            t.fifthBits[Int(p.load(fromByteOffset: offset + byte, as: UInt8.self))]
        }
        return (unsafeBitCast(SIMD2<UInt64>(lanes(0), lanes(1)), to: SIMD16<UInt8>.self),
                unsafeBitCast(SIMD2<UInt64>(lanes(2), lanes(3)), to: SIMD16<UInt8>.self))
    }

    @inline(__always)
    static func q5_0<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        let (h0, h1) = q5High(p, 2, t)
        let q = p.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self)
        sink.scaled(o, floats((q & 0x0F) | h0), floats((q &>> 4) | h1), bias: 16, f16(p, 0, t))
    }

    @inline(__always)
    static func q5_1<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        let (h0, h1) = q5High(p, 4, t)
        let q = p.loadUnaligned(fromByteOffset: 8, as: SIMD16<UInt8>.self)
        sink.affine(o, floats((q & 0x0F) | h0), floats((q &>> 4) | h1), f16(p, 0, t), f16(p, 2, t))
    }

    @inline(__always)
    static func q8_0<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        // q + 128 (flipping the sign bit) is the unsigned form of the int8 quant.
        let a = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self) ^ 0x80
        let b = p.loadUnaligned(fromByteOffset: 18, as: SIMD16<UInt8>.self) ^ 0x80
        sink.scaled(o, floats(a), floats(b), bias: 128, f16(p, 0, t))
    }

    /// Q2_K, Q3_K and Q6_K change scale every 16 weights, so they hand over finished weights.
    @inline(__always)
    static func q2_K<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        let d = f16(p, 80, t), dmin = f16(p, 82, t)
        for n in 0..<2 {
            let q0 = p.loadUnaligned(fromByteOffset: 16 + 32 * n, as: SIMD16<UInt8>.self)
            let q1 = p.loadUnaligned(fromByteOffset: 32 + 32 * n, as: SIMD16<UInt8>.self)
            for s in 0..<4 {
                let sc0 = p.load(fromByteOffset: 8 * n + 2 * s, as: UInt8.self)
                let sc1 = p.load(fromByteOffset: 8 * n + 2 * s + 1, as: UInt8.self)
                let dl0 = d * Float(sc0 & 0x0F), ml0 = dmin * Float(sc0 >> 4)
                let dl1 = d * Float(sc1 & 0x0F), ml1 = dmin * Float(sc1 >> 4)
                let shift = UInt8(2 * s)
                sink.put(o + 128 * n + 32 * s,
                         dl0 * floats((q0 &>> shift) & 3) - ml0,
                         dl1 * floats((q1 &>> shift) & 3) - ml1)
            }
        }
    }

    @inline(__always)
    static func q3_K<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        let d = f16(p, 108, t)
        let hm0 = p.loadUnaligned(fromByteOffset: 0, as: SIMD16<UInt8>.self)
        let hm1 = p.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
        for n in 0..<2 {
            let q0 = p.loadUnaligned(fromByteOffset: 32 + 32 * n, as: SIMD16<UInt8>.self)
            let q1 = p.loadUnaligned(fromByteOffset: 48 + 32 * n, as: SIMD16<UInt8>.self)
            for s in 0..<4 {
                let g = 8 * n + 2 * s
                let dl0 = d * Float(Dequant.q3KScale(p, g)), dl1 = d * Float(Dequant.q3KScale(p, g + 1))
                let shift = UInt8(2 * s)
                // (q | 4·h) − 4 = q − (h ? 0 : 4); the subtraction is exact in floats
                let v0 = floats(((q0 &>> shift) & 3) | bit(4 * n + s, of: hm0, to: 2)) - 4
                let v1 = floats(((q1 &>> shift) & 3) | bit(4 * n + s, of: hm1, to: 2)) - 4
                sink.put(o + 128 * n + 32 * s, dl0 * v0, dl1 * v1)
            }
        }
    }

    @inline(__always)
    static func q4_K<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        let d = f16(p, 0, t), dmin = f16(p, 2, t)
        for j in 0..<4 {
            let (s1, m1) = Dequant.scaleMinK4(2 * j, p + 4), (s2, m2) = Dequant.scaleMinK4(2 * j + 1, p + 4)
            let q0 = p.loadUnaligned(fromByteOffset: 16 + 32 * j, as: SIMD16<UInt8>.self)
            let q1 = p.loadUnaligned(fromByteOffset: 32 + 32 * j, as: SIMD16<UInt8>.self)
            sink.affine(o + 64 * j, floats(q0 & 0x0F), floats(q1 & 0x0F), d * Float(s1), -(dmin * Float(m1)))
            sink.affine(o + 64 * j + 32, floats(q0 &>> 4), floats(q1 &>> 4), d * Float(s2), -(dmin * Float(m2)))
        }
    }

    @inline(__always)
    static func q5_K<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        let d = f16(p, 0, t), dmin = f16(p, 2, t)
        let h0 = p.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
        let h1 = p.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self)
        for j in 0..<4 {
            let (s1, m1) = Dequant.scaleMinK4(2 * j, p + 4), (s2, m2) = Dequant.scaleMinK4(2 * j + 1, p + 4)
            let q0 = p.loadUnaligned(fromByteOffset: 48 + 32 * j, as: SIMD16<UInt8>.self)
            let q1 = p.loadUnaligned(fromByteOffset: 64 + 32 * j, as: SIMD16<UInt8>.self)
            sink.affine(o + 64 * j,
                        floats((q0 & 0x0F) | bit(2 * j, of: h0, to: 4)), floats((q1 & 0x0F) | bit(2 * j, of: h1, to: 4)),
                        d * Float(s1), -(dmin * Float(m1)))
            sink.affine(o + 64 * j + 32,
                        floats((q0 &>> 4) | bit(2 * j + 1, of: h0, to: 4)), floats((q1 &>> 4) | bit(2 * j + 1, of: h1, to: 4)),
                        d * Float(s2), -(dmin * Float(m2)))
        }
    }

    @inline(__always)
    static func q6_K<S: LaneSink>(_ p: UnsafeRawPointer, _ o: Int, _ t: DecodeTables, _ sink: inout S) {
        let d = f16(p, 208, t)
        for n in 0..<2 {
            let qlA0 = p.loadUnaligned(fromByteOffset: 64 * n, as: SIMD16<UInt8>.self)
            let qlA1 = p.loadUnaligned(fromByteOffset: 64 * n + 16, as: SIMD16<UInt8>.self)
            let qlB0 = p.loadUnaligned(fromByteOffset: 64 * n + 32, as: SIMD16<UInt8>.self)
            let qlB1 = p.loadUnaligned(fromByteOffset: 64 * n + 48, as: SIMD16<UInt8>.self)
            let qh0 = p.loadUnaligned(fromByteOffset: 128 + 32 * n, as: SIMD16<UInt8>.self)
            let qh1 = p.loadUnaligned(fromByteOffset: 144 + 32 * n, as: SIMD16<UInt8>.self)
            @inline(__always) func sc(_ g: Int) -> Float { d * Float(p.load(fromByteOffset: 192 + 8 * n + g, as: Int8.self)) }
            // ql | (bits shift…shift+1 of qh moved to 4…5), minus 32 (exact)
            @inline(__always) func q(_ ql: SIMD16<UInt8>, _ qh: SIMD16<UInt8>, _ shift: Int) -> SIMD16<Float> {
                let high = shift <= 4 ? qh &<< UInt8(4 - shift) : qh &>> UInt8(shift - 4)
                return floats(ql | (high & 0x30)) - 32
            }
            let base = o + 128 * n
            sink.put(base, sc(0) * q(qlA0 & 0x0F, qh0, 0), sc(1) * q(qlA1 & 0x0F, qh1, 0))
            sink.put(base + 32, sc(2) * q(qlB0 & 0x0F, qh0, 2), sc(3) * q(qlB1 & 0x0F, qh1, 2))
            sink.put(base + 64, sc(4) * q(qlA0 &>> 4, qh0, 4), sc(5) * q(qlA1 &>> 4, qh1, 4))
            sink.put(base + 96, sc(6) * q(qlB0 &>> 4, qh0, 6), sc(7) * q(qlB1 &>> 4, qh1, 6))
        }
    }
}
