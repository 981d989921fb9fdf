// Hand-run micro-benchmark of the quantised GEMV (skipped unless LLM_DROP_BENCH=1):
//   LLM_DROP_BENCH=1 swift test -c release --filter QuantDotBenchmarkTests
// Prints weight-streaming throughput in GB/s and the GEMV time of one SmolLM2-135M decode step.
import Foundation
import LLMTensor
import XCTest

final class QuantDotBenchmarkTests: XCTestCase {
    /// Median seconds per gemv over `reps` runs.
    func time(_ type: GGMLType, rows: Int, cols: Int, threads: Int, reps: Int) -> Double {
        let bytes = type.byteCount(elements: rows * cols)!
        let w = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { w.deallocate() }
        let row = QuantTestData.randomRow(type, count: cols, seed: 5)
        for r in 0..<rows { (w + r * row.count).copyMemory(from: row, byteCount: row.count) }
        let x = QuantTestData.randomVector(cols, seed: 6)
        var y = [Float](repeating: 0, count: rows)
        let pool = ThreadPool(threads: threads)
        var times: [Double] = []
        y.withUnsafeMutableBufferPointer { yb in
            for _ in 0..<reps {
                let t0 = DispatchTime.now().uptimeNanoseconds
                QuantDot.gemv(type, w, rows: rows, cols: cols, x, yb.baseAddress!, pool: pool)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
            }
        }
        return times.sorted()[times.count / 2]
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
        for threads in [1, 2] {
            for (type, rows, cols, name) in shapes {
                let reps = rows * cols > 10_000_000 ? 30 : 300
                let s = time(type, rows: rows, cols: cols, threads: threads, reps: reps)
                let gb = Double(type.byteCount(elements: rows * cols)!) / 1e9
                print(String(format: "gemv %@, %d thread(s): %.1f µs, %.2f GB/s, %.2f Gweights/s",
                             name, threads, s * 1e6, gb / s, Double(rows * cols) / s / 1e9))
            }
            // One SmolLM2-135M decode step: 30 layers of q, k, v, o, gate, up, down (Q4_1) + output (Q8_0).
            let layer = [(576, 576), (192, 576), (192, 576), (576, 576), (1536, 576), (1536, 576), (576, 1536)]
            var step = 30 * layer.reduce(0.0) { $0 + time(.q4_1, rows: $1.0, cols: $1.1, threads: threads, reps: 200) }
            step += time(.q8_0, rows: 49152, cols: 576, threads: threads, reps: 30)
            print(String(format: "SmolLM2-135M GEMVs per token, %d thread(s): %.2f ms → at most %.0f tokens/s",
                         threads, step * 1e3, 1 / step))
        }
    }
}
