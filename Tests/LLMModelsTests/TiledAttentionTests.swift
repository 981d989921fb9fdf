// Attention in key blocks with an online softmax against the textbook formula in Float64, across one
// and several blocks, causal and windowed, with a query tile that starts deep in the context.
import Foundation
import LLMModels
import LLMTensor
import XCTest

final class TiledAttentionTests: XCTestCase {
    /// softmax(q·kᵀ·scale) over the visible keys, times v, in Float64.
    func naive(_ q: [Float], _ k: [Float], _ v: [Float], queries T: Int, dim: Int, first: Int, window: Int, scale: Float) -> [Double] {
        var out = [Double](repeating: 0, count: T * dim)
        for t in 0..<T {
            let hi = first + t + 1, lo = window > 0 ? max(0, hi - window) : 0
            let s = (lo..<hi).map { j in (0..<dim).reduce(0.0) { $0 + Double(q[t * dim + $1]) * Double(k[j * dim + $1]) } * Double(scale) }
            let m = s.max()!
            let e = s.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
            for (i, j) in (lo..<hi).enumerated() {
                for d in 0..<dim { out[t * dim + d] += e[i] / z * Double(v[j * dim + d]) }
            }
        }
        return out
    }

    func testBlocksWithOnlineSoftmaxEqualTheTextbookFormula() {
        let dim = 20, scale: Float = 0.25   // 16 lanes and a tail
        var rng = SeededGenerator(seed: 7)
        let B = TiledAttention.keyBlock
        for (T, keys, window) in [(7, 40, 0), (7, B + 3, 0), (7, 3 * B + 100, 0), (7, 3 * B + 100, 700), (7, 2 * B, 5),
                                  (1, 1, 0), (1, 40, 0), (1, 2 * B + 1, 0), (1, 3 * B, 600)] {
            let first = keys - T   // the tile's last query sees every key
            let q = (0..<T * dim).map { _ in Float.random(in: -2...2, using: &rng) }
            let k = (0..<keys * dim).map { _ in Float.random(in: -2...2, using: &rng) }
            let v = (0..<keys * dim).map { _ in Float.random(in: -1...1, using: &rng) }
            var out = [Float](repeating: .nan, count: T * dim)
            var scratch = [Float](repeating: 0, count: TiledAttention.scratchFloats(queries: T))
            TiledAttention.run(q: q, ldq: dim, k: k, v: v, ldkv: dim, out: &out, ldo: dim, queries: T, dim: dim,
                               first: first, window: window, scale: scale, scratch: &scratch)
            let want = naive(q, k, v, queries: T, dim: dim, first: first, window: window, scale: scale)
            let worst = zip(out, want).map { abs(Double($0) - $1) }.max()!
            XCTAssertLessThan(worst, 2e-6, "\(T) queries, \(keys) keys, window \(window): worst error \(worst)")
        }
    }

    /// A decoding step's query heads that share keys and values (grouped-query attention) go through the
    /// keys once together and get what each gets alone, bit for bit: across key blocks and windows, and
    /// past the 16 heads the kernel keeps state for at once.
    func testHeadsSharingKeysEqualEachAloneBitForBit() {
        let dim = 64, scale: Float = 0.125
        var rng = SeededGenerator(seed: 11)
        let B = TiledAttention.keyBlock
        for (heads, keys, window) in [(3, 1, 0), (3, 40, 0), (4, 2 * B + 7, 0), (3, 3 * B, 600), (18, B + 1, 5)] {
            let q = (0..<heads * dim).map { _ in Float.random(in: -2...2, using: &rng) }
            let k = (0..<keys * dim).map { _ in Float.random(in: -2...2, using: &rng) }
            let v = (0..<keys * dim).map { _ in Float.random(in: -1...1, using: &rng) }
            var together = [Float](repeating: .nan, count: heads * dim), alone = together
            var scratch = [Float](repeating: 0, count: TiledAttention.scratchFloats(queries: 1))
            TiledAttention.decode(q: q, heads: heads, k: k, v: v, ldkv: dim, out: &together, dim: dim, position: keys - 1,
                                  window: window, scale: scale, scratch: &scratch)
            q.withUnsafeBufferPointer { qb in
                alone.withUnsafeMutableBufferPointer { ob in
                    for h in 0..<heads {
                        TiledAttention.run(q: qb.baseAddress! + h * dim, ldq: dim, k: k, v: v, ldkv: dim, out: ob.baseAddress! + h * dim,
                                           ldo: dim, queries: 1, dim: dim, first: keys - 1, window: window, scale: scale, scratch: &scratch)
                    }
                }
            }
            XCTAssertFalse(together.contains { $0.isNaN }, "\(heads) heads, \(keys) keys")
            XCTAssertEqual(together.map(\.bitPattern), alone.map(\.bitPattern), "\(heads) heads, \(keys) keys, window \(window)")
        }
    }
}
