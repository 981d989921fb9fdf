// How a batched job (scoring, dropping, perplexity, kld, eval) fits a memory budget: how many rows (tokens)
// go through the layers in one forward call, whether the weights may stay resident or each layer's pages
// are released after use, and whether prefill may keep an f32 copy of the weights. The estimate follows
// what a forward call allocates (Workspace) and touches:
//   per row      x, Norm(x), branch output [3D]; q and attention output [2·H·Dh]; k, v [2·G·Dh];
//                gate, up [2F]; RoPE cos/sin [variants · rope dims]; the returned hidden state [D];
//                what the job keeps beside the call (scoring's observer: the block input, residual and
//                normed input [3D]; kld: the original's final hidden state [D])
//   per call     attention scores of one query tile for every head [H · min(T, 128) · T]; the weight
//                scratch a matrix is dequantised into (the largest one computed without an interleaved
//                copy; the head's too with logits) unless an f32 copy is kept; logits of one chunk [64 · V]
//   weights      the whole file once its pages have been read, with the faster exact re-encodings resident
//                models decode from (f32 activations: `Interleave`), or — releasing pages — the layer in use
//                and the one read ahead
//   process      a fixed allowance for the binary, BLAS's buffers and the tokenizer (`processBytes`)
// all in f32 (4 bytes).
import Foundation
import LLMFormats
import LLMTensor

public enum MemoryBudgetError: Error, Equatable, CustomStringConvertible {
    case tooSmall(budget: Int, minimum: Int, rowsOfOneSample: Int)

    public var description: String {
        switch self {
        case .tooSmall(let budget, let minimum, let rows):
            return "a memory budget of \(MemoryBudget.format(budget)) cannot hold one sample of \(rows) tokens through one layer; the minimum for this model is \(MemoryBudget.format(minimum)) (\(minimum) bytes): pass --max-memory \(MemoryBudget.format(minimum, roundUp: true)) or more, or a shorter --seq-len"
        }
    }
}

public struct MemoryBudget: Sendable, Equatable {
    /// The budget in bytes.
    public let budget: Int
    /// Rows (tokens) per forward call: at least one sequence.
    public let rowsPerBatch: Int
    /// The weights do not fit beside the work: each layer's pages are released after use.
    public let releaseLayerPages: Bool
    /// For LoadOptions: the f32 copy of the weights is kept only when it fits too.
    public let float32CacheBudget: Int
    /// Bytes each row of a call needs.
    public let bytesPerRow: Int
    /// Bytes a call needs whatever its rows (weights resident, scratch, tiles, process).
    public let fixedBytes: Int

    /// Allowance for the process itself: the binary and its libraries, BLAS's per-thread buffers, the tokenizer.
    public static let processBytes = 256 << 20

