// The kernels, written once with clang's portable vector types (16 f32 lanes) and compiled once per
// instruction set: each kernels_<set>.c includes this file between a `#pragma clang attribute push`
// of its `target` and the pop, after defining
//   LLMK_SET     the set's identifier (avx512, avx2, sse2, neon, generic),
//   LLMK_FMA     1 where the set has fused multiply-add (the dot products use it; the others do not),
//   LLMK_F16     how to widen IEEE halves: LLMK_F16_BITS (integer operations), LLMK_F16_F16C,
//                LLMK_F16_AVX512 or LLMK_F16_NATIVE (the compiler's __fp16),
//   LLMK_BYTE_MASKS  1 where AVX-512BW byte masks may be used (else a table does their work).
// System headers are included by the .c file before the pragma. Every function here is static: each
// set is its own translation unit and exports one `struct llmk_set`.
//
// Lanes are 16 wide in every set, so the sets differ only in fused vs separate multiply-add: AVX2 and
// AVX-512 give bit-identical results, and everything but the dot products is bit-identical across all
// sets. FP contraction is off: a*b + c is two roundings unless written FMA(a, b, c).
//
// Block layouts are ggml's (ggml-common.h); the decoders mirror the scalar references in
// Sources/LLMTensor/Dequantize.swift, which the tests hold every set to.
#pragma clang fp contract(off)
// Vectors cross no function boundary (the helpers are always inlined), so the ABI note is moot.
#pragma clang diagnostic ignored "-Wpsabi"

#define LLMK_F16_BITS 0
#define LLMK_F16_F16C 1
#define LLMK_F16_AVX512 2
#define LLMK_F16_NATIVE 3

#define LLMK_CAT2(a, b) a##b
#define LLMK_CAT(a, b) LLMK_CAT2(a, b)
#define LLMK_INLINE static inline __attribute__((always_inline))

typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));
typedef uint16_t u16x16 __attribute__((vector_size(32)));
typedef uint8_t u8x16 __attribute__((vector_size(16)));
typedef int8_t i8x16 __attribute__((vector_size(16)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef float f32x4 __attribute__((vector_size(16)));

// MARK: loads, stores, lanes

LLMK_INLINE f32x16 loadf(const float *p) { f32x16 v; __builtin_memcpy(&v, p, sizeof v); return v; }
LLMK_INLINE void storef(float *p, f32x16 v) { __builtin_memcpy(p, &v, sizeof v); }
LLMK_INLINE u8x16 loadb(const unsigned char *p) { u8x16 v; __builtin_memcpy(&v, p, sizeof v); return v; }
LLMK_INLINE i8x16 loadsb(const unsigned char *p) { i8x16 v; __builtin_memcpy(&v, p, sizeof v); return v; }
LLMK_INLINE uint16_t load16(const unsigned char *p) { uint16_t v; __builtin_memcpy(&v, p, 2); return v; }
LLMK_INLINE uint32_t load32(const unsigned char *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
LLMK_INLINE f32x16 splat(float s) { return (f32x16){s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }
LLMK_INLINE f32x16 floats(u8x16 v) { return __builtin_convertvector(v, f32x16); }

#if LLMK_FMA
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#else
#define FMA(a, b, c) ((a) * (b) + (c))
#endif

/// Pairwise sum of the 16 lanes, in one fixed order for every set.
LLMK_INLINE float hsum(f32x16 v) {
    f32x8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    f32x4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
    return (b[0] + b[2]) + (b[1] + b[3]);
}

/// Lane select without C++'s vector ?: (mask lanes are all ones or all zeros).
LLMK_INLINE f32x16 pick(i32x16 mask, f32x16 yes, f32x16 no) { return (f32x16)((mask & (i32x16)yes) | (~mask & (i32x16)no)); }
LLMK_INLINE i32x16 picki(i32x16 mask, i32x16 yes, i32x16 no) { return (mask & yes) | (~mask & no); }
LLMK_INLINE f32x16 vmax(f32x16 a, f32x16 b) { return pick(a > b, a, b); }
LLMK_INLINE f32x16 vmin(f32x16 a, f32x16 b) { return pick(a < b, a, b); }

// MARK: halves

/// Exact IEEE binary16 → binary32 by integer operations (sets without a conversion instruction).
LLMK_INLINE float half_bits(uint16_t h) {
    uint32_t em = (uint32_t)(h & 0x7FFF) << 13, sign = (uint32_t)(h & 0x8000) << 16, bits;
    if (em >= 0x0F800000u) bits = em | 0x7F800000u;             // inf / NaN
    else if (em >= 0x00800000u) bits = em + (112u << 23);       // normal: rebias 127 − 15
    else {                                                      // zero / subnormal, exact
        float f, base;
        uint32_t fb = em | (113u << 23), bb = 113u << 23;
        __builtin_memcpy(&f, &fb, 4);
        __builtin_memcpy(&base, &bb, 4);
        f -= base;
        __builtin_memcpy(&bits, &f, 4);
    }
    bits |= sign;
    float out;
    __builtin_memcpy(&out, &bits, 4);
    return out;
}

LLMK_INLINE f32x16 halves_bits(u16x16 h) {
    i32x16 w = __builtin_convertvector(h, i32x16);
    i32x16 em = (w & 0x7FFF) << 13, sign = (w & 0x8000) << 16;
    i32x16 normal = em + (112 << 23);
    f32x16 subf = (f32x16)(em | (113 << 23)) - splat(0x1p-14f);
    i32x16 sub = (i32x16)subf;
    i32x16 bits = picki(em < 0x00800000, sub, normal);
    bits = picki(em >= 0x0F800000, em | 0x7F800000, bits);
    return (f32x16)(bits | sign);
}

#if LLMK_F16 == LLMK_F16_F16C || LLMK_F16 == LLMK_F16_AVX512
LLMK_INLINE float half(const unsigned char *p) { return _cvtsh_ss(load16(p)); }
#elif LLMK_F16 == LLMK_F16_NATIVE
LLMK_INLINE float half(const unsigned char *p) { __fp16 h; __builtin_memcpy(&h, p, 2); return (float)h; }
#else
LLMK_INLINE float half(const unsigned char *p) { return half_bits(load16(p)); }
#endif

/// 16 halves at p, widened.
LLMK_INLINE f32x16 halves(const unsigned char *p) {
#if LLMK_F16 == LLMK_F16_AVX512
    return (f32x16)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
#elif LLMK_F16 == LLMK_F16_F16C
    f32x8 lo = (f32x8)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    f32x8 hi = (f32x8)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 16)));
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#elif LLMK_F16 == LLMK_F16_NATIVE
    typedef __fp16 f16x16 __attribute__((vector_size(32)));
    f16x16 h;
    __builtin_memcpy(&h, p, sizeof h);
    return __builtin_convertvector(h, f32x16);
#else
    u16x16 h;
    __builtin_memcpy(&h, p, sizeof h);
    return halves_bits(h);
#endif
}

/// 16 bfloat16 at p, widened (the top half of an f32).
LLMK_INLINE f32x16 bhalves(const unsigned char *p) {
    u16x16 h;
    __builtin_memcpy(&h, p, sizeof h);
    return (f32x16)(__builtin_convertvector(h, u32x16) << 16);
}

// MARK: bit helpers

#if LLMK_BYTE_MASKS
/// The 5th bits of weights 0…15 (lo) and 16…31 (hi) from the 32-bit qh at p, as 0/16 per lane: with
/// AVX-512BW the bits are a byte mask as they stand, one masked move per 16 lanes (Zen 5: Q5_0 rows 1.1×
/// the table's rate).
LLMK_INLINE void q5_high(const unsigned char *p, u8x16 *lo, u8x16 *hi) {
    uint32_t bits = load32(p);
    *lo = (u8x16)_mm_maskz_mov_epi8((__mmask16)bits, _mm_set1_epi8(16));
    *hi = (u8x16)_mm_maskz_mov_epi8((__mmask16)(bits >> 16), _mm_set1_epi8(16));
}
#else
/// 8 bytes per byte value: 16 where the corresponding bit is set (the 5th bits of Q5_0/Q5_1 weights).
#define FB(b, k) (((b) >> (k) & 1ull) << (8 * (k) + 4))
#define FB8(b) (FB(b, 0) | FB(b, 1) | FB(b, 2) | FB(b, 3) | FB(b, 4) | FB(b, 5) | FB(b, 6) | FB(b, 7))
#define FB4(b) FB8(b), FB8(b + 1), FB8(b + 2), FB8(b + 3)
#define FB16(b) FB4(b), FB4(b + 4), FB4(b + 8), FB4(b + 12)
#define FB64(b) FB16(b), FB16(b + 16), FB16(b + 32), FB16(b + 48)
static const uint64_t fifth_bits[256] = {FB64(0), FB64(64), FB64(128), FB64(192)};

/// The 5th bits of weights 0…15 (lo) and 16…31 (hi) from the 32-bit qh at p, as 0/16 per lane.
LLMK_INLINE void q5_high(const unsigned char *p, u8x16 *lo, u8x16 *hi) {
    uint64_t a[2] = {fifth_bits[p[0]], fifth_bits[p[1]]}, b[2] = {fifth_bits[p[2]], fifth_bits[p[3]]};
    __builtin_memcpy(lo, a, 16);
    __builtin_memcpy(hi, b, 16);
}
#endif

/// 1 << position where bit k of a lane is set, else 0 (k, position constants after inlining).
LLMK_INLINE u8x16 bit_to(u8x16 v, int k, int position) {
    u8x16 moved = k <= position ? v << (uint8_t)(position - k) : v >> (uint8_t)(k - position);
    return moved & (uint8_t)(1u << position);
}

/// All 8 scales (lanes 0…7, times d) and mins (lanes 8…15, times dmin) of a Q4_K/Q5_K block from the
/// 12 bytes at q (ggml's get_scale_min_k4 for every sub-block at once, byte lanes of little-endian
/// 32-bit words instead of per-sub-block branches): scales 0…3 are the low 6 bits of bytes 0…3, mins
/// 0…3 of bytes 4…7; scale 4 + j is the low nibble of byte 8 + j with bits 6…7 of byte j on top, min
/// 4 + j the high nibble of byte 8 + j with bits 6…7 of byte 4 + j. d·scale and dmin·min are the
/// reference's products.
LLMK_INLINE f32x16 scales_mins_k4(const unsigned char *q, float d, float dmin) {
    uint32_t a = load32(q), b = load32(q + 4), c = load32(q + 8);
    uint32_t packed[4] = {a & 0x3F3F3F3Fu, (c & 0x0F0F0F0Fu) | ((a >> 6) & 0x03030303u) << 4,
                          b & 0x3F3F3F3Fu, ((c >> 4) & 0x0F0F0F0Fu) | ((b >> 6) & 0x03030303u) << 4};
    u8x16 v;
    __builtin_memcpy(&v, packed, sizeof v);
    return floats(v) * (f32x16){d, d, d, d, d, d, d, d, dmin, dmin, dmin, dmin, dmin, dmin, dmin, dmin};
}

/// The signed 6-bit scale of group g of Q3_K (12 bytes at p + 96).
LLMK_INLINE float q3k_scale(const unsigned char *p, int g) {
    unsigned low = g < 8 ? p[96 + (g & 7)] & 0x0F : p[96 + (g & 7)] >> 4;
    unsigned high = (p[104 + (g & 3)] >> (2 * (g >> 2))) & 3;
    return (float)((int)(low | (high << 4)) - 32);
}

/// ql | (bits shift … shift + 1 of qh moved to 4 … 5), minus 32 (exact): one Q6_K quant per lane.
LLMK_INLINE f32x16 q6_lanes(u8x16 ql, u8x16 qh, int shift) {
    u8x16 high = shift <= 4 ? qh << (uint8_t)(4 - shift) : qh >> (uint8_t)(shift - 4);
    return floats(ql | (high & 0x30)) - 32;
}

// MARK: sinks
// The decoders hand 32 weights at a time (offset o … o+15 in a, o+16 … o+31 in b) to a sink, as
//   put(a, b):            the finished weights;
//   scaled(a, b, bias, d): integer-valued a, b: weight = (a − bias)·d;
//   affine(a, b, d, m):    integer-valued a, b: weight = a·d + m.
// The store sink writes each weight with exactly the reference's float operations; the dot sink
// folds bias and offset into Σx per 32 weights: Σ (a·d + m)·x = d·Σ a·x + m·Σx.

struct store_sink { float *dst; };

LLMK_INLINE void store_put(struct store_sink *s, long o, f32x16 a, f32x16 b) {
    storef(s->dst + o, a);
    storef(s->dst + o + 16, b);
}
LLMK_INLINE void store_scaled(struct store_sink *s, long o, f32x16 a, f32x16 b, float bias, float d) {
    store_put(s, o, (a - bias) * d, (b - bias) * d);  // a − bias is exact: small integers
}
LLMK_INLINE void store_affine(struct store_sink *s, long o, f32x16 a, f32x16 b, float d, float m) {
    store_put(s, o, a * d + m, b * d + m);
}

struct dot_sink { const float *x, *xs; f32x16 acc; float offsets; };

LLMK_INLINE void dot_put(struct dot_sink *s, long o, f32x16 a, f32x16 b) {
    s->acc = FMA(a, loadf(s->x + o), s->acc);
    s->acc = FMA(b, loadf(s->x + o + 16), s->acc);
}
LLMK_INLINE void dot_scaled(struct dot_sink *s, long o, f32x16 a, f32x16 b, float bias, float d) {
    f32x16 t = FMA(b, loadf(s->x + o + 16), a * loadf(s->x + o));
    s->acc = FMA(t, splat(d), s->acc);
    if (bias != 0) s->offsets = s->offsets - bias * d * s->xs[o >> 5];
}
LLMK_INLINE void dot_affine(struct dot_sink *s, long o, f32x16 a, f32x16 b, float d, float m) {
    f32x16 t = FMA(b, loadf(s->x + o + 16), a * loadf(s->x + o));
    s->acc = FMA(t, splat(d), s->acc);
    s->offsets = s->offsets + m * s->xs[o >> 5];
}

/// The dot sink for MDOT_INPUTS inputs at once (8 where there are 32 vector registers, else 4): the
/// block is decoded once, and each input's sums take exactly the operations of `dot_sink` in the same
/// order (the offsets lane by lane), so each result equals the one-input kernel's bit for bit. Block
/// sums come transposed: those of block b for the group's inputs are contiguous at xs + b·xs_stride.
#ifndef MDOT_INPUTS
#define MDOT_INPUTS 4
#endif
typedef float f32xg __attribute__((vector_size(4 * MDOT_INPUTS)));
struct mdot_sink { const float *x[MDOT_INPUTS]; const float *xs; long xs_stride; f32x16 acc[MDOT_INPUTS]; f32xg offsets; };

LLMK_INLINE f32xg loadg(const float *p) { f32xg v; __builtin_memcpy(&v, p, sizeof v); return v; }

LLMK_INLINE void mdot_put(struct mdot_sink *s, long o, f32x16 a, f32x16 b) {
    for (int i = 0; i < MDOT_INPUTS; i++) {
        s->acc[i] = FMA(a, loadf(s->x[i] + o), s->acc[i]);
        s->acc[i] = FMA(b, loadf(s->x[i] + o + 16), s->acc[i]);
    }
}
LLMK_INLINE void mdot_scaled(struct mdot_sink *s, long o, f32x16 a, f32x16 b, float bias, float d) {
    for (int i = 0; i < MDOT_INPUTS; i++) {
        f32x16 t = FMA(b, loadf(s->x[i] + o + 16), a * loadf(s->x[i] + o));
        s->acc[i] = FMA(t, splat(d), s->acc[i]);
    }
    if (bias != 0) s->offsets = s->offsets - bias * d * loadg(s->xs + (o >> 5) * s->xs_stride);
}
LLMK_INLINE void mdot_affine(struct mdot_sink *s, long o, f32x16 a, f32x16 b, float d, float m) {
    for (int i = 0; i < MDOT_INPUTS; i++) {
        f32x16 t = FMA(b, loadf(s->x[i] + o + 16), a * loadf(s->x[i] + o));
        s->acc[i] = FMA(t, splat(d), s->acc[i]);
    }
    s->offsets = s->offsets + m * loadg(s->xs + (o >> 5) * s->xs_stride);
}

// MARK: decoders, one per format, instantiated for each sink

#define SINK store
#include "formats.h"
#undef SINK
#define SINK dot
#include "formats.h"
#undef SINK
#define SINK mdot
#include "formats.h"
#undef SINK

// MARK: dot products over rows

/// Every block format as (name, weights per block, bytes per block), for X to define its kernels.
#define LLMK_BLOCK_FORMATS(X) \
    X(q4_0, 32, 18) X(q4_1, 32, 20) X(q5_0, 32, 22) X(q5_1, 32, 24) X(q8_0, 32, 34) \
    X(q2_K, 256, 84) X(q3_K, 256, 110) X(q4_K, 256, 144) X(q5_K, 256, 176) X(q6_K, 256, 210)

/// The blocks of one row through `decode`, even ones into sink s0 and odd ones into s1: two
/// independent chains of sums (the split every dot product of a row uses, so results agree).
#define LLMK_EVEN_ODD(decode, row, weights, bytes, blocks, s0, s1)                                   \
    do {                                                                                             \
        long b_ = 0;                                                                                 \
        for (; b_ + 1 < (blocks); b_ += 2) {                                                         \
            decode((row) + b_ * (bytes), b_ * (weights), &(s0));                                     \
            decode((row) + (b_ + 1) * (bytes), (b_ + 1) * (weights), &(s1));                         \
        }                                                                                            \
        if (b_ < (blocks)) decode((row) + b_ * (bytes), b_ * (weights), &(s0));                      \
    } while (0)

/// Rows of a block format: blocks go alternately to two sinks, two independent chains of adds.
#define LLMK_ROWS(fmt, weights, bytes)                                                              \
    static void rows_##fmt(const unsigned char *w, size_t row_bytes, long r0, long r1, long cols,    \
                           const float *x, const float *xs, float *y) {                              \
        long blocks = cols / (weights);                                                              \
        for (long r = r0; r < r1; r++) {                                                             \
            const unsigned char *row = w + (size_t)r * row_bytes;                                    \
            struct dot_sink s0 = {x, xs, {0}, 0}, s1 = {x, xs, {0}, 0};                              \
            LLMK_EVEN_ODD(fmt##_dot, row, weights, bytes, blocks, s0, s1);                           \
            y[r] = hsum(s0.acc + s1.acc) + (s0.offsets + s1.offsets);                                \
        }                                                                                            \
    }
LLMK_BLOCK_FORMATS(LLMK_ROWS)

/// Rows of a block format against m inputs (x rows ldx apart, outputs ldy apart; block sums transposed,
/// block b of input i at xs_t[b·xs_stride + i], xs_stride ≥ m rounded up to 8, the padding zero):
/// MDOT_INPUTS inputs share each decoded block; a last partial group repeats the last input and keeps
/// only the real outputs. Results equal rows_* per input bit for bit (same operations, same order,
/// same even/odd split of the blocks).
#define LLMK_MROWS(fmt, weights, bytes)                                                              \
    static void mrows_##fmt(const unsigned char *w, size_t row_bytes, long r0, long r1, long cols,   \
                            const float *x, long ldx, const float *xs_t, long xs_stride, float *y, long ldy, long m) { \
        long blocks = cols / (weights);                                                              \
        for (long i0 = 0; i0 < m; i0 += MDOT_INPUTS) {                                               \
            for (long r = r0; r < r1; r++) {                                                         \
                const unsigned char *row = w + (size_t)r * row_bytes;                                \
                struct mdot_sink s0;                                                                 \
                for (int i = 0; i < MDOT_INPUTS; i++) {                                              \
                    s0.x[i] = x + (i0 + i < m ? i0 + i : m - 1) * ldx;                               \
                    s0.acc[i] = (f32x16){0};                                                         \
                }                                                                                    \
                s0.xs = xs_t ? xs_t + i0 : NULL;                                                     \
                s0.xs_stride = xs_stride;                                                            \
                s0.offsets = (f32xg){0};                                                             \
                struct mdot_sink s1 = s0;                                                            \
                LLMK_EVEN_ODD(fmt##_mdot, row, weights, bytes, blocks, s0, s1);                      \
                for (int i = 0; i < MDOT_INPUTS && i0 + i < m; i++)                                  \
                    y[(i0 + i) * ldy + r] = hsum(s0.acc[i] + s1.acc[i]) + (s0.offsets[i] + s1.offsets[i]); \
            }                                                                                        \
        }                                                                                            \
    }
LLMK_BLOCK_FORMATS(LLMK_MROWS)

/// Float rows (F32, F16, BF16): 32 weights a step into two accumulators; a tail of < 32 in order.
#define LLMK_FLOAT_ROWS(name, size, widen, scalar)                                                   \
    static void rows_##name(const unsigned char *w, size_t row_bytes, long r0, long r1, long cols,   \
                            const float *x, const float *xs, float *y) {                             \
        (void)xs;                                                                                    \
        for (long r = r0; r < r1; r++) {                                                             \
            const unsigned char *row = w + (size_t)r * row_bytes;                                    \
            f32x16 a0 = {0}, a1 = {0};                                                               \
            long i = 0;                                                                              \
            for (; i + 32 <= cols; i += 32) {                                                        \
                a0 = FMA(widen(row + (size) * i), loadf(x + i), a0);                                 \
                a1 = FMA(widen(row + (size) * (i + 16)), loadf(x + i + 16), a1);                     \
            }                                                                                        \
            float tail = 0;                                                                          \
            for (; i < cols; i++) tail = tail + scalar(row + (size) * i) * x[i];                     \
            y[r] = hsum(a0 + a1) + tail;                                                             \
        }                                                                                            \
    }
