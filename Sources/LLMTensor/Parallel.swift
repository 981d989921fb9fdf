// A fixed-width parallel-for over index ranges: the only threading primitive of the engine.
//
// Decoding issues a few hundred small GEMVs per token, each a few tens of microseconds: waking a
// parked thread for each (as Dispatch does) costs about as much as the work. So the pool keeps its
// workers spinning briefly between jobs and parks them on a semaphore only after a quiet spell.
import CKernels
import Dispatch
import Foundation
import Synchronization

/// How many threads kernels split their work across. Set once from `--threads`.
public struct ThreadPool: Sendable {
    public let threads: Int
    private let workers: Workers?

    public init(threads: Int) throws(ShapeError) {
        guard threads >= 1 else { throw ShapeError("a thread pool needs at least 1 thread, not \(threads)") }
        self.threads = threads
        workers = threads > 1 ? Workers.shared(count: threads - 1) : nil
    }

    /// Splits `0..<count` into at most `threads` contiguous chunks (each a multiple of `granularity`
    /// except the last) and runs `body` on each chunk concurrently; the calling thread takes chunk 0.
    public func forEachChunk(_ count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        forEachChunk(count, granularity: granularity) { _, range in body(range) }
    }

    /// As `forEachChunk`, also handing each chunk its index (0 ..< threads, distinct within one call):
    /// the key to per-thread scratch space.
    public func forEachChunk(_ count: Int, granularity: Int = 1, indexed body: (Int, Range<Int>) -> Void) {
        guard count > 0 else { return }
        let units = (count + granularity - 1) / granularity
        let chunks = min(threads, units)
        guard chunks > 1, let workers else {
            body(0, 0..<count)
            return
        }
        let unitsPerChunk = (units + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            // Chunks touch disjoint outputs by contract, so sharing `body` across threads is safe.
            nonisolated(unsafe) let body = body
            workers.run(chunks: chunks) { chunk in
                let lo = chunk * unitsPerChunk * granularity
                let hi = min(count, lo + unitsPerChunk * granularity)
                if lo < hi { body(chunk, lo..<hi) }
            }
        }
    }
}

/// Persistent worker threads: worker i runs chunk i + 1 of each job. One set per worker count,
/// shared by every pool of that width. A job issued while another is running (from another thread,
/// or nested inside a chunk) runs all its chunks on the calling thread instead of waiting.
final class Workers: @unchecked Sendable {
    private let count: Int
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let slots: [Slot]
    private let issue = NSLock()
    private nonisolated(unsafe) var job: (Int) -> Void = { _ in }
    private nonisolated(unsafe) var jobChunks = 0
    /// How long an idle worker spins before it parks. A forward pass leaves the workers idle between its
    /// products (norms, RoPE, the cache update, sampling), and waking a parked thread costs tens of
    /// microseconds in a VM — as much as a decoding product — so the window spans those gaps.
    private static let spinNanoseconds: UInt64 = 2_000_000

    private static let registry = Mutex<[Int: Workers]>([:])

    static func shared(count: Int) -> Workers {
        registry.withLock { r in
            if let w = r[count] { return w }
            let w = Workers(count: count)
            r[count] = w
            return w
        }
    }

    private init(count: Int) {
        self.count = count
        slots = (0..<count).map { _ in Slot() }
        for i in 0..<count {
            let t = Thread { [unowned self] in self.loop(i) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    func run(chunks: Int, _ body: @escaping (Int) -> Void) {
        guard issue.try() else {
            for c in 0..<chunks { body(c) }
            return
        }
        defer { issue.unlock() }
        job = body
        jobChunks = chunks
        pending.store(count, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        for slot in slots where slot.sleeping.load(ordering: .sequentiallyConsistent) { slot.wake.signal() }
        body(0)
        while pending.load(ordering: .sequentiallyConsistent) > 0 { spinHint() }
        // Drop the job: callers pass non-escaping closures (withoutActuallyEscaping checks this).
        job = { _ in }
    }

    private func loop(_ i: Int) {
        var seen = 0
        while true {
            var spins = 0, spinStart: UInt64 = 0
            var g = generation.load(ordering: .sequentiallyConsistent)
            while g == seen {
                spins += 1
                spinHint()
                // The clock is read once every 256 spins (PAUSE takes ~10–150 cycles depending on the CPU).
                if spins & 255 == 0 {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if spinStart == 0 { spinStart = now }
                    if now - spinStart > Self.spinNanoseconds {
                        // Park; re-check after announcing it so a job issued meanwhile is not missed.
                        // (Store-then-load on both sides: only sequentially consistent ordering rules out
                        // both threads reading the old value.)
                        slots[i].sleeping.store(true, ordering: .sequentiallyConsistent)
                        if generation.load(ordering: .sequentiallyConsistent) == seen { slots[i].wake.wait() }
                        slots[i].sleeping.store(false, ordering: .sequentiallyConsistent)
                        spins = 0
                        spinStart = 0
                    }
                }
                g = generation.load(ordering: .sequentiallyConsistent)
            }
            seen = g
            if i + 1 < jobChunks { job(i + 1) }
            pending.subtract(1, ordering: .sequentiallyConsistent)
        }
    }
}

/// A worker's parking place.
private final class Slot: Sendable {
    let sleeping = Atomic<Bool>(false)
    let wake = DispatchSemaphore(value: 0)
}

/// One step of a busy wait: the CPU's spin-loop hint (x86 PAUSE, arm YIELD), which frees the core's
/// resources and saves power while the wait lasts.
@inline(__always)
private func spinHint() { llmk_spin_hint() }
