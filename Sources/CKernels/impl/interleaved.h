// Products over interleaved weights (Sources/LLMTensor/Interleave.swift has the layouts and the scalar
// twin): 16 rows form a group and each vector lane is one row, so a decoded vector of 16 quants meets
// one broadcast input value, and a block's scale is applied once per 16 rows × 32 weights instead of
// once per row × 32 weights. The row-wise kernels spend a multiply, a scale broadcast and a scale FMA
// per 32 weights of every row, and reduce every row across lanes; these do neither (Zen 5, one core,
// weights in L2: Q8_0 62 vs 28 G weights/s, Q4_1 57 vs 27).
//
// A group is a run of units (16 rows × 32 weights, or 16 rows × 256 for K-quant super-blocks): scales,
// offsets where the format has them, then the quants column by column, 16 lanes a column: signed bytes
// (q8, Q5_K, Q6_K), or bytes whose low nibble is column k and high nibble column k + 16 (u4). K-quant units
// keep the stored integers of their sub-block scales: Q4_K costs 4.625 bits a weight (4.5 in the file),
// Q5_K 8.625 (5.5), Q6_K 8.5625 (6.5625) — 5- and 6-bit quants as bytes decode at twice the rate of the
// packed bits, which from memory is worth more than the bytes (Zen 5, one core, 220 MB: Q6_K packed
// 13–15 G weights/s, as bytes 28–30).
//
// Order of operations, per row (the twin repeats it): four chains c[k & 3] over the column pairs
// (k, k + 16), k = 0 … 15 — c = fma(hi_k, x[k+16], lo_k·x[k]) for k < 4, then fma(lo_k, x[k], c) and
// fma(hi_k, x[k+16], c); t = (c0 + c1) + (c2 + c3); acc = fma(t, d, acc); off = fma(m, Σx, off) where the
// format has an offset (m = −8·d for Q4_0's bias); y = acc (+ off). Q6_K's halves of a block have their own
// scales: chains c[k & 1] over columns k, c[2 + (k & 1)] over columns k + 16 (a product for k < 2, then
// FMAs), acc = fma(c0 + c1, d_lo, acc), then fma(c2 + c3, d_hi, acc). Sets without FMA round each step.

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