LLMK_INLINE float f32_at(const unsigned char *p) { float v; __builtin_memcpy(&v, p, 4); return v; }
LLMK_INLINE float bf16_at(const unsigned char *p) { uint32_t b = (uint32_t)load16(p) << 16; float v; __builtin_memcpy(&v, &b, 4); return v; }
LLMK_INLINE f32x16 f32s(const unsigned char *p) { f32x16 v; __builtin_memcpy(&v, p, sizeof v); return v; }
LLMK_FLOAT_ROWS(f32, 4, f32s, f32_at)
LLMK_FLOAT_ROWS(f16, 2, halves, half)
LLMK_FLOAT_ROWS(bf16, 2, bhalves, bf16_at)

/// Float rows against m inputs: one input at a time (no decoding to share).
#define LLMK_FLOAT_MROWS(name)                                                                       \
    static void mrows_##name(const unsigned char *w, size_t row_bytes, long r0, long r1, long cols,  \
                             const float *x, long ldx, const float *xs_t, long xs_stride, float *y, long ldy, long m) { \
        (void)xs_t; (void)xs_stride;                                                                 \
        for (long i = 0; i < m; i++) rows_##name(w, row_bytes, r0, r1, cols, x + i * ldx, NULL, y + i * ldy); \
    }
LLMK_FLOAT_MROWS(f32)
LLMK_FLOAT_MROWS(f16)
LLMK_FLOAT_MROWS(bf16)

