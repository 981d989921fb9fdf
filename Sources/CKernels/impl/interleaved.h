// Products over interleaved weights (Sources/LLMTensor/Interleave.swift has the layouts and the scalar
// twin): 16 rows form a group and each vector lane is one row, so a decoded vector of 16 quants meets
// one broadcast input value, and a block's scale is applied once per 16 rows × 32 weights instead of
// once per row × 32 weights. The row-wise kernels spend a multiply, a scale broadcast and a scale FMA
// per 32 weights of every row, and reduce every row across lanes; these do neither (Zen 5, one core,
// weights in L2: Q8_0 62 vs 28 G weights/s, Q4_1 57 vs 27).
//
// Per group and 32-weight block: the scales (16 × f16, or 16 × f32 for K-quant sub-blocks), the offsets
// where the format has them, then the quants column by column, 16 lanes a column: signed bytes (q8), or
// bytes whose low nibble is column k and high nibble column k + 16 (u4).
//
// Order of operations, per row (the twin repeats it): four chains c[k & 3] over the column pairs
// (k, k + 16), k = 0 … 15 — c = fma(hi_k, x[k+16], lo_k·x[k]) for k < 4, then fma(lo_k, x[k], c) and
// fma(hi_k, x[k+16], c); t = (c0 + c1) + (c2 + c3); acc = fma(t, d, acc); off = fma(m, Σx, off) where the
// format has an offset (m = −8·d for Q4_0's bias); y = acc (+ off). Sets without FMA round each step.

// Full unrolling keeps the chains in registers; where a target's cost model declines it (the generic set's
// scalarised 16-lane vectors), the loops stay and the results are the same, so that is no error.
#pragma clang diagnostic ignored "-Wpass-failed"

enum { IL_I8, IL_U4 };

/// Lanes of column k (lo) and k + 16 (hi) of a block's quants at q.
LLMK_INLINE void il_pair(int kind, const unsigned char *q, int k, f32x16 *lo, f32x16 *hi) {
    if (kind == IL_I8) {
        *lo = __builtin_convertvector(loadsb(q + 16 * k), f32x16);
        *hi = __builtin_convertvector(loadsb(q + 16 * (k + 16)), f32x16);
    } else {
        i32x16 w = __builtin_convertvector(loadb(q + 16 * k), i32x16);
        *lo = __builtin_convertvector(w & 0x0F, f32x16);
        *hi = __builtin_convertvector(w >> 4, f32x16);
    }
}

/// Inputs the multi-input kernel passes over each decoded column (4 chains each: 16 of the 32 vector
/// registers with AVX-512; half as many where vectors take two registers).
#if MDOT_INPUTS >= 8
#define IL_INPUTS 4
#else
#define IL_INPUTS 2
#endif

/// Σ_j w_j·x_i[j] of one block for n inputs (t[i]), each in the four chains, columns decoded once.
LLMK_INLINE void il_block(int kind, const unsigned char *q, const float *const *x, int n, f32x16 *t) {
    f32x16 c[IL_INPUTS][4], lo, hi;
#pragma clang loop unroll(full)
    for (int k = 0; k < 16; k++) {
        il_pair(kind, q, k, &lo, &hi);
#pragma clang loop unroll(full)
        for (int i = 0; i < n; i++) {
            if (k < 4) {
                c[i][k] = FMA(hi, splat(x[i][k + 16]), lo * splat(x[i][k]));
            } else {
                c[i][k & 3] = FMA(lo, splat(x[i][k]), c[i][k & 3]);
                c[i][k & 3] = FMA(hi, splat(x[i][k + 16]), c[i][k & 3]);
            }
        }
    }
    for (int i = 0; i < n; i++) t[i] = (c[i][0] + c[i][1]) + (c[i][2] + c[i][3]);
}

/// Scales (or offsets) of the 16 lanes at p: halves or floats.
LLMK_INLINE f32x16 il_lanes(int f32, const unsigned char *p) { return f32 ? loadf((const float *)p) : halves(p); }

/// The first `n` lanes of v to y.
LLMK_INLINE void il_store(float *y, f32x16 v, long n) { __builtin_memcpy(y, &v, (size_t)n * 4); }

enum { IL_NONE, IL_BIAS8, IL_OFFSET };

/// One interleaved format: name, quant kind, f32 scales (else f16), offset kind, bytes per group block.
#define LLMK_IL_FORMATS(X) \
    X(q8, IL_I8, 0, IL_NONE, 544) X(q4_0, IL_U4, 0, IL_BIAS8, 288) X(q4_1, IL_U4, 0, IL_OFFSET, 320) \
    X(q4_k, IL_U4, 1, IL_OFFSET, 384)

