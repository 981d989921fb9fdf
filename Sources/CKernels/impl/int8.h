// The opt-in 8-bit-activation path, included by kernels.h once per set: the input of a product is
// quantised per block of 32 to int8 with one f32 scale (d = max|x| / 127, q = round(x / d)), and each
// weight block meets it in integer multiply-adds (VNNI `vpdpbusd` where the set has it, AVX2
// `vpmaddubsw` + `vpmaddwd`, plain vector code elsewhere), as llama.cpp computes by default. Sums of
// products of integers are exact, so every set gives the same lanes; only the per-block float scaling
// differs (fused or not), as in the f32 path.
//
// A 32-weight block gives eight int32 lanes, lane k = Σ_{j<4} w[4k+j]·q[4k+j]. Weights are the stored
// quants: unsigned (≤ 63, so `vpmaddubsw` cannot saturate) with a power-of-two bias folded in exactly
// (Σ (w − 2^s)·q = Σ w·q − 2^s·Σq, Σq of each 4 precomputed), or signed (Q8_0: |w| against q·sign(w)).
// Offsets m·Σx use the exact f32 sum of the block of x, not the quantised one.
//
// Sinks, as in formats.h, per 32 weights at offset o:
//   scaled(w, shift, f):     weight = (w − 2^shift)·f (shift < 0: no bias)
//   scaled2(w, shift, f0, f1): the same with factor f0 for weights 0…15 and f1 for 16…31 (Q6_K)
//   affine(w, f, m):         weight = w·f + m
//   signed(w, f):            weight = w·f, w signed
typedef uint8_t u8x32 __attribute__((vector_size(32)));
typedef int8_t i8x32 __attribute__((vector_size(32)));
typedef int32_t i32x8 __attribute__((vector_size(32)));

#define LLMK_IDOT_GENERIC 0
#define LLMK_IDOT_AVX2 1
#define LLMK_IDOT_VNNI 2
#ifndef LLMK_IDOT
#define LLMK_IDOT LLMK_IDOT_GENERIC
#endif

LLMK_INLINE i8x32 loadq(const int8_t *p) { i8x32 v; __builtin_memcpy(&v, p, sizeof v); return v; }
LLMK_INLINE i32x8 loadi(const int32_t *p) { i32x8 v; __builtin_memcpy(&v, p, sizeof v); return v; }
LLMK_INLINE f32x8 splat8(float s) { return (f32x8){s, s, s, s, s, s, s, s}; }
LLMK_INLINE u8x32 join(u8x16 a, u8x16 b) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                   21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
}

typedef int16_t i16x32 __attribute__((vector_size(64)));
typedef int32_t i32x32 __attribute__((vector_size(128)));

/// Lane k = p[4k] + … + p[4k + 3] of 32 exact 16-bit products (the sets without a byte dot product).
LLMK_INLINE i32x8 quad_sums(i16x32 p) {
    i32x32 w = __builtin_convertvector(p, i32x32);
    return __builtin_shufflevector(w, w, 0, 4, 8, 12, 16, 20, 24, 28) + __builtin_shufflevector(w, w, 1, 5, 9, 13, 17, 21, 25, 29) +
           __builtin_shufflevector(w, w, 2, 6, 10, 14, 18, 22, 26, 30) + __builtin_shufflevector(w, w, 3, 7, 11, 15, 19, 23, 27, 31);
}

/// init + lane sums of w·q (w unsigned ≤ 127).
LLMK_INLINE i32x8 idot_u(i32x8 init, u8x32 w, i8x32 q) {
#if LLMK_IDOT == LLMK_IDOT_VNNI
    return (i32x8)_mm256_dpbusd_epi32((__m256i)init, (__m256i)w, (__m256i)q);
#elif LLMK_IDOT == LLMK_IDOT_AVX2
    __m256i pairs = _mm256_maddubs_epi16((__m256i)w, (__m256i)q);
    return init + (i32x8)_mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
#else
    return init + quad_sums(__builtin_convertvector(w, i16x32) * __builtin_convertvector(q, i16x32));
#endif
}

/// Lane sums of w·q, both signed (q ≥ −127).
LLMK_INLINE i32x8 idot_s(i8x32 w, i8x32 q) {
#if LLMK_IDOT == LLMK_IDOT_VNNI || LLMK_IDOT == LLMK_IDOT_AVX2
    // |w| (≤ 128, as unsigned bytes) against q with w's sign: the same products.
    return idot_u((i32x8){0}, (u8x32)_mm256_abs_epi8((__m256i)w), (i8x32)_mm256_sign_epi8((__m256i)q, (__m256i)w));
#else
    return quad_sums(__builtin_convertvector(w, i16x32) * __builtin_convertvector(q, i16x32));
#endif
}

LLMK_INLINE f32x8 lanes_f(i32x8 v) { return __builtin_convertvector(v, f32x8); }

/// One quantised input: quants q, block scales d and exact block sums xs (per 32), Σq per 4 (s4).
struct q8_input { const int8_t *q; const float *d, *xs; const int32_t *s4; };

