// arm64: NEON is part of the base architecture, with fused multiply-add and half conversions; other
// architectures get the same code with separate operations.
#if !defined(__x86_64__) && !defined(__i386__)
#include <stdint.h>

#include "impl/set.h"

#if defined(__aarch64__)
#define LLMK_FMA 1
#define LLMK_F16 LLMK_F16_NATIVE
#define LLMK_SET neon
#define LLMK_SET_NAME "neon"
#else
#define LLMK_FMA 0
#define LLMK_F16 LLMK_F16_BITS
#define LLMK_SET generic
#define LLMK_SET_NAME "generic"
#endif
#include "impl/kernels.h"
#endif