    /// The plan for `sequenceLength`-token sequences of a model (`source`, `config`) within `budget` bytes.
    /// `logits`: the calls compute logits (perplexity) rather than only hidden states; `observerRowCopies`:
    /// hidden-size rows the job keeps beside a call per row (scoring's observer: 3; kld: 1).
    public init(config c: ModelConfig, source: any ModelSource, budget: Int, sequenceLength T: Int,
                logits: Bool = false, observerRowCopies: Int = 3) throws {
        let f = MemoryLayout<Float>.size
        let D = c.hiddenSize, V = c.vocabularySize
        let Q = (c.heads.max() ?? 0) * c.headDim, K = (c.kvHeads.max() ?? 0) * c.headDim, F = c.ffnLength.max() ?? 0
        let ropeVariants = Set(zip(c.rope.base, c.rope.linearFactor).map { "\($0) \($1)" }).count
        bytesPerRow = f * (3 * D + 2 * Q + 2 * K + 2 * F + ropeVariants * c.rope.dimensions + D + observerRowCopies * D)

        // Matrices: per layer (stored bytes, largest f32 size), the head, the copies resident models decode
        // from, and the f32 copy of the rest (interleaved matrices serve prefill too, so need neither).
        var layerBytes = Array(repeating: 0, count: c.layerCount)
        var largest = 0, largestPlain = 0, head = 0, headPlain = 0, float32Copy = 0, repacked = 0
        for t in source.tensors where t.shape.count >= 2 && t.shape[0] > 0 {
            let cols = t.shape[0], rows = t.elementCount / cols
            let plain = WeightMatrix.interleavedFormat(t.type, cols: cols) == nil
            if t.type != .f32 && plain { float32Copy += t.elementCount * f }
            repacked += WeightMatrix.productCopyBytes(t.type, rows: rows, cols: cols, activations: .float32)
            if let (l, _, _) = TensorRole.layerTensor(t.name), l < c.layerCount {
                layerBytes[l] += t.byteCount
                largest = max(largest, t.elementCount * f)
                if plain { largestPlain = max(largestPlain, t.elementCount * f) }
            } else if t.name == TensorRole.output.ggufName || (c.tiedEmbeddings && t.name == TensorRole.tokenEmbedding.ggufName) {
                head = t.elementCount * f
                headPlain = plain ? head : 0
            }
        }
        // Scratch for one matrix's f32 weights: any matrix when streaming, only plain ones when resident.
        let scratch = max(largest, logits ? head : 0), residentScratch = max(largestPlain, logits ? headPlain : 0)
        let perCall = f * (c.heads.max() ?? 0) * min(T, 128) * T + (logits ? f * 64 * V : 0) + Self.processBytes
        let streamed = 2 * (layerBytes.max() ?? 0)        // the layer in use and the next, read ahead
        let oneSample = bytesPerRow * T

        // Resident weights when everything fits (with an f32 copy if that fits too), else released pages.
        let resident = source.storageBytes + repacked + perCall
        // The f32 copy also stays within the load default (a quarter of physical memory, 8 GiB at most): it
        // only speeds prefill up, and a large budget is no reason to spend most of it on a second copy.
        if float32Copy <= LoadOptions.defaultFloat32CacheBudget && resident + float32Copy + oneSample <= budget {
            (releaseLayerPages, float32CacheBudget, fixedBytes) = (false, float32Copy, resident + float32Copy)
        } else if resident + residentScratch + oneSample <= budget {
            (releaseLayerPages, float32CacheBudget, fixedBytes) = (false, 0, resident + residentScratch)
        } else {
            (releaseLayerPages, float32CacheBudget, fixedBytes) = (true, 0, streamed + scratch + perCall)
        }
        guard fixedBytes + oneSample <= budget else {
            throw MemoryBudgetError.tooSmall(budget: budget, minimum: streamed + scratch + perCall + oneSample, rowsOfOneSample: T)
        }
        self.budget = budget
        rowsPerBatch = max(T, (budget - fixedBytes) / bytesPerRow)
    }

    /// The budget of a job that names none: 80 % of the memory available when it starts — Linux's
    /// MemAvailable (free memory plus the page cache the kernel can reclaim without swapping), or physical
    /// memory where the system does not report it. Not all of it: the estimate leaves out allocator slack
    /// and the page cache of weights read ahead, and other programs keep running; a budget of everything
    /// would let a model too big for the machine push them (and itself) into swap instead of streaming.
    public static var systemDefault: (bytes: Int, basis: String) {
        defaultBudget(meminfo: try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
                      physicalMemory: ProcessInfo.processInfo.physicalMemory)
    }

    /// `systemDefault` from the text of /proc/meminfo (nil where there is none) and the physical memory.
    public static func defaultBudget(meminfo: String?, physicalMemory: UInt64) -> (bytes: Int, basis: String) {
        // "MemAvailable:   12345678 kB"
        let available = meminfo?.split(separator: "\n").first { $0.hasPrefix("MemAvailable:") }
            .flatMap { line in line.split(separator: " ").dropFirst().first.flatMap { Int($0) } }
        if let kib = available { return (kib * 1024 / 5 * 4, "80% of the \(format(kib * 1024)) available") }
        return (Int(min(physicalMemory, UInt64(Int.max))) / 5 * 4, "80% of \(format(Int(min(physicalMemory, UInt64(Int.max))))) of physical memory")
    }

    /// What the budget leaves beside a pass over `rows` rows in calls of at most `rowsPerBatch`: room for
    /// what a job may keep between passes (the layer inputs iterative dropping restarts from).
    public func spareBytes(rows: Int) -> Int {
        max(0, budget - fixedBytes - min(rows, rowsPerBatch) * bytesPerRow)
    }

    /// Bytes as "3.00 GiB"; `roundUp` gives a value to pass back as an option ("3G", "513M").
    public static func format(_ n: Int, roundUp: Bool = false) -> String {
        if roundUp {
            let mib = (n + (1 << 20) - 1) >> 20
            return mib % 1024 == 0 ? "\(mib / 1024)G" : "\(mib)M"
        }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.2f %@", v, units[u])
    }

    /// Parses a byte count: digits with an optional suffix K, M, G, T (powers of 1024; also KB/KiB, …).
    public static func parseBytes(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let digits = t.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let value = Double(digits), value >= 0 else { return nil }
        let shifts: [String: Int] = ["": 0, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20,
                                     "G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40, "TIB": 40]
        guard let shift = shifts[String(t.dropFirst(digits.count))] else { return nil }
        let bytes = value * Double(1 << shift)
        guard bytes < Double(Int.max / 2) else { return nil }
        return Int(bytes)
    }
}