LLMK_INLINE struct q8_input q8_at(const int8_t *q, const float *d, const float *xs, const int32_t *s4, long i, long cols) {
    return (struct q8_input){q + i * cols, d + i * (cols / 32), xs + i * (cols / 32), s4 + i * (cols / 4)};
}

/// −2^shift·Σq per lane of the block at o (the exact bias correction), or 0.
LLMK_INLINE i32x8 bias_lanes(const struct q8_input *a, long o, int shift) {
    return shift < 0 ? (i32x8){0} : -(loadi(a->s4 + (o >> 2)) << shift);
}

struct i8_sink { struct q8_input a; f32x8 acc; float offsets; };

LLMK_INLINE void i8_scaled(struct i8_sink *s, long o, u8x32 w, int shift, float f) {
    i32x8 lanes = idot_u(bias_lanes(&s->a, o, shift), w, loadq(s->a.q + o));
    s->acc = FMA(lanes_f(lanes), splat8(f * s->a.d[o >> 5]), s->acc);
}
LLMK_INLINE void i8_scaled2(struct i8_sink *s, long o, u8x32 w, int shift, float f0, float f1) {
    i32x8 lanes = idot_u(bias_lanes(&s->a, o, shift), w, loadq(s->a.q + o));
    float dx = s->a.d[o >> 5], g0 = f0 * dx, g1 = f1 * dx;
    s->acc = FMA(lanes_f(lanes), ((f32x8){g0, g0, g0, g0, g1, g1, g1, g1}), s->acc);
}
LLMK_INLINE void i8_affine(struct i8_sink *s, long o, u8x32 w, float f, float m) {
    i32x8 lanes = idot_u((i32x8){0}, w, loadq(s->a.q + o));
    s->acc = FMA(lanes_f(lanes), splat8(f * s->a.d[o >> 5]), s->acc);
    s->offsets = s->offsets + m * s->a.xs[o >> 5];
}
LLMK_INLINE void i8_signed(struct i8_sink *s, long o, i8x32 w, float f) {
    s->acc = FMA(lanes_f(idot_s(w, loadq(s->a.q + o))), splat8(f * s->a.d[o >> 5]), s->acc);
}

/// The same for MDOT_INPUTS inputs sharing each decoded block; each input's operations are exactly
/// i8_sink's, so every result equals the one-input kernel's bit for bit.
struct mi8_sink { struct q8_input a[MDOT_INPUTS]; f32x8 acc[MDOT_INPUTS]; float offsets[MDOT_INPUTS]; };

LLMK_INLINE void mi8_scaled(struct mi8_sink *s, long o, u8x32 w, int shift, float f) {
    for (int i = 0; i < MDOT_INPUTS; i++) {
        i32x8 lanes = idot_u(bias_lanes(&s->a[i], o, shift), w, loadq(s->a[i].q + o));
        s->acc[i] = FMA(lanes_f(lanes), splat8(f * s->a[i].d[o >> 5]), s->acc[i]);
    }
}
LLMK_INLINE void mi8_scaled2(struct mi8_sink *s, long o, u8x32 w, int shift, float f0, float f1) {
    for (int i = 0; i < MDOT_INPUTS; i++) {
        i32x8 lanes = idot_u(bias_lanes(&s->a[i], o, shift), w, loadq(s->a[i].q + o));
        float dx = s->a[i].d[o >> 5], g0 = f0 * dx, g1 = f1 * dx;
        s->acc[i] = FMA(lanes_f(lanes), ((f32x8){g0, g0, g0, g0, g1, g1, g1, g1}), s->acc[i]);
    }
}
LLMK_INLINE void mi8_affine(struct mi8_sink *s, long o, u8x32 w, float f, float m) {
    for (int i = 0; i < MDOT_INPUTS; i++) {
        i32x8 lanes = idot_u((i32x8){0}, w, loadq(s->a[i].q + o));
        s->acc[i] = FMA(lanes_f(lanes), splat8(f * s->a[i].d[o >> 5]), s->acc[i]);
        s->offsets[i] = s->offsets[i] + m * s->a[i].xs[o >> 5];
    }
}
LLMK_INLINE void mi8_signed(struct mi8_sink *s, long o, i8x32 w, float f) {
    for (int i = 0; i < MDOT_INPUTS; i++)
        s->acc[i] = FMA(lanes_f(idot_s(w, loadq(s->a[i].q + o))), splat8(f * s->a[i].d[o >> 5]), s->acc[i]);
}

/// ql | (bits shift … shift + 1 of qh moved to 4 … 5): one unsigned Q6_K quant (0 … 63) per byte.
LLMK_INLINE u8x16 q6_quants(u8x16 ql, u8x16 qh, int shift) {
    u8x16 high = shift <= 4 ? qh << (uint8_t)(4 - shift) : qh >> (uint8_t)(shift - 4);
    return ql | (high & 0x30);
}

#define SINK i8
#include "formats_int8.h"
#undef SINK
#define SINK mi8
#include "formats_int8.h"
#undef SINK