// MARK: interleaved rows

#include "interleaved.h"

// MARK: dequantisation

#define LLMK_DEQUANT(fmt, weights, bytes)                                                            \
    static void dequant_##fmt(const unsigned char *src, float *dst, long count) {                   \
        struct store_sink s = {dst};                                                                 \
        for (long b = 0; b < count / (weights); b++) fmt##_store(src + b * (bytes), b * (weights), &s); \
    }
LLMK_BLOCK_FORMATS(LLMK_DEQUANT)

static void dequant_f32(const unsigned char *src, float *dst, long count) { __builtin_memcpy(dst, src, (size_t)count * 4); }

#define LLMK_DEQUANT_HALF(name, widen, scalar)                                                       \
    static void dequant_##name(const unsigned char *src, float *dst, long count) {                  \
        long i = 0;                                                                                  \
        for (; i + 16 <= count; i += 16) storef(dst + i, widen(src + 2 * i));                        \
        for (; i < count; i++) dst[i] = scalar(src + 2 * i);                                         \
    }
LLMK_DEQUANT_HALF(f16, halves, half)
LLMK_DEQUANT_HALF(bf16, bhalves, bf16_at)

// MARK: elementwise

static void block_sums(const float *x, long count, float *xs) {
    for (long b = 0; b < count / 32; b++) xs[b] = hsum(loadf(x + 32 * b) + loadf(x + 32 * b + 16));
}

