// Chooses the kernel set at run time from the CPU's features and forwards the public functions to it.
#include "CKernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "impl/set.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/// XCR0: which register states the OS saves on context switches (AVX needs bits 1–2, AVX-512 5–7).
static unsigned long long xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

/// The sets this CPU and OS can run, best first (read from CPUID, not from what the build targeted).
static int supported_sets(const struct llmk_set **out) {
    int n = 0;
    unsigned a, b, c, d;
    int avx2 = 0, avx512 = 0, vnni = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
        unsigned long long xcr = osxsave ? xcr0() : 0;
        if (avx && (xcr & 0x6) == 0x6 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            int has_avx2 = (b >> 5) & 1, bmi2 = (b >> 8) & 1;
            int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
            avx2 = has_avx2 && fma && f16c && bmi2;
            avx512 = avx2 && f && dq && bw && vl && (xcr & 0xE6) == 0xE6;
            vnni = avx512 && ((c >> 11) & 1);
        }
    }
    if (vnni) out[n++] = &llmk_set_avx512vnni;
    if (avx512) out[n++] = &llmk_set_avx512;
    if (avx2) out[n++] = &llmk_set_avx2;
    out[n++] = &llmk_set_sse2;
    return n;
}
#elif defined(__aarch64__)
static int supported_sets(const struct llmk_set **out) {
    out[0] = &llmk_set_neon;
    return 1;
}
#else
static int supported_sets(const struct llmk_set **out) {
    out[0] = &llmk_set_generic;
    return 1;
}
#endif

static _Atomic(const struct llmk_set *) active_set;

/// The best supported set, or the one LLM_DROP_KERNELS names when this CPU supports it.
static const struct llmk_set *choose(void) {
    const struct llmk_set *sets[5];
    int n = supported_sets(sets);
    const char *asked = getenv("LLM_DROP_KERNELS");
    if (asked)
        for (int i = 0; i < n; i++)
            if (strcmp(sets[i]->name, asked) == 0) return sets[i];
    return sets[0];
}

static inline const struct llmk_set *set(void) {
    const struct llmk_set *s = atomic_load_explicit(&active_set, memory_order_acquire);
    if (__builtin_expect(s == NULL, 0)) {
        s = choose();  // racing first calls choose the same set
        atomic_store_explicit(&active_set, s, memory_order_release);
    }
    return s;
}

const char *llmk_active(void) { return set()->name; }

int llmk_select(const char *name) {
    const struct llmk_set *sets[5];
    int n = supported_sets(sets);
    for (int i = 0; i < n; i++)
        if (strcmp(sets[i]->name, name) == 0) {
            atomic_store_explicit(&active_set, sets[i], memory_order_release);
            return 1;
        }
    return 0;
}

const char *llmk_supported(int index) {
    const struct llmk_set *sets[5];
    int n = supported_sets(sets);
    return index >= 0 && index < n ? sets[index]->name : NULL;
}

void llmk_spin_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

void llmk_block_sums(const float *x, long count, float *xs) { set()->block_sums(x, count, xs); }

void llmk_dot_rows(int type, const void *w, size_t row_bytes, long r0, long r1, long cols,
                   const float *x, const float *xs, float *y) {
    set()->rows[type](w, row_bytes, r0, r1, cols, x, xs, y);
}

void llmk_dot_rows_multi(int type, const void *w, size_t row_bytes, long r0, long r1, long cols,
                         const float *x, long ldx, const float *xs_t, long xs_stride, float *y, long ldy, long m) {
    set()->mrows[type](w, row_bytes, r0, r1, cols, x, ldx, xs_t, xs_stride, y, ldy, m);
}

void llmk_il_rows(int format, const void *w, long g0, long g1, long cols, long rows, const float *x, const float *xs,
                  float *y) {
    set()->il_rows[format](w, g0, g1, cols, rows, x, xs, y);
}

void llmk_il_rows_multi(int format, const void *w, long g0, long g1, long cols, long rows, const float *x, long ldx,
                        const float *xs_t, long xs_stride, float *y, long ldy, long m) {
    set()->il_mrows[format](w, g0, g1, cols, rows, x, ldx, xs_t, xs_stride, y, ldy, m);
}

int llmk_has_int8(int type) { return type >= 0 && type < LLMK_TYPE_SLOTS && set()->rows8[type] != NULL; }

void llmk_quantize_q8(const float *x, long count, int8_t *q, float *d, float *xs, int32_t *s4) {
    set()->quantize_q8(x, count, q, d, xs, s4);
}

void llmk_dot_rows_q8(int type, const void *w, size_t row_bytes, long r0, long r1, long cols,
                      const int8_t *q, const float *d, const float *xs, const int32_t *s4, float *y, long ldy, long m) {
    set()->rows8[type](w, row_bytes, r0, r1, cols, q, d, xs, s4, y, ldy, m);
}

void llmk_dequantize(int type, const void *src, float *dst, long count) { set()->dequant[type](src, dst, count); }

float llmk_max(const float *x, long n) { return set()->max(x, n); }
float llmk_exp_shifted(float *x, long n, float shift) { return set()->exp_shifted(x, n, shift); }
double llmk_exp_sum_f64(const float *x, long n, float shift) { return set()->exp_sum_f64(x, n, shift); }
void llmk_scale(float *x, long n, float s) { set()->scale(x, n, s); }
void llmk_silu_mul(float *gate, const float *up, long n) { set()->silu_mul(gate, up, n); }
void llmk_gelu_tanh_mul(float *gate, const float *up, long n) { set()->gelu_tanh_mul(gate, up, n); }
void llmk_exp16(const float *x, float *y) { set()->exp16(x, y); }
float llmk_read_sum(const float *x, long n) { return set()->read_sum(x, n); }
void llmk_attend_heads(const float *q, long heads, const float *k, const float *v, long ldkv, long n, long dim,
                       float scale, float *out, float *scores, long block) {
    set()->attend_heads(q, heads, k, v, ldkv, n, dim, scale, out, scores, block);
}
