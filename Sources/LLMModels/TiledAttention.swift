// Causal (and sliding-window) attention of one head over one tile of queries, in blocks of keys with an
// online softmax (the FlashAttention recurrence): the scores of one tile × one key block are all that
// exists at a time, so memory per thread is fixed — it never grows with the context — while BLAS still
// does the two products. For each query row t, after a key block with scores s:
//     m' = max(m, max s),  α = e^(m − m'),  p = e^(s − m'),  ℓ' = α·ℓ + Σp,  o' = α·o + p·V
// and at the end o / ℓ. When one block holds every visible key, p is normalised before p·V instead
// (the plain softmax, which short sequences get). A single query (decoding) runs the same recurrence in
// the C kernels, the query heads that share a key/value head together (`decode`).
import Foundation
import LLMTensor

public enum TiledAttention {
    /// Keys per block.
    public static let keyBlock = 512

    /// Floats of scratch one call needs for a tile of `queries` rows: a score block, running max and sum.
    public static func scratchFloats(queries: Int) -> Int { queries * keyBlock + 2 * queries }

    /// Decoding: `heads` query heads of one token (q + i·dim, out + i·dim) at key position `position`
    /// that share the keys and values, in the C kernels (a BLAS call per head costs more than the work
    /// here), which read each block of keys and values once for all of them. Each head's output equals
    /// `run`'s for that head alone, bit for bit.
    public static func decode(q: UnsafePointer<Float>, heads: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int,
                              out: UnsafeMutablePointer<Float>, dim: Int, position: Int, window: Int, scale: Float,
                              scratch: UnsafeMutablePointer<Float>) {
        let lo = window > 0 ? max(0, position - window + 1) : 0
        Kernels.attendHeads(q, heads: heads, k + lo * ldkv, v + lo * ldkv, ldkv: ldkv, keys: position + 1 - lo, dim: dim,
                            scale: scale, out, scratch: scratch, block: keyBlock)
    }

    /// out[t] = Σ_j softmax_j(q_t · k_j · scale) v_j over the keys query t sees: query t sits at key
    /// position `first + t` and sees keys [max(0, first + t − window + 1), first + t] (window 0: from 0).
    /// q rows are `ldq` floats apart, k and v rows `ldkv`, out rows `ldo`; head dimension `dim`.
    public static func run(q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int,
                    out: UnsafeMutablePointer<Float>, ldo: Int, queries T: Int, dim: Int,
                    first: Int, window: Int, scale: Float, scratch: UnsafeMutablePointer<Float>) {
        func from(_ t: Int) -> Int { window > 0 ? max(0, first + t - window + 1) : 0 }
        func to(_ t: Int) -> Int { first + t + 1 }
        let B = keyBlock
        let scores = scratch, maxima = scratch + T * B, sums = maxima + T
        let lo = from(0), hi = to(T - 1)
        if T == 1 {
            decode(q: q, heads: 1, k: k, v: v, ldkv: ldkv, out: out, dim: dim, position: first, window: window, scale: scale, scratch: scratch)
            return
        }
        if hi - lo <= B {
            // One block: the plain softmax, normalised before the product.
            let n = hi - lo
            BLAS.gemm(q, lda: ldq, k + lo * ldkv, ldb: ldkv, transB: true, scores, ldc: n, m: T, n: n, k: dim, alpha: scale)
            for t in 0..<T {
                let row = scores + t * n, a = from(t) - lo, b = to(t) - lo
                row.update(repeating: 0, count: a)
                Kernels.softmax(row + a, b - a)
                (row + b).update(repeating: 0, count: n - b)
            }
            BLAS.gemm(scores, lda: n, v + lo * ldkv, ldb: ldkv, out, ldc: ldo, m: T, n: dim, k: n)
            return
        }
        maxima.update(repeating: -.infinity, count: T)
        sums.update(repeating: 0, count: T)
        for t in 0..<T { (out + t * ldo).update(repeating: 0, count: dim) }
        for j0 in stride(from: lo, to: hi, by: B) {
            let n = min(B, hi - j0)
            BLAS.gemm(q, lda: ldq, k + j0 * ldkv, ldb: ldkv, transB: true, scores, ldc: n, m: T, n: n, k: dim, alpha: scale)
            for t in 0..<T {
                let row = scores + t * n
                let a = min(n, max(0, from(t) - j0)), b = max(a, min(n, to(t) - j0))
                row.update(repeating: 0, count: a)
                (row + b).update(repeating: 0, count: n - b)
                guard a < b else { continue }
                let m = max(maxima[t], Kernels.maximum(row + a, b - a))
                let alpha = maxima[t] == -.infinity ? 0 : Foundation.exp(maxima[t] - m)  // rescales what came before
                sums[t] = sums[t] * alpha + Kernels.expShifted(row + a, b - a, shift: m)
                if alpha != 1 { Kernels.scale(out + t * ldo, alpha, dim) }
                maxima[t] = m
            }
            BLAS.gemm(scores, lda: n, v + j0 * ldkv, ldb: ldkv, out, ldc: ldo, m: T, n: dim, k: n, beta: 1)
        }
        for t in 0..<T { Kernels.scale(out + t * ldo, 1 / sums[t], dim) }
    }
}