/// Σ_j w_j·x_i[j] of one block for n inputs, columns decoded once: t[i] over all 32 columns, or where
/// each half of a block has its own scale (`halves`) t[i] over columns 0 … 15 and t2[i] over 16 … 31.
LLMK_INLINE void il_block(int kind, int halves, const unsigned char *q, const float *const *x, int n, f32x16 *t,
                          f32x16 *t2) {
    f32x16 c[IL_INPUTS][4], lo, hi;
#pragma clang loop unroll(full)
    for (int k = 0; k < 16; k++) {
        il_pair(kind, q, k, &lo, &hi);
#pragma clang loop unroll(full)
        for (int i = 0; i < n; i++) {
            if (halves) {
                int a = k & 1, b = 2 + (k & 1);
                c[i][a] = k < 2 ? lo * splat(x[i][k]) : FMA(lo, splat(x[i][k]), c[i][a]);
                c[i][b] = k < 2 ? hi * splat(x[i][k + 16]) : FMA(hi, splat(x[i][k + 16]), c[i][b]);
            } else if (k < 4) {
                c[i][k] = FMA(hi, splat(x[i][k + 16]), lo * splat(x[i][k]));
            } else {
                c[i][k & 3] = FMA(lo, splat(x[i][k]), c[i][k & 3]);
                c[i][k & 3] = FMA(hi, splat(x[i][k + 16]), c[i][k & 3]);
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (halves) {
            t[i] = c[i][0] + c[i][1];
            t2[i] = c[i][2] + c[i][3];
        } else {
            t[i] = (c[i][0] + c[i][1]) + (c[i][2] + c[i][3]);
        }
    }
}

/// The first `n` lanes of v to y.
LLMK_INLINE void il_store(float *y, f32x16 v, long n) { __builtin_memcpy(y, &v, (size_t)n * 4); }

/// Scales: f16 per 32-weight unit (d[16], then m[16] where the format has offsets); per 256-weight
/// Q4_K unit f16 d[16], dmin[16], sub-block scales u8 sc[8][16] and mins u8 mn[8][16]; per Q6_K unit
/// f16 d[16] and sub-block scales i8 sc[16][16] (one per 16 columns); Q5_K units as Q4_K's.
/// Offsets: none, Q4_0's −8·d, or stored.
enum { IL_HALF, IL_K4, IL_K6 };
enum { IL_NONE, IL_BIAS8, IL_OFFSET };

/// One interleaved format: name, quant kind, scale kind, offset kind, bytes per unit, 32-weight blocks
/// per unit.
#define LLMK_IL_FORMATS(X) \
    X(q8, IL_I8, IL_HALF, IL_NONE, 544, 1) X(q4_0, IL_U4, IL_HALF, IL_BIAS8, 288, 1) \
    X(q4_1, IL_U4, IL_HALF, IL_OFFSET, 320, 1) X(q4_k, IL_U4, IL_K4, IL_OFFSET, 2368, 8) \
    X(q6_k, IL_I8, IL_K6, IL_NONE, 4384, 8) X(q5_k, IL_I8, IL_K4, IL_OFFSET, 4416, 8)

/// Where block j's quants start in a unit.
LLMK_INLINE long il_quants_at(int kind, int scales, int offset, int j) {
    switch (scales) {
    case IL_K4: return 320 + (kind == IL_I8 ? 512 : 256) * j;
    case IL_K6: return 288 + 512 * j;
    default: return offset == IL_OFFSET ? 64 : 32;
    }
}

/// Groups g0 ..< g1 against n inputs (x_i = x + i·ldx, block sums of block b at xs[b·xs_stride + i]):
/// y_i[16g + l] = y[i·ldy + 16g + l] for the lanes below `rows`.
LLMK_INLINE void il_groups(int kind, int scales, int offset, long bytes, int sub, int n, const unsigned char *w,
                           long g0, long g1, long cols, long rows, const float *x, long ldx, const float *xs,
                           long xs_stride, float *y, long ldy) {
    long units = cols / (32 * sub);
    for (long g = g0; g < g1; g++) {
        const unsigned char *p = w + g * units * bytes;
        f32x16 acc[IL_INPUTS] = {{0}}, off[IL_INPUTS] = {{0}}, t[IL_INPUTS], t2[IL_INPUTS];
        for (long u = 0; u < units; u++, p += bytes) {
            for (int j = 0; j < sub; j++) {
                // Decoding streams the weights from memory once a token: software prefetch 8 KiB ahead
                // keeps more lines in flight than the hardware prefetcher alone (a 178 MB Q8_0 head on Zen
                // 5, one core: 20 → 25 G weights/s, the mean of five runs each). A K-quant unit's lines
                // are spread over its blocks: 69 at once (Q6_K) stalled the loads, 19 → 13 G weights/s.
                for (long o = j * (bytes / sub); o < (j + 1) * (bytes / sub); o += 64) __builtin_prefetch(p + 8192 + o);
                // The unit's d (per block, or per super-block for K-quants), read again for each block:
                // kept in registers across blocks, it pushed the multi-input chains onto the stack.
                f32x16 d0 = halves(p);
                long b = u * sub + j;
                const float *xb[IL_INPUTS];
                for (int i = 0; i < n; i++) xb[i] = x + i * ldx + 32 * b;
                il_block(kind, scales == IL_K6, p + il_quants_at(kind, scales, offset, j), xb, n, t, t2);
                if (scales == IL_K6) {
                    f32x16 dlo = d0 * __builtin_convertvector(loadsb(p + 32 + 32 * j), f32x16);
                    f32x16 dhi = d0 * __builtin_convertvector(loadsb(p + 48 + 32 * j), f32x16);
                    for (int i = 0; i < n; i++) acc[i] = FMA(t2[i], dhi, FMA(t[i], dlo, acc[i]));
                    continue;
                }
                f32x16 d = scales == IL_K4 ? d0 * floats(loadb(p + 64 + 16 * j)) : d0;
                for (int i = 0; i < n; i++) acc[i] = FMA(t[i], d, acc[i]);
                if (offset != IL_NONE) {
                    f32x16 o = offset == IL_BIAS8 ? d * -8.0f
                             : scales == IL_K4 ? -halves(p + 32) * floats(loadb(p + 192 + 16 * j)) : halves(p + 32);
                    for (int i = 0; i < n; i++) off[i] = FMA(o, splat(xs[b * xs_stride + i]), off[i]);
                }
            }
        }
        long lanes = rows - 16 * g < 16 ? rows - 16 * g : 16;
        for (int i = 0; i < n; i++) il_store(y + i * ldy + 16 * g, offset != IL_NONE ? acc[i] + off[i] : acc[i], lanes);
    }
}

/// Groups g0 ..< g1 against one input.
#define LLMK_IL_ROWS(fmt, kind, scales, offset, bytes, sub)                                          \
    static void il_rows_##fmt(const unsigned char *w, long g0, long g1, long cols, long rows,       \
                              const float *x, const float *xs, float *y) {                          \
        il_groups(kind, scales, offset, bytes, sub, 1, w, g0, g1, cols, rows, x, 0, xs, 1, y, 0);     \
    }
LLMK_IL_FORMATS(LLMK_IL_ROWS)

/// Groups g0 ..< g1 against m inputs (x rows ldx apart, outputs ldy apart, block sums transposed as
/// for mrows_*): up to IL_INPUTS inputs share each decoded column, with il_rows_*'s operations for
/// each, so every output equals the one-input kernel's bit for bit.
#define LLMK_IL_MROWS(fmt, kind, scales, offset, bytes, sub)                                         \
    static void il_mrows_##fmt(const unsigned char *w, long g0, long g1, long cols, long rows,      \
                               const float *x, long ldx, const float *xs_t, long xs_stride, float *y, \
                               long ldy, long m) {                                                   \
        for (long i = 0; i < m;) {                                                                   \
            const float *xs = xs_t ? xs_t + i : NULL;                                                \
            if (m - i >= IL_INPUTS) {                                                                \
                il_groups(kind, scales, offset, bytes, sub, IL_INPUTS, w, g0, g1, cols, rows, x + i * ldx, ldx, xs, xs_stride, y + i * ldy, ldy); \
                i += IL_INPUTS;                                                                      \
            } else if (m - i >= 2) {                                                                 \
                il_groups(kind, scales, offset, bytes, sub, 2, w, g0, g1, cols, rows, x + i * ldx, ldx, xs, xs_stride, y + i * ldy, ldy); \
                i += 2;                                                                              \
            } else {                                                                                 \
                il_groups(kind, scales, offset, bytes, sub, 1, w, g0, g1, cols, rows, x + i * ldx, ldx, xs, xs_stride, y + i * ldy, ldy); \
                i += 1;                                                                              \
            }                                                                                        \
        }                                                                                            \
    }
LLMK_IL_FORMATS(LLMK_IL_MROWS)
