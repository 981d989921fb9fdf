// A weight matrix [rows = output features, cols = input features] kept in its stored type inside the
// memory map. Resident models with f32 activations multiply an exact re-encoding interleaved across 16 rows
// (`Interleave`) for every input count, decoding and prefill alike: each decoded column serves 4 inputs at
// once, which on Zen 5 runs 1.6× the SGEMM of the f32 weights at prefill shapes and needs no f32 copy.
// Otherwise, decoding (up to 16 rows of input) multiplies the stored bytes (or Q5_0 as Q8_0, `Repack`, with
// 8-bit activations) with fused dequantisation, and prefill dequantises to f32 — once, cached, when the
// model's f32 copy fits the cache budget, otherwise into a per-call scratch buffer — and multiplies with
// BLAS SGEMM.
import LLMFormats
import LLMTensor

public final class WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    let data: UnsafeRawPointer
    let rowBytes: Int
    /// Dequantised copy, filled by `cacheFloat32` (or the stored data itself for F32 tensors).
    private(set) var float32: UnsafePointer<Float>?
    private var owned: UnsafeMutablePointer<Float>?
    /// The `prepareProducts` copies, where one is kept.
    private var repacked: (type: GGMLType, data: UnsafeMutableRawPointer)?
    private var interleaved: (format: Interleave.Format, data: UnsafeMutableRawPointer)?
    /// The bytes the quantised products read: the repacked copy, or the stored ones.
    private var product: (type: GGMLType, data: UnsafeRawPointer) {
        repacked.map { ($0.type, UnsafeRawPointer($0.data)) } ?? (type, data)
    }

    /// Inputs with at most this many rows multiply the stored bytes directly (each block decoded once
    /// for four rows) instead of SGEMM on f32 weights: decoding steps of up to this many sequences,
    /// where SGEMM would stream (and pack) all the f32 weights for a few rows.
    static let quantizedMaxRows = 16

    init(name: String, type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer) {
        self.name = name
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.rowBytes = type.byteCount(elements: cols)!
        if type == .f32 { float32 = data.assumingMemoryBound(to: Float.self) }
    }

    deinit {
        owned?.deallocate()
        repacked?.data.deallocate()
        interleaved?.data.deallocate()
    }

    /// Bytes the quantised products read.
    var productBytes: Int {
        if let (format, _) = interleaved { return Interleave.byteCount(format, rows: rows, cols: cols) }
        return rows * product.type.byteCount(elements: cols)!
    }

    /// Every f32 product reads the interleaved copy (decoding and prefill), not the stored bytes.
    var isInterleaved: Bool { interleaved != nil }

    /// The interleaved form the f32 products of a `type` matrix with `cols` columns decode from, where one exists.
    static func interleavedFormat(_ type: GGMLType, cols: Int) -> Interleave.Format? {
        Interleave.format(for: type).flatMap { cols % $0.unitColumns == 0 ? $0 : nil }
    }

    /// Bytes of the copy a resident matrix decodes from with `activations` (0 where it keeps none).
    static func productCopyBytes(_ type: GGMLType, rows: Int, cols: Int, activations: ActivationPrecision) -> Int {
        if activations == .float32, let format = interleavedFormat(type, cols: cols) {
            return Interleave.byteCount(format, rows: rows, cols: cols)
        }
        return Repack.target(for: type).map { rows * $0.byteCount(elements: cols)! } ?? 0
    }

    /// Keeps the stored blocks re-encoded for the products with `activations`, for the life of the model
    /// (same weights bit for bit): interleaved, which serves decoding and prefill, or row by row (`Repack`),
    /// which serves decoding. Row lookups, and prefill's f32 weights where used, still decode the stored bytes.
    func prepareProducts(for activations: ActivationPrecision, pool: ThreadPool) {
        guard repacked == nil, interleaved == nil else { return }
        if activations == .float32, let format = Self.interleavedFormat(type, cols: cols) {
            let buf = UnsafeMutableRawPointer.allocate(byteCount: Interleave.byteCount(format, rows: rows, cols: cols), alignment: 64)
            pool.forEachChunk(Interleave.groups(rows: rows), granularity: 4) { groups in
                Interleave.convert(type, data, rows: rows, cols: cols, groups: groups, into: buf)
            }
            interleaved = (format, buf)
        } else if let target = Repack.target(for: type) {
            let targetRowBytes = target.byteCount(elements: cols)!, blocks = cols / type.blockSize
            let buf = UnsafeMutableRawPointer.allocate(byteCount: rows * targetRowBytes, alignment: 64)
            pool.forEachChunk(rows, granularity: 64) { range in
                for r in range { Repack.convert(type, data + r * rowBytes, into: buf + r * targetRowBytes, blocks: blocks) }
            }
            repacked = (target, buf)
        }
    }

    var float32Bytes: Int { type == .f32 ? 0 : rows * cols * MemoryLayout<Float>.size }

    /// Keeps a dequantised f32 copy for the life of the model (prefill then skips dequantisation).
    func cacheFloat32(pool: ThreadPool) {
        guard float32 == nil else { return }
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
        dequantizeRows(0..<rows, into: buf, pool: pool)
        owned = buf
        float32 = UnsafePointer(buf)
    }

    /// Dequantises `rows` into `dst` (row r lands at dst + (r - rows.lowerBound) * cols).
    func dequantizeRows(_ range: Range<Int>, into dst: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        pool.forEachChunk(range.count, granularity: 16) { chunk in
            for i in chunk {
                let r = range.lowerBound + i
                Dequant.dequantize(type, data + r * rowBytes, dst + i * cols, count: cols)
            }
        }
    }

    /// Advises the kernel about the stored bytes' pages (read ahead, or release after use); nothing
    /// happens unless they lie in a file mapping.
    func advise(_ advice: PageAdvice) {
        MappedFile.advise(data, count: rows * rowBytes, advice)
    }

    /// One row, dequantised (embedding lookup).
    func row(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        Dequant.dequantize(type, data + r * rowBytes, dst, count: cols)
    }

    /// The opt-in 8-bit-activation product applies (for every m): activations asked for it and the
    /// stored type has a kernel. Such a matrix needs no f32 copy or scratch.
    func usesInt8(_ activations: ActivationPrecision) -> Bool {
        activations == .int8 && QuantDot.supportsInt8(product.type) && cols % 32 == 0
    }

    /// y[m, rows] = x[m, cols] · Wᵀ. `scratch` must hold rows × cols floats when the matrix has neither an
    /// interleaved nor an f32 copy (and does not use 8-bit activations).
    func apply(_ x: UnsafePointer<Float>, m: Int, _ y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>?,
               pool: ThreadPool, activations: ActivationPrecision) {
        if usesInt8(activations) {
            QuantDot.gemmInt8(product.type, product.data, rows: rows, cols: cols, x, m: m, y, pool: pool)
            return
        }
        if let (format, w) = interleaved {
            if m == 1 {
                Interleave.gemv(format, w, rows: rows, cols: cols, x, y, pool: pool)
            } else {
                Interleave.gemm(format, w, rows: rows, cols: cols, x, m: m, y, pool: pool)
            }
            return
        }
        if m == 1 {
            QuantDot.gemv(product.type, product.data, rows: rows, cols: cols, x, y, pool: pool)
            return
        }
        if m <= Self.quantizedMaxRows {
            QuantDot.gemm(product.type, product.data, rows: rows, cols: cols, x, m: m, y, pool: pool)
            return
        }
        let w: UnsafePointer<Float>
        if let f = float32 {
            w = f
        } else {
            guard let scratch else { preconditionFailure("scratch buffer required for \(name)") }
            dequantizeRows(0..<rows, into: scratch, pool: pool)
            w = UnsafePointer(scratch)
        }
        // Each thread multiplies every input with its share of the weight rows (single-threaded BLAS;
        // see LanguageModel.exclusively).
        pool.forEachChunk(rows, granularity: 16) { r in
            BLAS.linear(x, w + r.lowerBound * cols, y + r.lowerBound, m: m, n: r.count, k: cols, ldy: rows)
        }
    }
}