/// e^x, 16 lanes (Cephes expf: x = n·ln2 + r, degree-6 polynomial for e^r, 2^n through the exponent
/// bits); within 2 ulp of expf over the clamped range. Separate multiplies and adds in every set.
LLMK_INLINE f32x16 vexp(f32x16 x) {
    x = vmax(vmin(x, splat(88.3f)), splat(-87.3f));
    const f32x16 magic = splat(12582912.0f);  // 1.5·2²³: adding it rounds to an integer
    f32x16 shifted = x * 1.44269504f + magic;
    f32x16 n = shifted - magic;
    f32x16 r = x - n * 0.693359375f + n * 2.1219444e-4f;
    f32x16 p = splat(1.98756915e-4f);
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.16665796e-2f;
    p = p * r + 1.66666655e-1f;
    p = p * r + 5.00000012e-1f;
    p = p * r * r + r + 1;
    i32x16 ni = (i32x16)shifted - (i32x16)magic;
    return p * (f32x16)((ni + 127) << 23);
}

static void exp16(const float *x, float *y) { storef(y, vexp(loadf(x))); }

static float max_of(const float *x, long n) {
    f32x16 m = splat(-__builtin_inff());
    long i = 0;
    for (; i + 16 <= n; i += 16) m = vmax(m, loadf(x + i));
    float s = -__builtin_inff();
    for (int k = 0; k < 16; k++) s = m[k] > s ? m[k] : s;
    for (; i < n; i++) s = x[i] > s ? x[i] : s;
    return s;
}

