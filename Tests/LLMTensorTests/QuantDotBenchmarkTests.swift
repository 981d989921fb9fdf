// Hand-run micro-benchmark of the quantised GEMV (skipped unless LLM_DROP_BENCH=1):
//   LLM_DROP_BENCH=1 swift test -c release --filter QuantDotBenchmarkTests
// Prints weight throughput in GB/s per shape (weights resident in cache after the first run) and the
// GEMV time of one SmolLM2-135M decode step with every matrix in its own buffer (weights streamed
// from memory, as in real decoding).
import Foundation
import LLMTensor
import XCTest

final class QuantDotBenchmarkTests: XCTestCase {
    /// A rows × cols matrix of `type` filled with one random row (sane scales) repeated.
    func matrix(_ type: GGMLType, rows: Int, cols: Int) -> UnsafeMutableRawPointer {
        let w = UnsafeMutableRawPointer.allocate(byteCount: type.byteCount(elements: rows * cols)!, alignment: 64)
        let row = QuantTestData.randomRow(type, count: cols, seed: 5)
        for r in 0..<rows { (w + r * row.count).copyMemory(from: row, byteCount: row.count) }
        return w
    }

    func seconds(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    func median(_ reps: Int, _ body: () -> Void) -> Double {
        let times = (0..<reps).map { _ in seconds(body) }.sorted()
        return times[times.count / 2]
    }

    func testGemvThroughput() throws {
        guard ProcessInfo.processInfo.environment["LLM_DROP_BENCH"] == "1" else {
            throw XCTSkip("benchmark: set LLM_DROP_BENCH=1 to run")
        }
        let shapes: [(GGMLType, Int, Int, String)] = [
            (.q4_1, 1536, 576, "Q4_1 576→1536 (ffn_gate/up)"),
            (.q4_1, 576, 1536, "Q4_1 1536→576 (ffn_down)"),
            (.q8_0, 49152, 576, "Q8_0 49152×576 (output)"),
            (.q4_0, 1536, 576, "Q4_0 576→1536"),
            (.q5_0, 1536, 576, "Q5_0 576→1536"),
            (.q4_K, 1536, 1024, "Q4_K 1024→1536"),
            (.q6_K, 1536, 1024, "Q6_K 1024→1536"),
            (.f16, 1536, 576, "F16 576→1536"),
            (.f32, 1536, 576, "F32 576→1536"),
        ]
        let x = QuantTestData.randomVector(1536, seed: 6)
        var y = [Float](repeating: 0, count: 49152)
        for threads in [1, 2] {
            let pool = ThreadPool(threads: threads)
            for (type, rows, cols, name) in shapes {
                let w = matrix(type, rows: rows, cols: cols)
                defer { w.deallocate() }
                let s = median(rows * cols > 10_000_000 ? 20 : 300) {
                    y.withUnsafeMutableBufferPointer { QuantDot.gemv(type, w, rows: rows, cols: cols, x, $0.baseAddress!, pool: pool) }
                }
                let bytes = Double(type.byteCount(elements: rows * cols)!)
                print(String(format: "gemv %@, %d thread(s): %.1f µs, %.2f GB/s, %.2f Gweights/s",
                             name, threads, s * 1e6, bytes / s / 1e9, Double(rows * cols) / s / 1e9))
            }
        }

        // One SmolLM2-135M decode step: 30 layers of q, k, v, o, gate, up, down (Q4_1, [rows, cols])
        // and the tied output matrix (Q8_0), each in its own buffer (≈ 96 MB in all).
        let layer = [(576, 576), (192, 576), (192, 576), (576, 576), (1536, 576), (1536, 576), (576, 1536)]
        var mats: [(GGMLType, Int, Int, UnsafeMutableRawPointer)] = []
        for _ in 0..<30 { for (r, c) in layer { mats.append((.q4_1, r, c, matrix(.q4_1, rows: r, cols: c))) } }
        mats.append((.q8_0, 49152, 576, matrix(.q8_0, rows: 49152, cols: 576)))
        defer { for m in mats { m.3.deallocate() } }
        let bytes = mats.reduce(0.0) { $0 + Double($1.0.byteCount(elements: $1.1 * $1.2)!) }
        for threads in [1, 2] {
            let pool = ThreadPool(threads: threads)
            let s = median(15) {
                y.withUnsafeMutableBufferPointer { yb in
                    for (type, rows, cols, w) in mats { QuantDot.gemv(type, w, rows: rows, cols: cols, x, yb.baseAddress!, pool: pool) }
                }
            }
            print(String(format: "SmolLM2-135M GEMVs of one decode step, %d thread(s): %.2f ms (%.1f MB, %.2f GB/s) → at most %.0f tokens/s",
                         threads, s * 1e3, bytes / 1e6, bytes / s / 1e9, 1 / s))
        }
    }
}
