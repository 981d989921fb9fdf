// The engine's hot kernels, compiled once per instruction set and chosen at run time from the CPU's
// features (x86-64: AVX-512, AVX2/FMA/F16C, baseline SSE2; arm64: NEON). SwiftPM gives a package no
// per-function target settings and refuses `unsafeFlags` in a dependency, so these live in C, where
// each instruction set is a `target` attribute on the functions of one translation unit.
//
// Type ids are ggml's (`ggml_type`): 0 F32, 1 F16, 2 Q4_0, 3 Q4_1, 6 Q5_0, 7 Q5_1, 8 Q8_0, 10 Q2_K,
// 11 Q3_K, 12 Q4_K, 13 Q5_K, 14 Q6_K, 30 BF16. Every function is pure and thread-safe.
#ifndef LLMDROP_CKERNELS_H
#define LLMDROP_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Name of the kernel set in use ("avx512vnni", "avx512", "avx2", "sse2", "neon"). The best one the CPU and OS
/// support is chosen on first use; the environment variable LLM_DROP_KERNELS can ask for a lower one.
const char *llmk_active(void);

/// Uses the kernel set named `name` from now on; returns 0 when this CPU cannot run it (nothing
/// changes then). For tests and benchmarks that compare the sets; not for use while kernels run.
int llmk_select(const char *name);

/// The names of the kernel sets this CPU can run, best first; `index` past the last gives NULL.
const char *llmk_supported(int index);

/// xs[b] = Σ x[32b ..< 32b + 32] for b < count / 32 (count a multiple of 32): the per-block sums of
/// the activation that quantised dot products fold offsets into.
void llmk_block_sums(const float *x, long count, float *xs);

/// y[r] = Σ_i w(r, i)·x[i] for r in [r0, r1): rows of `cols` weights of type `type`, `row_bytes`
/// apart from `w`, decoded in registers. `xs` holds the block sums of x (llmk_block_sums; may be
/// NULL for F32, F16, BF16). Sums run with fused multiply-adds where the CPU has them.
void llmk_dot_rows(int type, const void *w, size_t row_bytes, long r0, long r1, long cols,
                   const float *x, const float *xs, float *y);

/// llmk_dot_rows for m inputs at once: input i is x + i·ldx, its outputs go to y + i·ldy; the block sums
/// come transposed, block b of input i at xs_t[b·xs_stride + i] with xs_stride ≥ m rounded up to 8 and
/// the padding zero (may be NULL for F32, F16, BF16). Each weight block is decoded once for several
/// inputs; every output equals llmk_dot_rows' for that input bit for bit.
void llmk_dot_rows_multi(int type, const void *w, size_t row_bytes, long r0, long r1, long cols,
                         const float *x, long ldx, const float *xs_t, long xs_stride, float *y, long ldy, long m);

/// The CPU's spin-loop hint (PAUSE on x86, YIELD on arm64), for busy waits.
void llmk_spin_hint(void);

/// Interleaved weights (Sources/LLMTensor/Interleave.swift lays them out): 16 rows a group, one lane per
/// row. Formats: 0 q8 (from Q8_0, Q5_0), 1 q4_0, 2 q4_1, 3 q4_k, 4 q6_k, 5 q5_k. y[r] = Σ_i w(r, i)·x[i] for the rows
/// r < `rows` of groups [g0, g1); `xs` as for llmk_dot_rows (may be NULL for q8 and q6_k).
void llmk_il_rows(int format, const void *w, long g0, long g1, long cols, long rows, const float *x, const float *xs,
                  float *y);

/// llmk_il_rows for m inputs, arguments as llmk_dot_rows_multi's (block sums transposed); every output
/// equals llmk_il_rows' for that input bit for bit.
void llmk_il_rows_multi(int format, const void *w, long g0, long g1, long cols, long rows, const float *x, long ldx,
                        const float *xs_t, long xs_stride, float *y, long ldy, long m);

/// 8-bit activations (opt-in; llama.cpp's default numerics): 1 when `type` has a kernel that multiplies its
/// stored quants with an input quantised by llmk_quantize_q8 in integer arithmetic (Q4_0, Q4_1, Q5_0,
/// Q5_1, Q8_0, Q4_K, Q5_K, Q6_K).
int llmk_has_int8(int type);

/// Quantises x (count a multiple of 32) per block of 32: d[b] = max|x| / 127, q[i] = x[i] / d[b] rounded
/// to nearest even; xs[b] = Σx (as llmk_block_sums), s4[k] = q[4k] + … + q[4k + 3].
void llmk_quantize_q8(const float *x, long count, int8_t *q, float *d, float *xs, int32_t *s4);

/// y[i·ldy + r] = Σ_j w(r, j)·x_i[j] for the m quantised inputs (input i's arrays at q + i·cols,
/// d + i·cols/32, xs + i·cols/32, s4 + i·cols/4) and rows r in [r0, r1), for a type with llmk_has_int8.
/// Integer products, f32 block scaling; results do not depend on m or on how the rows are split.
void llmk_dot_rows_q8(int type, const void *w, size_t row_bytes, long r0, long r1, long cols,
                      const int8_t *q, const float *d, const float *xs, const int32_t *s4, float *y, long ldy, long m);

/// Decodes `count` weights (a whole number of blocks) of `type` into f32, bit for bit as ggml's
/// dequantize_row_* functions do (no fused operations).
void llmk_dequantize(int type, const void *src, float *dst, long count);

/// max(x[0 ..< n]) (n ≥ 1).
float llmk_max(const float *x, long n);

/// x[i] = e^(x[i] − shift) in place; returns Σ x[i] (f32 sums of 16-lane chunks, in order).
float llmk_exp_shifted(float *x, long n, float shift);

/// Σ e^(x[i] − shift) with f32 exponentials and an f64 sum (log-sum-exp over large vocabularies).
double llmk_exp_sum_f64(const float *x, long n, float shift);

/// x[i] *= s.
void llmk_scale(float *x, long n, float s);

/// gate[i] = silu(gate[i])·up[i], silu(g) = g / (1 + e^−g) (SwiGLU).
void llmk_silu_mul(float *gate, const float *up, long n);

/// gate[i] = gelu_tanh(gate[i])·up[i] = g / (1 + e^(−2u))·up, u = √(2/π)(g + 0.044715 g³) (GeGLU).
void llmk_gelu_tanh_mul(float *gate, const float *up, long n);

/// e^x for 16 lanes (the kernels' exponential), for its test against expf.
void llmk_exp16(const float *x, float *y);

/// Attention of one token's query heads that share keys and values (decoding): for i < heads,
/// out[i·dim ..< (i+1)·dim] = softmax_j(scale · q_i·k_j) · V over keys j < n with q_i = q + i·dim, key and
/// value rows `ldkv` floats apart, in blocks of `block` keys with an online softmax, each block read once
/// for all heads; `scores` holds `block` floats of scratch. Each head's result is the one it gets alone.
void llmk_attend_heads(const float *q, long heads, const float *k, const float *v, long ldkv, long n, long dim,
                       float scale, float *out, float *scores, long block);

/// Σ x[i], read at full speed (a memory-bandwidth probe; the sum keeps the reads from being removed).
float llmk_read_sum(const float *x, long n);

#ifdef __cplusplus
}
#endif

#endif