static float exp_shifted(float *x, long n, float shift) {
    float sum = 0;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        f32x16 e = vexp(loadf(x + i) - shift);
        storef(x + i, e);
        sum = sum + hsum(e);
    }
    for (; i < n; i++) {
        f32x16 e = vexp(splat(x[i] - shift));
        x[i] = e[0];
        sum = sum + e[0];
    }
    return sum;
}

static double exp_sum_f64(const float *x, long n, float shift) {
    double sum = 0;
    long i = 0;
    for (; i + 16 <= n; i += 16) sum += (double)hsum(vexp(loadf(x + i) - shift));
    for (; i < n; i++) sum += (double)vexp(splat(x[i] - shift))[0];
    return sum;
}

static void scale(float *x, long n, float s) {
    long i = 0;
    for (; i + 16 <= n; i += 16) storef(x + i, loadf(x + i) * s);
    for (; i < n; i++) x[i] = x[i] * s;
}

LLMK_INLINE f32x16 silu_times(f32x16 g, f32x16 u) { return g / (1 + vexp(-g)) * u; }

LLMK_INLINE f32x16 gelu_tanh_times(f32x16 g, f32x16 u) {
    f32x16 inner = 0.79788456f * (g + 0.044715f * g * g * g);  // √(2/π)(g + 0.044715 g³)
    return g / (1 + vexp(-2 * inner)) * u;
}

