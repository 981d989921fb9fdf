// AVX2 + FMA + F16C (x86-64-v3): kernels.h under that target.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <stdint.h>

#include "impl/set.h"

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2"))), apply_to = function)
#define LLMK_FMA 1
#define LLMK_F16 LLMK_F16_F16C
#define LLMK_SET avx2
#define LLMK_SET_NAME "avx2"
#define LLMK_IDOT LLMK_IDOT_AVX2
#include "impl/kernels.h"
#pragma clang attribute pop
#endif
