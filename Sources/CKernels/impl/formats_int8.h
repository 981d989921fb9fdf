// Block decoders for the 8-bit-activation path (int8.h), included once per sink (SINK = i8, mi8):
// each hands its sink 32 stored quants at a time as bytes, with the block's factors (see int8.h).
#define DECODER(fmt) LLMK_CAT(fmt, LLMK_CAT(_, SINK))
#define SINK_T struct LLMK_CAT(SINK, _sink)
#define SCALED LLMK_CAT(SINK, _scaled)
#define SCALED2 LLMK_CAT(SINK, _scaled2)
#define AFFINE LLMK_CAT(SINK, _affine)
#define SIGNED LLMK_CAT(SINK, _signed)

LLMK_INLINE void DECODER(q4_0)(const unsigned char *p, long o, SINK_T *s) {
    u8x16 q = loadb(p + 2);
    SCALED(s, o, join(q & 0x0F, q >> 4), 3, half(p));
}

LLMK_INLINE void DECODER(q4_1)(const unsigned char *p, long o, SINK_T *s) {
    u8x16 q = loadb(p + 4);
    AFFINE(s, o, join(q & 0x0F, q >> 4), half(p), half(p + 2));
}

LLMK_INLINE void DECODER(q5_0)(const unsigned char *p, long o, SINK_T *s) {
    u8x16 h0, h1, q = loadb(p + 6);
    q5_high(p + 2, &h0, &h1);
    SCALED(s, o, join((q & 0x0F) | h0, (q >> 4) | h1), 4, half(p));
}

LLMK_INLINE void DECODER(q5_1)(const unsigned char *p, long o, SINK_T *s) {
    u8x16 h0, h1, q = loadb(p + 8);
    q5_high(p + 4, &h0, &h1);
    AFFINE(s, o, join((q & 0x0F) | h0, (q >> 4) | h1), half(p), half(p + 2));
}

LLMK_INLINE void DECODER(q8_0)(const unsigned char *p, long o, SINK_T *s) {
    SIGNED(s, o, loadq((const int8_t *)(p + 2)), half(p));
}

LLMK_INLINE void DECODER(q4_K)(const unsigned char *p, long o, SINK_T *s) {
    f32x16 sm = scales_mins_k4(p + 4, half(p), half(p + 2));
    for (int j = 0; j < 4; j++) {
        u8x16 q0 = loadb(p + 16 + 32 * j), q1 = loadb(p + 32 + 32 * j);
        AFFINE(s, o + 64 * j, join(q0 & 0x0F, q1 & 0x0F), sm[2 * j], -sm[8 + 2 * j]);
        AFFINE(s, o + 64 * j + 32, join(q0 >> 4, q1 >> 4), sm[2 * j + 1], -sm[9 + 2 * j]);
    }
}

LLMK_INLINE void DECODER(q5_K)(const unsigned char *p, long o, SINK_T *s) {
    f32x16 sm = scales_mins_k4(p + 4, half(p), half(p + 2));
    u8x16 h0 = loadb(p + 16), h1 = loadb(p + 32);
    for (int j = 0; j < 4; j++) {
        u8x16 q0 = loadb(p + 48 + 32 * j), q1 = loadb(p + 64 + 32 * j);
        AFFINE(s, o + 64 * j, join((q0 & 0x0F) | bit_to(h0, 2 * j, 4), (q1 & 0x0F) | bit_to(h1, 2 * j, 4)),
               sm[2 * j], -sm[8 + 2 * j]);
        AFFINE(s, o + 64 * j + 32, join((q0 >> 4) | bit_to(h0, 2 * j + 1, 4), (q1 >> 4) | bit_to(h1, 2 * j + 1, 4)),
               sm[2 * j + 1], -sm[9 + 2 * j]);
    }
}

LLMK_INLINE void DECODER(q6_K)(const unsigned char *p, long o, SINK_T *s) {
    float d = half(p + 208);
    for (int n = 0; n < 2; n++) {
        u8x16 qlA0 = loadb(p + 64 * n), qlA1 = loadb(p + 64 * n + 16);
        u8x16 qlB0 = loadb(p + 64 * n + 32), qlB1 = loadb(p + 64 * n + 48);
        u8x16 qh0 = loadb(p + 128 + 32 * n), qh1 = loadb(p + 144 + 32 * n);
        const signed char *sc = (const signed char *)(p + 192 + 8 * n);
        long base = o + 128 * n;
        SCALED2(s, base, join(q6_quants(qlA0 & 0x0F, qh0, 0), q6_quants(qlA1 & 0x0F, qh1, 0)), 5,
                d * (float)sc[0], d * (float)sc[1]);
        SCALED2(s, base + 32, join(q6_quants(qlB0 & 0x0F, qh0, 2), q6_quants(qlB1 & 0x0F, qh1, 2)), 5,
                d * (float)sc[2], d * (float)sc[3]);
        SCALED2(s, base + 64, join(q6_quants(qlA0 >> 4, qh0, 4), q6_quants(qlA1 >> 4, qh1, 4)), 5,
                d * (float)sc[4], d * (float)sc[5]);
        SCALED2(s, base + 96, join(q6_quants(qlB0 >> 4, qh0, 6), q6_quants(qlB1 >> 4, qh1, 6)), 5,
                d * (float)sc[6], d * (float)sc[7]);
    }
}

#undef DECODER
#undef SINK_T
#undef SCALED
#undef SCALED2
#undef AFFINE
#undef SIGNED
