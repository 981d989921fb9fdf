// AVX-512 with VNNI (Cascade Lake, Ice Lake and later, Zen 4): the avx512 set, whose 8-bit-activation
// products use vpdpbusd (four byte products summed into each int32 lane in one instruction).
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <stdint.h>

#include "impl/set.h"

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c,bmi2"))), apply_to = function)
#define LLMK_FMA 1
#define LLMK_BYTE_MASKS 1
#define LLMK_F16 LLMK_F16_AVX512
#define LLMK_SET avx512vnni
#define MDOT_INPUTS 8
#define LLMK_IDOT LLMK_IDOT_VNNI
#define LLMK_SET_NAME "avx512vnni"
#include "impl/kernels.h"
#pragma clang attribute pop
#endif
