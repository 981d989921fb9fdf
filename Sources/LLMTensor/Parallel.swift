// A fixed-width parallel-for over index ranges: the only threading primitive of the engine.
import Dispatch

/// How many threads kernels split their work across. Set once from `--threads`.
public struct ThreadPool: Sendable {
    public let threads: Int

    public init(threads: Int) {
        precondition(threads >= 1, "thread count is validated by the caller")
        self.threads = threads
    }

    /// Splits `0..<count` into at most `threads` contiguous chunks (each a multiple of `granularity`
    /// except the last) and runs `body` on each chunk concurrently.
    public func forEachChunk(_ count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let units = (count + granularity - 1) / granularity
        let chunks = min(threads, units)
        if chunks <= 1 {
            body(0..<count)
            return
        }
        let unitsPerChunk = (units + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            // Chunks touch disjoint outputs by contract, so sharing `body` across threads is safe.
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let lo = chunk * unitsPerChunk * granularity
                let hi = min(count, lo + unitsPerChunk * granularity)
                if lo < hi { body(lo..<hi) }
            }
        }
    }
}
