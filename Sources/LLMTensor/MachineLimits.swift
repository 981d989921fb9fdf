// The two limits a benchmark compares the engine with, measured on the spot: how fast this machine
// reads a buffer of a given size (the memory level the weights of one decoded token live in) and how
// fast its BLAS multiplies f32 matrices of the model's shapes. Decode speed × bytes per token against
// the first, prefill FLOP/s against the second, show the distance to the limit.
import CKernels
import Foundation

public enum MachineLimits {
    /// GB/s reading `bytes` bytes, split over the pool's threads, the buffer read again and again for
    /// ≥ 0.1 s per repetition; the median of 5.
    public static func readBandwidth(bytes: Int, pool: ThreadPool) -> Double {
        let n = max(1024, bytes / 4)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: n)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: pool.threads)
        defer { sums.deallocate() }
        func pass() {
            let chunk = (n + pool.threads - 1) / pool.threads
            pool.forEachChunk(pool.threads) { range in
                for t in range {
                    let lo = t * chunk, hi = min(n, lo + chunk)
                    sums[t] = lo < hi ? llmk_read_sum(buffer + lo, hi - lo) : 0
                }
            }
        }
        pass()  // pages in, caches warm
        return median((0..<5).map { _ in
            var passes = 0
            let seconds = timed {
                let start = DispatchTime.now().uptimeNanoseconds
                repeat { pass(); passes += 1 } while DispatchTime.now().uptimeNanoseconds - start < 100_000_000
            }
            return Double(passes) * Double(n * 4) / seconds / 1e9
        })
    }

    /// GFLOP/s of y[m, n] = x[m, k]·w[n, k]ᵀ through BLAS with `threads` threads (2mnk FLOPs a call),
    /// repeated for ≥ 0.1 s; the median of 5.
    public static func sgemmRate(m: Int, n: Int, k: Int, threads: Int) -> Double {
        let x = [Float](repeating: 0.5, count: m * k), w = [Float](repeating: 0.25, count: n * k)
        var y = [Float](repeating: 0, count: m * n)
        BLAS.setThreads(threads)
        func call() { x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
            BLAS.linear(xp.baseAddress!, wp.baseAddress!, yp.baseAddress!, m: m, n: n, k: k)
        } } } }
        call()
        return median((0..<5).map { _ in
            var calls = 0
            let seconds = timed {
                let start = DispatchTime.now().uptimeNanoseconds
                repeat { call(); calls += 1 } while DispatchTime.now().uptimeNanoseconds - start < 100_000_000
            }
            return Double(calls) * 2 * Double(m) * Double(n) * Double(k) / seconds / 1e9
        })
    }

    static func timed(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