/// The formats with an 8-bit-activation kernel (the others keep f32 activations).
#define LLMK_INT8_FORMATS(X) \
    X(q4_0, 32, 18) X(q4_1, 32, 20) X(q5_0, 32, 22) X(q5_1, 32, 24) X(q8_0, 32, 34) \
    X(q4_K, 256, 144) X(q5_K, 256, 176) X(q6_K, 256, 210)

LLMK_INLINE float hsum8(f32x8 v) {
    f32x4 b = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
    return (b[0] + b[2]) + (b[1] + b[3]);
}

/// Rows against m quantised inputs (input i's arrays at q8_at(…, i, cols)), outputs ldy apart; groups
/// of MDOT_INPUTS inputs share each decoded block, a last partial group repeating its last input.
/// Even and odd blocks go to two chains of sums, as in the f32 rows.
#define LLMK_ROWS_INT8(fmt, weights, bytes)                                                          \
    static void rows8_##fmt(const unsigned char *w, size_t row_bytes, long r0, long r1, long cols,   \
                            const int8_t *q, const float *d, const float *xs, const int32_t *s4,    \
                            float *y, long ldy, long m) {                                            \
        long blocks = cols / (weights);                                                              \
        long i0 = 0;                                                                                 \
        for (; i0 + 1 < m && MDOT_INPUTS > 1; i0 += MDOT_INPUTS) {                                  \
            for (long r = r0; r < r1; r++) {                                                         \
                const unsigned char *row = w + (size_t)r * row_bytes;                                \
                struct mi8_sink s0;                                                                  \
                for (int i = 0; i < MDOT_INPUTS; i++) {                                              \
                    s0.a[i] = q8_at(q, d, xs, s4, i0 + i < m ? i0 + i : m - 1, cols);                \
                    s0.acc[i] = (f32x8){0};                                                          \
                    s0.offsets[i] = 0;                                                               \
                }                                                                                    \
                struct mi8_sink s1 = s0;                                                             \
                LLMK_EVEN_ODD(fmt##_mi8, row, weights, bytes, blocks, s0, s1);                       \
                for (int i = 0; i < MDOT_INPUTS && i0 + i < m; i++)                                  \
                    y[(i0 + i) * ldy + r] = hsum8(s0.acc[i] + s1.acc[i]) + (s0.offsets[i] + s1.offsets[i]); \
            }                                                                                        \
        }                                                                                            \
        for (; i0 < m; i0++) {                                                                       \
            struct q8_input a = q8_at(q, d, xs, s4, i0, cols);                                       \
            for (long r = r0; r < r1; r++) {                                                         \
                const unsigned char *row = w + (size_t)r * row_bytes;                                \
                struct i8_sink s0 = {a, {0}, 0}, s1 = {a, {0}, 0};                                   \
                LLMK_EVEN_ODD(fmt##_i8, row, weights, bytes, blocks, s0, s1);                        \
                y[i0 * ldy + r] = hsum8(s0.acc + s1.acc) + (s0.offsets + s1.offsets);                \
            }                                                                                        \
        }                                                                                            \
    }
LLMK_INT8_FORMATS(LLMK_ROWS_INT8)

/// Quantises count floats (a multiple of 32) per block of 32: d = max|x| / 127 (0 for a zero block),
/// q = x·(1/d) rounded to nearest even (by adding and subtracting 1.5·2²³: |x/d| ≤ 127), xs = Σx as
/// llmk_block_sums computes it, s4 = Σq per 4. Separate multiplies and adds: the same in every set.
static void quantize_q8(const float *x, long count, int8_t *q, float *d, float *xs, int32_t *s4) {
    const f32x16 magic = splat(12582912.0f);
    for (long b = 0; b < count / 32; b++) {
        f32x16 lo = loadf(x + 32 * b), hi = loadf(x + 32 * b + 16);
        xs[b] = hsum(lo + hi);
        f32x16 mag = vmax((f32x16)((i32x16)lo & 0x7FFFFFFF), (f32x16)((i32x16)hi & 0x7FFFFFFF));
        float amax = 0;
        for (int k = 0; k < 16; k++) amax = mag[k] > amax ? mag[k] : amax;
        float db = amax / 127, inv = db != 0 ? 1 / db : 0;
        d[b] = db;
        i32x16 qlo = (i32x16)(lo * inv + magic) - (i32x16)magic;
        i32x16 qhi = (i32x16)(hi * inv + magic) - (i32x16)magic;
        for (int k = 0; k < 16; k++) {
            q[32 * b + k] = (int8_t)qlo[k];
            q[32 * b + 16 + k] = (int8_t)qhi[k];
        }
        for (int k = 0; k < 4; k++) {
            s4[8 * b + k] = qlo[4 * k] + qlo[4 * k + 1] + qlo[4 * k + 2] + qlo[4 * k + 3];
            s4[8 * b + 4 + k] = qhi[4 * k] + qhi[4 * k + 1] + qhi[4 * k + 2] + qhi[4 * k + 3];
        }
    }
}
