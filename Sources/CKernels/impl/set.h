// One kernel set: the functions of one instruction set, filled by impl/kernels.h in each kernels_*.c.
#ifndef LLMDROP_CKERNELS_SET_H
#define LLMDROP_CKERNELS_SET_H

#include <stddef.h>
#include <stdint.h>

typedef void (*llmk_rows_fn)(const unsigned char *w, size_t row_bytes, long r0, long r1, long cols,
                             const float *x, const float *xs, float *y);
typedef void (*llmk_mrows_fn)(const unsigned char *w, size_t row_bytes, long r0, long r1, long cols,
                              const float *x, long ldx, const float *xs_t, long xs_stride, float *y, long ldy, long m);
typedef void (*llmk_rows8_fn)(const unsigned char *w, size_t row_bytes, long r0, long r1, long cols,
                              const int8_t *q, const float *d, const float *xs, const int32_t *s4,
                              float *y, long ldy, long m);
typedef void (*llmk_il_rows_fn)(const unsigned char *w, long g0, long g1, long cols, long rows, const float *x,
                                const float *xs, float *y);
typedef void (*llmk_il_mrows_fn)(const unsigned char *w, long g0, long g1, long cols, long rows, const float *x,
                                 long ldx, const float *xs_t, long xs_stride, float *y, long ldy, long m);
typedef void (*llmk_dequant_fn)(const unsigned char *src, float *dst, long count);

/// Indexed by ggml type id; NULL where the type does not exist.
#define LLMK_TYPE_SLOTS 31
/// Interleaved formats (CKernels.h), by id.
#define LLMK_IL_SLOTS 6

struct llmk_set {
    const char *name;
    llmk_rows_fn rows[LLMK_TYPE_SLOTS];
    llmk_mrows_fn mrows[LLMK_TYPE_SLOTS];
    llmk_dequant_fn dequant[LLMK_TYPE_SLOTS];
    llmk_il_rows_fn il_rows[LLMK_IL_SLOTS];
    llmk_il_mrows_fn il_mrows[LLMK_IL_SLOTS];
    /// 8-bit-activation products; NULL for types without one.
    llmk_rows8_fn rows8[LLMK_TYPE_SLOTS];
    void (*quantize_q8)(const float *x, long count, int8_t *q, float *d, float *xs, int32_t *s4);
    void (*block_sums)(const float *x, long count, float *xs);
    float (*max)(const float *x, long n);
    float (*exp_shifted)(float *x, long n, float shift);
    double (*exp_sum_f64)(const float *x, long n, float shift);
    void (*scale)(float *x, long n, float s);
    void (*silu_mul)(float *gate, const float *up, long n);
    void (*gelu_tanh_mul)(float *gate, const float *up, long n);
    void (*exp16)(const float *x, float *y);
    float (*read_sum)(const float *x, long n);
    void (*attend_heads)(const float *q, long heads, const float *k, const float *v, long ldkv, long n, long dim,
                         float scale, float *out, float *scores, long block);
};

#if defined(__x86_64__) || defined(__i386__)
extern const struct llmk_set llmk_set_sse2, llmk_set_avx2, llmk_set_avx512, llmk_set_avx512vnni;
#elif defined(__aarch64__)
extern const struct llmk_set llmk_set_neon;
#else
extern const struct llmk_set llmk_set_generic;
#endif

#endif
