// Scoring within a memory budget (MemoryBudget, `--max-memory`): a pass split into many small forward calls,
// with each layer's weight pages released after use, gives the scores of one call over all rows; budgets are
// sized from the model's shapes, and one too small for a sample through one layer names the minimum.
import Foundation
import LLMDrop
import LLMFormats
import LLMModels
import LLMTensor
import TestSupport
import XCTest

final class MemoryBudgetTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Largest |a − b| over every score of two results.
    func maxDifference(_ a: SimilarityScores, _ b: SimilarityScores) -> Double {
        var worst = 0.0
        for (x, y) in [(a.attention, b.attention), (a.mlp, b.mlp), (a.block, b.block),
                       (a.attentionNoResidual, b.attentionNoResidual), (a.mlpNoResidual, b.mlpNoResidual)] {
            XCTAssertEqual(x.count, y.count)
            for (u, v) in zip(x, y) {
                XCTAssertEqual(u == nil, v == nil)
                if let u, let v { worst = max(worst, abs(u - v)) }
            }
        }
        return worst
    }

    func check(model path: String, samples: [[Int]], threads: Int = 2) throws {
        let set = CalibrationSet(samples: samples, source: "test", sampling: "blocks")
        let whole = try LanguageModel(path: path, options: LoadOptions(threads: threads))
        let streamed = try LanguageModel(path: path, options: LoadOptions(threads: threads, float32CacheBudget: 0, releaseLayerPages: true))
        XCTAssertTrue(streamed.releasesLayerPages)
        let rows = samples.map(\.count).reduce(0, +)
        let one = try RedundancyScorer(model: whole, rowsPerBatch: rows).score(set)
        var calls = 0
        let many = try RedundancyScorer(model: streamed, rowsPerBatch: samples[0].count).score(set) { _, _ in calls += 1 }
        XCTAssertEqual(calls, samples.count, "one forward call per sample")
        XCTAssertEqual(one.tokens, many.tokens)
        // Not bit-identical: BLAS may order a product's sums differently for another row count (OpenBLAS picks
        // kernels by matrix size), and the Float64 sums are grouped per call. Measured: 5.4e-9 on the tiny
        // model, 1.8e-15 on SmolLM2 (largest score difference); asserted within 1e-6.
        let difference = maxDifference(one, many)
        print("max score difference, one call vs \(samples.count) calls: \(difference)")
        XCTAssertLessThan(difference, 1e-6)
        // The same pass in the same chunks, releasing or not: resident weights multiply their interleaved
        // copy, released ones the stored blocks (SGEMM for prefill), the same weights in another summation
        // order.
        let manyResident = try RedundancyScorer(model: whole, rowsPerBatch: samples[0].count).score(set)
        XCTAssertLessThan(maxDifference(manyResident, many), 1e-6)
    }

    func testManySmallCallsWithReleasedPagesGiveTheScoresOfOneCall() throws {
        let path = dir.appendingPathComponent("tiny.gguf").path
        try SyntheticModel(shape: SyntheticShapes.named("tiny"), type: .q4_0, seed: 2).write(to: path)
        var g = SeededGenerator(seed: 9)
        let samples = (0..<12).map { _ in (0..<32).map { _ in Int(g.next(below: 320)) } }
        try check(model: path, samples: samples)
    }

    func testSmolLM2InManyChunks() throws {
        let path = try TestPaths.smollm2()
        let model = try LanguageModel(path: path, options: LoadOptions(threads: 2))
        let text = (0..<40).map { "Sentence \($0) of the calibration text, about layers, attention and memory." }.joined(separator: " ")
        let ids = model.tokenizer.encode(text, addSpecialTokens: false)
        let samples = (0..<8).map { Array(ids[($0 * 64)..<($0 * 64 + 64)]) }
        try check(model: path, samples: samples)
    }

    func testBudgetSizesRowsAndNamesTheMinimum() throws {
        let path = dir.appendingPathComponent("tiny.gguf").path
        try SyntheticModel(shape: SyntheticShapes.named("tiny"), type: .q8_0, seed: 2).write(to: path)
        let file = try GGUFFile(path: path)
        let config = try ModelConfig(source: file)
        // Generous: everything resident; rows fill the rest. Q8_0 weights are interleaved, which serves
        // prefill too: no f32 copy. F16 ones have no interleaved form and keep one.
        let big = try MemoryBudget(config: config, source: file, budget: 1 << 30, sequenceLength: 128)
        XCTAssertFalse(big.releaseLayerPages)
        XCTAssertEqual(big.float32CacheBudget, 0)
        let f16Path = dir.appendingPathComponent("tiny-f16.gguf").path
        try SyntheticModel(shape: SyntheticShapes.named("tiny"), type: .f16, seed: 2).write(to: f16Path)
        let f16File = try GGUFFile(path: f16Path)
        let f16 = try MemoryBudget(config: config, source: f16File, budget: 1 << 30, sequenceLength: 128)
        XCTAssertEqual(f16.float32CacheBudget, f16File.tensors.filter { $0.shape.count >= 2 }.reduce(0) { $0 + 4 * $1.elementCount })
        XCTAssertEqual(big.bytesPerRow, 4 * (3 * 64 + 2 * 64 + 2 * 32 + 2 * 128 + 16 + 64 + 3 * 64))
        XCTAssertEqual(big.rowsPerBatch, ((1 << 30) - big.fixedBytes) / big.bytesPerRow)
        // The process allowance alone exceeds a budget of 1 KiB: the error names the minimum.
        XCTAssertThrowsError(try MemoryBudget(config: config, source: file, budget: 1024, sequenceLength: 128)) { error in
            guard case MemoryBudgetError.tooSmall(1024, let minimum, 128) = error else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(minimum, MemoryBudget.processBytes)
            XCTAssertTrue("\(error)".contains("the minimum for this model is"), "\(error)")
            // The minimum itself is accepted, streaming the weights, one sample per call.
            let tight = try? MemoryBudget(config: config, source: file, budget: minimum, sequenceLength: 128)
            XCTAssertEqual(tight?.releaseLayerPages, true)
            XCTAssertEqual(tight?.rowsPerBatch, 128)
        }
        XCTAssertEqual(MemoryBudget.parseBytes("3G"), 3 << 30)
        XCTAssertEqual(MemoryBudget.parseBytes("512MiB"), 512 << 20)
        XCTAssertEqual(MemoryBudget.parseBytes("1.5g"), 3 << 29)
        XCTAssertEqual(MemoryBudget.parseBytes("4096"), 4096)
        XCTAssertNil(MemoryBudget.parseBytes("lots"))
        XCTAssertNil(MemoryBudget.parseBytes("3Q"))
    }

    /// A resident Gemma 3 keeps its matrices a second time, interleaved across 16 rows for the f32
    /// products (Q5_0 and Q8_0 as 34 bytes per 32 weights, Q4_K as 2368 per 4096, Q6_K as 274 per 256),
    /// beside the file's pages and the per-call allowance, with no f32 copy: the budget counts them.
    func testResidentBudgetCountsTheInterleavedCopies() throws {
        let file = try GGUFFile(path: TestPaths.gemma3())
        let config = try ModelConfig(source: file)
        let fit = try MemoryBudget(config: config, source: file, budget: 16 << 30, sequenceLength: 128)
        XCTAssertFalse(fit.releaseLayerPages)
        let matrices = file.tensors.filter { $0.shape.count >= 2 }
        func weights(_ types: Set<GGMLType>) -> Int { matrices.filter { types.contains($0.type) }.reduce(0) { $0 + $1.elementCount } }
        XCTAssertEqual(weights([.q5_0]), 63_406_080)   // 81 matrices
        XCTAssertEqual(weights([.q4_K]), 23_592_960)   // 27 matrices
        XCTAssertEqual(weights([.q6_K]), 11_796_480)   // 9 matrices
        let copies = weights([.q5_0, .q8_0]) / 32 * 34 + weights([.q4_K]) / 4096 * 2368 + weights([.q6_K]) / 256 * 274
        let perCall = 4 * 4 * 128 * 128 + MemoryBudget.processBytes   // one query tile's scores for 4 heads
        XCTAssertEqual(fit.fixedBytes, file.storageBytes + copies + perCall)
        XCTAssertEqual(fit.float32CacheBudget, 0)
    }

    /// Without --max-memory: 80 % of MemAvailable, or of physical memory where /proc/meminfo has none.
    func testDefaultBudgetIsEightyPercentOfAvailableMemory() {
        let meminfo = "MemTotal:       24576000 kB\nMemFree:         1000000 kB\nMemAvailable:   10000000 kB\nBuffers: 1 kB\n"
        let available = MemoryBudget.defaultBudget(meminfo: meminfo, physicalMemory: 24 << 30)
        XCTAssertEqual(available.bytes, 8_192_000_000)   // 10,000,000 KiB × 1024 × 0.8
        XCTAssertEqual(available.basis, "80% of the 9.54 GiB available")
        let physical = MemoryBudget.defaultBudget(meminfo: nil, physicalMemory: 10 << 30)
        XCTAssertEqual(physical.bytes, 8 << 30)
        XCTAssertEqual(physical.basis, "80% of 10.00 GiB of physical memory")
        XCTAssertEqual(MemoryBudget.defaultBudget(meminfo: "MemTotal: 5 kB\n", physicalMemory: 5 << 30).bytes, 4 << 30)
        XCTAssertGreaterThan(MemoryBudget.systemDefault.bytes, 0)
    }

    /// A 7B shape (metadata and tensor table only, no weights written): at 3 GiB the Q4_0 file does not fit
    /// beside the work, so its pages are streamed, and the 4096 rows of 32 × 128 tokens fit in one pass.
    func testSevenBillionAtThreeGiBStreamsTheWeights() throws {
        let m = try SyntheticModel(shape: SyntheticShapes.named("llama-2-7b"), type: .q4_0, seed: 1)
        let source = try TableOnlySource(m)
        let config = try ModelConfig(source: source)
        let fit = try MemoryBudget(config: config, source: source, budget: 3 << 30, sequenceLength: 128)
        XCTAssertTrue(fit.releaseLayerPages)
        XCTAssertEqual(fit.float32CacheBudget, 0)
        XCTAssertGreaterThanOrEqual(fit.rowsPerBatch, 4096)
        XCTAssertThrowsError(try MemoryBudget(config: config, source: source, budget: 512 << 20, sequenceLength: 128))
    }
}

/// A model source with a synthetic model's metadata and tensor table whose data is never read.
final class TableOnlySource: ModelSource, @unchecked Sendable {
    let path = "table-only"
    let metadataKeys: [String]
    let metadata: [String: GGUFValue]
    let tensors: [TensorInfo]
    let storageBytes: Int

    init(_ m: SyntheticModel) throws {
        let meta = m.metadata()
        metadataKeys = meta.map(\.0)
        metadata = Dictionary(uniqueKeysWithValues: meta)
        var offset = 0
        tensors = m.tensorPlan().map { t in
            let type = m.storedType(t.shape)
            let bytes = type.byteCount(elements: t.shape.reduce(1, *))!
            defer { offset += bytes }
            return TensorInfo(name: t.name, shape: t.shape, type: type, offset: offset, byteCount: bytes)
        }
        storageBytes = offset
    }

    func tensor(named name: String) -> TensorInfo? { tensors.first { $0.name == name } }
    func data(for info: TensorInfo) -> UnsafeRawPointer { preconditionFailure("no data") }
}
