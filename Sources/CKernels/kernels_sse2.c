// The x86-64 baseline (SSE2, every x86-64 CPU): kernels.h with separate multiplies and adds.
#if defined(__x86_64__) || defined(__i386__)
#include <stdint.h>

#include "impl/set.h"

#define LLMK_FMA 0
#define LLMK_F16 LLMK_F16_BITS
#define LLMK_SET sse2
#define LLMK_SET_NAME "sse2"
#include "impl/kernels.h"
#endif
