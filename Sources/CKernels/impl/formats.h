// Block decoders of the quantised formats, included by kernels.h once per sink (SINK = store, dot).
// Each hands its sink, lane for lane, the operands of exactly the float operations of the scalar
// reference (Sources/LLMTensor/Dequantize.swift): x − y is passed as x + (−y), identical in IEEE
// arithmetic; q − bias is exact in floats for these small integers.
#define DECODER(fmt) LLMK_CAT(fmt, LLMK_CAT(_, SINK))
#define SINK_T struct LLMK_CAT(SINK, _sink)
#define PUT LLMK_CAT(SINK, _put)
#define SCALED LLMK_CAT(SINK, _scaled)
#define AFFINE LLMK_CAT(SINK, _affine)

/// block_q4_0 { f16 d; u8 qs[16] }: weight j = (lo(qs[j]) − 8)·d, weight j + 16 = (hi(qs[j]) − 8)·d.
LLMK_INLINE void DECODER(q4_0)(const unsigned char *p, long o, SINK_T *s) {
    u8x16 q = loadb(p + 2);
    SCALED(s, o, floats(q & 0x0F), floats(q >> 4), 8, half(p));
}

/// block_q4_1 { f16 d, m; u8 qs[16] }: q·d + m.
LLMK_INLINE void DECODER(q4_1)(const unsigned char *p, long o, SINK_T *s) {
    u8x16 q = loadb(p + 4);
    AFFINE(s, o, floats(q & 0x0F), floats(q >> 4), half(p), half(p + 2));
}

/// block_q5_0 { f16 d; u8 qh[4]; u8 qs[16] }: the 5th bit of weight j is bit j of qh; (q − 16)·d.
LLMK_INLINE void DECODER(q5_0)(const unsigned char *p, long o, SINK_T *s) {
    u8x16 h0, h1, q = loadb(p + 6);
    q5_high(p + 2, &h0, &h1);
    SCALED(s, o, floats((q & 0x0F) | h0), floats((q >> 4) | h1), 16, half(p));
}

/// block_q5_1 { f16 d, m; u8 qh[4]; u8 qs[16] }: q·d + m.
LLMK_INLINE void DECODER(q5_1)(const unsigned char *p, long o, SINK_T *s) {
    u8x16 h0, h1, q = loadb(p + 8);
    q5_high(p + 4, &h0, &h1);
    AFFINE(s, o, floats((q & 0x0F) | h0), floats((q >> 4) | h1), half(p), half(p + 2));
}

/// block_q8_0 { f16 d; i8 qs[32] }: q·d.
LLMK_INLINE void DECODER(q8_0)(const unsigned char *p, long o, SINK_T *s) {
    SCALED(s, o, __builtin_convertvector(loadsb(p + 2), f32x16), __builtin_convertvector(loadsb(p + 18), f32x16), 0, half(p));
}

/// block_q2_K { u8 scales[16]; u8 qs[64]; f16 d, dmin }: 16 groups of 16; group g has scale
/// d·(scales[g] & 15) and min dmin·(scales[g] >> 4); weight 128n + 32s + l is (qs[32n + l] >> 2s) & 3.
LLMK_INLINE void DECODER(q2_K)(const unsigned char *p, long o, SINK_T *s) {
    float d = half(p + 80), dmin = half(p + 82);
    for (int n = 0; n < 2; n++) {
        u8x16 q0 = loadb(p + 16 + 32 * n), q1 = loadb(p + 32 + 32 * n);
        for (int k = 0; k < 4; k++) {
            unsigned sc0 = p[8 * n + 2 * k], sc1 = p[8 * n + 2 * k + 1];
            float dl0 = d * (float)(sc0 & 0x0F), ml0 = dmin * (float)(sc0 >> 4);
            float dl1 = d * (float)(sc1 & 0x0F), ml1 = dmin * (float)(sc1 >> 4);
            uint8_t shift = (uint8_t)(2 * k);
            PUT(s, o + 128 * n + 32 * k, dl0 * floats((q0 >> shift) & 3) - ml0, dl1 * floats((q1 >> shift) & 3) - ml1);
        }
    }
}

