// Exact re-encodings of stored weight blocks, row by row, into a format whose product kernels are faster:
// what resident models with 8-bit activations decode from (f32 ones use `Interleave`, which re-encodes
// Q5_0 the same way, interleaved across rows). A Q5_0
// block { f16 d; u8 qh[4]; u8 qs[16] } holds weights (q − 16)·d with q < 32, so q − 16 fits a signed
// byte and the block is a Q8_0 block { f16 d; i8 qs[32] } with the same d: every weight dequantises to
// the same f32, bit for bit. Decoding Q8_0 needs no nibble split or 5th-bit merge, and its 8-bit-
// activation kernel multiplies the bytes as they are: single-thread rows on Zen 5 about 2× the Q5_0
// rate in f32 and 2.5× with 8-bit activations, for 34 instead of 22 bytes a block. Gemma 3's Q4_K_M files store most of their
// matrices as Q5_0 (640 columns are no whole number of 256-weight K-quant blocks).
public enum Repack {
    /// The format `type`'s blocks are re-encoded into for the products, where an exact one is faster.
    public static func target(for type: GGMLType) -> GGMLType? {
        type == .q5_0 ? .q8_0 : nil
    }

    /// Re-encodes `blocks` blocks of `type` at `src` as `target(for: type)` at `dst`.
    public static func convert(_ type: GGMLType, _ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, blocks: Int) {
        precondition(type == .q5_0, "\(type) has no repacked form")
        for b in 0..<blocks {
            let p = src + b * GGMLType.q5_0.blockBytes, out = dst + b * GGMLType.q8_0.blockBytes
            out.copyMemory(from: p, byteCount: 2)  // d
            for j in 0..<32 { out.storeBytes(of: Int8(Dequant.q5Quant(p, qh: 2, weight: j) - 16), toByteOffset: 2 + j, as: Int8.self) }
        }
    }
}