/// Where a group block's offsets and quants start.
#define IL_OFFSETS_AT(f32) ((f32) ? 64 : 32)
#define IL_QUANTS_AT(f32, offset) (IL_OFFSETS_AT(f32) + ((offset) == IL_OFFSET ? IL_OFFSETS_AT(f32) : 0))

/// The offset lanes of a block (scales d at hand), for formats that have one.
LLMK_INLINE f32x16 il_offsets(int offset, int f32, const unsigned char *p, f32x16 d) {
    return offset == IL_BIAS8 ? d * -8.0f : il_lanes(f32, p + IL_OFFSETS_AT(f32));
}

/// Groups g0 ..< g1 against n inputs (x_i = x + i·ldx, block sums of block b at xs[b·xs_stride + i]):
/// y_i[16g + l] = y[i·ldy + 16g + l] for the lanes below `rows`.
LLMK_INLINE void il_groups(int kind, int f32, int offset, long bytes, int n, const unsigned char *w, long g0, long g1,
                           long cols, long rows, const float *x, long ldx, const float *xs, long xs_stride, float *y,
                           long ldy) {
    long blocks = cols / 32;
    for (long g = g0; g < g1; g++) {
        const unsigned char *p = w + g * blocks * bytes;
        f32x16 acc[IL_INPUTS] = {{0}}, off[IL_INPUTS] = {{0}}, t[IL_INPUTS];
        for (long b = 0; b < blocks; b++, p += bytes) {
            // Decoding streams the weights from memory once a token: software prefetch 8 KiB ahead keeps
            // more lines in flight than the hardware prefetcher alone (a 178 MB Q8_0 head on Zen 5, one
            // core: 20 → 25 G weights/s, the mean of five runs each).
            for (long o = 0; o < bytes; o += 64) __builtin_prefetch(p + 8192 + o);
            const float *xb[IL_INPUTS];
            for (int i = 0; i < n; i++) xb[i] = x + i * ldx + 32 * b;
            il_block(kind, p + IL_QUANTS_AT(f32, offset), xb, n, t);
            f32x16 d = il_lanes(f32, p);
            for (int i = 0; i < n; i++) acc[i] = FMA(t[i], d, acc[i]);
            if (offset != IL_NONE) {
                f32x16 o = il_offsets(offset, f32, p, d);
                for (int i = 0; i < n; i++) off[i] = FMA(o, splat(xs[b * xs_stride + i]), off[i]);
            }
        }
        long lanes = rows - 16 * g < 16 ? rows - 16 * g : 16;
        for (int i = 0; i < n; i++) il_store(y + i * ldy + 16 * g, offset != IL_NONE ? acc[i] + off[i] : acc[i], lanes);
    }
}

/// Groups g0 ..< g1 against one input.
#define LLMK_IL_ROWS(fmt, kind, f32, offset, bytes)                                                  \
    static void il_rows_##fmt(const unsigned char *w, long g0, long g1, long cols, long rows,       \
                              const float *x, const float *xs, float *y) {                          \
        il_groups(kind, f32, offset, bytes, 1, w, g0, g1, cols, rows, x, 0, xs, 1, y, 0);             \
    }
LLMK_IL_FORMATS(LLMK_IL_ROWS)

/// Groups g0 ..< g1 against m inputs (x rows ldx apart, outputs ldy apart, block sums transposed as
/// for mrows_*): up to IL_INPUTS inputs share each decoded column, with il_rows_*'s operations for
/// each, so every output equals the one-input kernel's bit for bit.
#define LLMK_IL_MROWS(fmt, kind, f32, offset, bytes)                                                 \
    static void il_mrows_##fmt(const unsigned char *w, long g0, long g1, long cols, long rows,      \
                               const float *x, long ldx, const float *xs_t, long xs_stride, float *y, \
                               long ldy, long m) {                                                   \
        for (long i = 0; i < m;) {                                                                   \
            const float *xs = xs_t ? xs_t + i : NULL;                                                \
            if (m - i >= IL_INPUTS) {                                                                \
                il_groups(kind, f32, offset, bytes, IL_INPUTS, w, g0, g1, cols, rows, x + i * ldx, ldx, xs, xs_stride, y + i * ldy, ldy); \
                i += IL_INPUTS;                                                                      \
            } else if (m - i >= 2) {                                                                 \
                il_groups(kind, f32, offset, bytes, 2, w, g0, g1, cols, rows, x + i * ldx, ldx, xs, xs_stride, y + i * ldy, ldy); \
                i += 2;                                                                              \
            } else {                                                                                 \
                il_groups(kind, f32, offset, bytes, 1, w, g0, g1, cols, rows, x + i * ldx, ldx, xs, xs_stride, y + i * ldy, ldy); \
                i += 1;                                                                              \
            }                                                                                        \
        }                                                                                            \
    }
LLMK_IL_FORMATS(LLMK_IL_MROWS)