#define LLMK_GATED(name, op)                                                                         \
    static void name(float *gate, const float *up, long n) {                                         \
        long i = 0;                                                                                  \
        for (; i + 16 <= n; i += 16) storef(gate + i, op(loadf(gate + i), loadf(up + i)));           \
        for (; i < n; i++) gate[i] = op(splat(gate[i]), splat(up[i]))[0];                            \
    }
LLMK_GATED(silu_mul, silu_times)
LLMK_GATED(gelu_tanh_mul, gelu_tanh_times)

/// Σ x[i] with four independent accumulators: a pure streaming read, for measuring memory bandwidth.
static float read_sum(const float *x, long n) {
    f32x16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    long i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = a0 + loadf(x + i);
        a1 = a1 + loadf(x + i + 16);
        a2 = a2 + loadf(x + i + 32);
        a3 = a3 + loadf(x + i + 48);
    }
    float tail = 0;
    for (; i < n; i++) tail = tail + x[i];
    return hsum((a0 + a1) + (a2 + a3)) + tail;
}

// MARK: attention of one query (decoding)

LLMK_INLINE float dot_f32(const float *a, const float *b, long n) {
    f32x16 acc = {0};
    long i = 0;
    for (; i + 16 <= n; i += 16) acc = FMA(loadf(a + i), loadf(b + i), acc);
    float tail = 0;
    for (; i < n; i++) tail = tail + a[i] * b[i];
    return hsum(acc) + tail;
}

/// out[r] = (q · k_r)·factor for the 4 rows k_r = k + r·ldk (n a multiple of 16): four chains of
/// lanes, then one reduction for the four (each out[r] equals dot_f32(q, k_r, n)·factor: same lanes,
/// same pairwise order).
LLMK_INLINE void dot4_f32(const float *q, const float *k, long ldk, long n, float factor, float *out) {
    f32x16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    for (long i = 0; i < n; i += 16) {
        f32x16 qv = loadf(q + i);
        a0 = FMA(qv, loadf(k + i), a0);
        a1 = FMA(qv, loadf(k + ldk + i), a1);
        a2 = FMA(qv, loadf(k + 2 * ldk + i), a2);
        a3 = FMA(qv, loadf(k + 3 * ldk + i), a3);
    }
    out[0] = (hsum(a0) + 0) * factor;
    out[1] = (hsum(a1) + 0) * factor;
    out[2] = (hsum(a2) + 0) * factor;
    out[3] = (hsum(a3) + 0) * factor;
}

/// y += a·x (n floats).
LLMK_INLINE void axpy(float *y, float a, const float *x, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) storef(y + i, FMA(splat(a), loadf(x + i), loadf(y + i)));
    for (; i < n; i++) y[i] = y[i] + a * x[i];
}

/// Queries the heads kernel keeps state for at once.
#define ATTEND_HEADS 16