/// block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }: weight 128n + 32s + l has low bits
/// (qs[32n + l] >> 2s) & 3, minus 4 unless bit 4n + s of hmask[l] is set.
LLMK_INLINE void DECODER(q3_K)(const unsigned char *p, long o, SINK_T *s) {
    float d = half(p + 108);
    u8x16 hm0 = loadb(p), hm1 = loadb(p + 16);
    for (int n = 0; n < 2; n++) {
        u8x16 q0 = loadb(p + 32 + 32 * n), q1 = loadb(p + 48 + 32 * n);
        for (int k = 0; k < 4; k++) {
            int g = 8 * n + 2 * k;
            float dl0 = d * q3k_scale(p, g), dl1 = d * q3k_scale(p, g + 1);
            uint8_t shift = (uint8_t)(2 * k);
            // (q | 4·h) − 4 = q − (h ? 0 : 4), exact in floats
            f32x16 v0 = floats(((q0 >> shift) & 3) | bit_to(hm0, 4 * n + k, 2)) - 4;
            f32x16 v1 = floats(((q1 >> shift) & 3) | bit_to(hm1, 4 * n + k, 2)) - 4;
            PUT(s, o + 128 * n + 32 * k, dl0 * v0, dl1 * v1);
        }
    }
}

/// block_q4_K { f16 d, dmin; u8 scales[12]; u8 qs[128] }: 8 sub-blocks of 32; sub-block 2j takes the
/// low nibbles of qs[32j …], 2j + 1 the high ones; weight = (d·sc)·q − dmin·m.
LLMK_INLINE void DECODER(q4_K)(const unsigned char *p, long o, SINK_T *s) {
    f32x16 sm = scales_mins_k4(p + 4, half(p), half(p + 2));
    for (int j = 0; j < 4; j++) {
        u8x16 q0 = loadb(p + 16 + 32 * j), q1 = loadb(p + 32 + 32 * j);
        AFFINE(s, o + 64 * j, floats(q0 & 0x0F), floats(q1 & 0x0F), sm[2 * j], -sm[8 + 2 * j]);
        AFFINE(s, o + 64 * j + 32, floats(q0 >> 4), floats(q1 >> 4), sm[2 * j + 1], -sm[9 + 2 * j]);
    }
}

/// block_q5_K { f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }: as Q4_K plus a 5th bit, bit k
/// of qh[l] for weight 32k + l.
LLMK_INLINE void DECODER(q5_K)(const unsigned char *p, long o, SINK_T *s) {
    f32x16 sm = scales_mins_k4(p + 4, half(p), half(p + 2));
    u8x16 h0 = loadb(p + 16), h1 = loadb(p + 32);
    for (int j = 0; j < 4; j++) {
        u8x16 q0 = loadb(p + 48 + 32 * j), q1 = loadb(p + 64 + 32 * j);
        AFFINE(s, o + 64 * j, floats((q0 & 0x0F) | bit_to(h0, 2 * j, 4)), floats((q1 & 0x0F) | bit_to(h1, 2 * j, 4)),
               sm[2 * j], -sm[8 + 2 * j]);
        AFFINE(s, o + 64 * j + 32, floats((q0 >> 4) | bit_to(h0, 2 * j + 1, 4)), floats((q1 >> 4) | bit_to(h1, 2 * j + 1, 4)),
               sm[2 * j + 1], -sm[9 + 2 * j]);
    }
}

/// block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }: two halves of 128; in half n, weight
/// 32k + l takes a nibble of ql[64n + l + 32(k & 1)] (low for k < 2) and bits 2k … 2k+1 of qh[32n + l];
/// weight = (d·scales[g])·(q − 32), g = weight / 16.
LLMK_INLINE void DECODER(q6_K)(const unsigned char *p, long o, SINK_T *s) {
    float d = half(p + 208);
    for (int n = 0; n < 2; n++) {
        u8x16 qlA0 = loadb(p + 64 * n), qlA1 = loadb(p + 64 * n + 16);
        u8x16 qlB0 = loadb(p + 64 * n + 32), qlB1 = loadb(p + 64 * n + 48);
        u8x16 qh0 = loadb(p + 128 + 32 * n), qh1 = loadb(p + 144 + 32 * n);
        const signed char *sc = (const signed char *)(p + 192 + 8 * n);
        long base = o + 128 * n;
        PUT(s, base, d * (float)sc[0] * q6_lanes(qlA0 & 0x0F, qh0, 0), d * (float)sc[1] * q6_lanes(qlA1 & 0x0F, qh1, 0));
        PUT(s, base + 32, d * (float)sc[2] * q6_lanes(qlB0 & 0x0F, qh0, 2), d * (float)sc[3] * q6_lanes(qlB1 & 0x0F, qh1, 2));
        PUT(s, base + 64, d * (float)sc[4] * q6_lanes(qlA0 >> 4, qh0, 4), d * (float)sc[5] * q6_lanes(qlA1 >> 4, qh1, 4));
        PUT(s, base + 96, d * (float)sc[6] * q6_lanes(qlB0 >> 4, qh0, 6), d * (float)sc[7] * q6_lanes(qlB1 >> 4, qh1, 6));
    }
}

#undef DECODER
#undef SINK_T
#undef PUT
#undef SCALED
#undef AFFINE
