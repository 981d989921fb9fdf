// AVX-512 F/BW/DQ/VL (x86-64-v4): kernels.h under that target, 16 lanes in one register.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <stdint.h>

#include "impl/set.h"

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi2"))), apply_to = function)
#define LLMK_FMA 1
#define LLMK_BYTE_MASKS 1
#define LLMK_F16 LLMK_F16_AVX512
#define LLMK_SET avx512
#define MDOT_INPUTS 8  // 32 vector registers: two sinks of 8 accumulators fit
#define LLMK_SET_NAME "avx512"
#define LLMK_IDOT LLMK_IDOT_AVX2
#include "impl/kernels.h"
#pragma clang attribute pop
#endif