/// For each of `heads` queries (q + i·dim, out + i·dim) sharing the keys and values: out = softmax(scale ·
/// q·kⱼ)ⱼ · V over keys j < n (rows ldkv apart), `block` keys at a time with the online recurrence (m' = max,
/// α = e^(m − m'), ℓ' = αℓ + Σp, o' = αo + Σ pⱼvⱼ; o/ℓ at the end). The queries take turns on each block,
/// so a block of keys and values is read from memory once for all of them (grouped-query attention) while
/// each query's operations are those it would have alone.
static void attend_heads(const float *q, long heads, const float *k, const float *v, long ldkv, long n, long dim,
                         float factor, float *out, float *scores, long block) {
    for (long i0 = 0; i0 < heads; i0 += ATTEND_HEADS) {
        long nh = heads - i0 < ATTEND_HEADS ? heads - i0 : ATTEND_HEADS;
        float m[ATTEND_HEADS], l[ATTEND_HEADS];
        for (long i = 0; i < nh; i++) {
            m[i] = -__builtin_inff(), l[i] = 0;
            for (long d = 0; d < dim; d++) out[(i0 + i) * dim + d] = 0;
        }
        for (long j0 = 0; j0 < n; j0 += block) {
            long nb = n - j0 < block ? n - j0 : block;
            for (long i = 0; i < nh; i++) {
                const float *qi = q + (i0 + i) * dim;
                float *oi = out + (i0 + i) * dim;
                long j = 0;
                if (dim % 16 == 0)
                    for (; j + 4 <= nb; j += 4) dot4_f32(qi, k + (j0 + j) * ldkv, ldkv, dim, factor, scores + j);
                for (; j < nb; j++) scores[j] = dot_f32(qi, k + (j0 + j) * ldkv, dim) * factor;
                float bm = max_of(scores, nb), nm = bm > m[i] ? bm : m[i];
                float alpha = m[i] == -__builtin_inff() ? 0 : vexp(splat(m[i] - nm))[0];
                l[i] = l[i] * alpha + exp_shifted(scores, nb, nm);
                if (alpha != 1) scale(oi, dim, alpha);
                for (long j = 0; j < nb; j++) axpy(oi, scores[j], v + (j0 + j) * ldkv, dim);
                m[i] = nm;
            }
        }
        for (long i = 0; i < nh; i++) scale(out + (i0 + i) * dim, dim, 1 / l[i]);
    }
}

// MARK: 8-bit activations

#include "int8.h"

// MARK: the set

const struct llmk_set LLMK_CAT(llmk_set_, LLMK_SET) = {
    .name = LLMK_SET_NAME,
    .rows = {[0] = rows_f32, [1] = rows_f16, [2] = rows_q4_0, [3] = rows_q4_1, [6] = rows_q5_0,
             [7] = rows_q5_1, [8] = rows_q8_0, [10] = rows_q2_K, [11] = rows_q3_K, [12] = rows_q4_K,
             [13] = rows_q5_K, [14] = rows_q6_K, [30] = rows_bf16},
    .mrows = {[0] = mrows_f32, [1] = mrows_f16, [2] = mrows_q4_0, [3] = mrows_q4_1, [6] = mrows_q5_0,
              [7] = mrows_q5_1, [8] = mrows_q8_0, [10] = mrows_q2_K, [11] = mrows_q3_K, [12] = mrows_q4_K,
              [13] = mrows_q5_K, [14] = mrows_q6_K, [30] = mrows_bf16},
    .dequant = {[0] = dequant_f32, [1] = dequant_f16, [2] = dequant_q4_0, [3] = dequant_q4_1,
                [6] = dequant_q5_0, [7] = dequant_q5_1, [8] = dequant_q8_0, [10] = dequant_q2_K,
                [11] = dequant_q3_K, [12] = dequant_q4_K, [13] = dequant_q5_K, [14] = dequant_q6_K,
                [30] = dequant_bf16},
    .il_rows = {il_rows_q8, il_rows_q4_0, il_rows_q4_1, il_rows_q4_k, il_rows_q6_k, il_rows_q5_k},
    .il_mrows = {il_mrows_q8, il_mrows_q4_0, il_mrows_q4_1, il_mrows_q4_k, il_mrows_q6_k, il_mrows_q5_k},
    .rows8 = {[2] = rows8_q4_0, [3] = rows8_q4_1, [6] = rows8_q5_0, [7] = rows8_q5_1, [8] = rows8_q8_0,
              [12] = rows8_q4_K, [13] = rows8_q5_K, [14] = rows8_q6_K},
    .quantize_q8 = quantize_q8,
    .block_sums = block_sums,
    .max = max_of,
    .exp_shifted = exp_shifted,
    .exp_sum_f64 = exp_sum_f64,
    .scale = scale,
    .silu_mul = silu_mul,
    .gelu_tanh_mul = gelu_tanh_mul,
    .exp16 = exp16,
    .read_sum = read_sum,
    .attend_heads = attend_heads,
};
