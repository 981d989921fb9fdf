// Weights interleaved across 16 rows for the f32 decoding products (the C kernels in
// Sources/CKernels/impl/interleaved.h): a vector lane is a row, so one decoded vector of quants meets one
// broadcast input value and a block's scale is applied once for 16 rows, where the row-wise kernels pay a
// scale multiply-add and a lane reduction for every row (Zen 5, one core: Q8_0 ~2.2×, Q4_1 ~2.1× the
// row-wise rate). Re-encoding is exact: every weight decodes to the f32 its stored block gives.
//
// A matrix is `groups` = ⌈rows / 16⌉ groups, each `cols / 32` blocks of `blockBytes`; rows past the end
// are zero. A block holds, for lanes (rows) l = 0 … 15:
//   q8   (Q8_0, Q5_0 as q − 16)  d[16] f16 | quants: column j at 32 + 16j, signed bytes
//   q4_0 (Q4_0)                  d[16] f16 | nibbles at 32: byte 16k + l = column k (low) | column k + 16 (high)
//   q4_1 (Q4_1)                  d[16] f16, m[16] f16 | nibbles at 64
//   q4_K (Q4_K sub-blocks)       d·sc[16] f32, −dmin·min[16] f32 | nibbles at 128
// Weight = q·d (q8), (q − 8)·d (q4_0), q·d + m (q4_1, q4_K).
import CKernels

public enum Interleave {
    public enum Format: Int32, Sendable, CaseIterable {
        case q8 = 0, q4_0 = 1, q4_1 = 2, q4_K = 3

        /// Bytes of one block of a group (16 rows × 32 weights).
        public var blockBytes: Int {
            switch self {
            case .q8: return 544
            case .q4_0: return 288
            case .q4_1: return 320
            case .q4_K: return 384
            }
        }

        /// Where the offsets (q4_1, q4_K) and the quants start in a block.
        var scaleBytes: Int { self == .q4_K ? 4 : 2 }
        var quantsAt: Int {
            switch self {
            case .q8, .q4_0: return 32
            case .q4_1: return 64
            case .q4_K: return 128
            }
        }

        /// Whether products need the per-32 sums of the input (offsets or Q4_0's bias).
        var needsBlockSums: Bool { self != .q8 }
    }

    public static let groupRows = 16

    /// The interleaved form of a stored type, where one exists.
    public static func format(for type: GGMLType) -> Format? {
        switch type {
        case .q8_0, .q5_0: return .q8
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q4_K: return .q4_K
        default: return nil
        }
    }

    public static func groups(rows: Int) -> Int { (rows + groupRows - 1) / groupRows }

    /// Bytes of a rows × cols matrix in `format` (cols a multiple of 32 and of the stored block size).
    public static func byteCount(_ format: Format, rows: Int, cols: Int) -> Int {
        groups(rows: rows) * cols / 32 * format.blockBytes
    }

    /// Re-encodes groups `groups` of the stored rows × cols matrix at `src` (`type`, rows contiguous)
    /// into `dst`, which holds the whole interleaved matrix.
    public static func convert(_ type: GGMLType, _ src: UnsafeRawPointer, rows: Int, cols: Int,
                               groups: Range<Int>, into dst: UnsafeMutableRawPointer) {
        guard let format = format(for: type), let rowBytes = type.byteCount(elements: cols), cols % 32 == 0 else {
            preconditionFailure("\(type) × \(cols) columns has no interleaved form")
        }
        let blocks = cols / 32
        for g in groups {
            for b in 0..<blocks {
                let out = dst + (g * blocks + b) * format.blockBytes
                out.initializeMemory(as: UInt8.self, repeating: 0, count: format.blockBytes)
                for l in 0..<groupRows where groupRows * g + l < rows {
                    let row = src + (groupRows * g + l) * rowBytes
                    let block = row + b * 32 / type.blockSize * type.blockBytes
                    put(type, format, block, subBlock: b % (type.blockSize / 32), lane: l, into: out)
                }
            }
        }
    }

    /// Lane l of a group block from the stored block holding its 32 weights (sub-block s of a K-quant).
    private static func put(_ type: GGMLType, _ format: Format, _ p: UnsafeRawPointer, subBlock s: Int, lane l: Int,
                            into out: UnsafeMutableRawPointer) {
        func copyHalf(_ from: Int, to field: Int) { (out + field * 32 + 2 * l).copyMemory(from: p + from, byteCount: 2) }
        func nibbles(_ quant: (Int) -> Int) {
            for k in 0..<16 { out.storeBytes(of: UInt8(quant(k) | quant(k + 16) << 4), toByteOffset: format.quantsAt + 16 * k + l, as: UInt8.self) }
        }
        switch type {
        case .q8_0, .q5_0:
            copyHalf(0, to: 0)
            for j in 0..<32 {
                let q = type == .q8_0 ? Int(p.load(fromByteOffset: 2 + j, as: Int8.self)) : Dequant.q5Quant(p, qh: 2, weight: j) - 16
                out.storeBytes(of: Int8(q), toByteOffset: 32 + 16 * j + l, as: Int8.self)
            }
        case .q4_0, .q4_1:
            copyHalf(0, to: 0)
            if type == .q4_1 { copyHalf(2, to: 1) }
            let qs = type == .q4_0 ? 2 : 4
            nibbles { j in Int(p.load(fromByteOffset: qs + j % 16, as: UInt8.self)) >> (j < 16 ? 0 : 4) & 0x0F }
        case .q4_K:
            // The reference's per-sub-block products d·sc and dmin·min (Dequant.refQ4_K), the min negated.
            let (sc, mn) = Dequant.scaleMinK4(s, p + 4)
            let d = Dequant.f16(p, 0) * Float(sc), m = -(Dequant.f16(p, 2) * Float(mn))
            out.storeBytes(of: d.bitPattern, toByteOffset: 4 * l, as: UInt32.self)
            out.storeBytes(of: m.bitPattern, toByteOffset: 64 + 4 * l, as: UInt32.self)
            nibbles { j in Int(p.load(fromByteOffset: 16 + 32 * (s / 2) + j, as: UInt8.self)) >> (4 * (s % 2)) & 0x0F }
        default:
            preconditionFailure("\(type) has no interleaved form")
        }
    }

    /// y[r] = row r · x for the rows × cols matrix in `format` at w, split over the pool's threads by groups.
    public static func gemv(_ format: Format, _ w: UnsafeRawPointer, rows: Int, cols: Int,
                            _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        QuantDot.withBlockSums(format.needsBlockSums, x, cols) { xs in
            pool.forEachChunk(groups(rows: rows), granularity: 1) { g in
                llmk_il_rows(format.rawValue, w, g.lowerBound, g.upperBound, cols, rows, x, xs, y)
            }
        }
    }

    /// Weight bytes a tile of groups spans: every input passes over a tile while it sits in L2.
    static let tileBytes = 128 << 10

    /// y[i·rows + r] = row r · x[i·cols ..<] for the m inputs in x (any m: decoding steps and prefill);
    /// every output equals `gemv`'s for that input bit for bit, so a batch of sequences decodes exactly
    /// as each would alone and a prompt's products do not depend on how it is chunked.
    public static func gemm(_ format: Format, _ w: UnsafeRawPointer, rows: Int, cols: Int,
                            _ x: UnsafePointer<Float>, m: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let tile = max(1, tileBytes / (cols / 32 * format.blockBytes))
        QuantDot.withTransposedBlockSums(format.needsBlockSums, x, m: m, cols: cols) { xs, xsStride in
            pool.forEachChunk(groups(rows: rows), granularity: 1) { g in
                for t in stride(from: g.lowerBound, to: g.upperBound, by: tile) {
                    llmk_il_rows_multi(format.rawValue, w, t, min(t + tile, g.upperBound), cols, rows, x, cols, xs, xsStride, y, rows, m)
                }
            }
        }
    }

    /// Quant, scale and offset of weight (r, c) of an interleaved matrix (offset nil for q8).
    static func parts(_ format: Format, _ w: UnsafeRawPointer, cols: Int, row r: Int, col c: Int) -> (q: Int, d: Float, m: Float?) {
        let l = r % groupRows, k = c % 32
        let p = w + ((r / groupRows) * (cols / 32) + c / 32) * format.blockBytes
        func lane(_ field: Int) -> Float {
            format == .q4_K ? Float(bitPattern: p.load(fromByteOffset: 64 * field + 4 * l, as: UInt32.self))
                            : Dequant.f16(p, 32 * field + 2 * l)
        }
        let q: Int
        if format == .q8 {
            q = Int(p.load(fromByteOffset: 32 + 16 * k + l, as: Int8.self))
        } else {
            q = Int(p.load(fromByteOffset: format.quantsAt + 16 * (k % 16) + l, as: UInt8.self)) >> (k < 16 ? 0 : 4) & 0x0F
        }
        let d = lane(0)
        switch format {
        case .q8: return (q, d, nil)
        case .q4_0: return (q, d, d * -8)
        case .q4_1, .q4_K: return (q, d, lane(1))
        }
    }

    /// Weight (r, c), decoded with the stored format's reference operations (the same f32).
    public static func weight(_ format: Format, _ w: UnsafeRawPointer, cols: Int, row r: Int, col c: Int) -> Float {
        let (q, d, m) = parts(format, w, cols: cols, row: r, col: c)
        switch format {
        case .q8: return Float(q) * d
        case .q4_0: return Float(q - 8) * d
        case .q4_1, .q4_K: return Float(q) * d + m!
        }
    }

    /// Scalar twin of the kernels: row r · x in exactly their order of operations (interleaved.h: four
    /// chains over the column pairs of each block, the block sum times d added with one FMA, offsets
    /// times Σx in a second sum). Equal bit for bit to every kernel set with fused multiply-adds.
    public static func dotReference(_ format: Format, _ w: UnsafeRawPointer, cols: Int, row r: Int, _ x: UnsafePointer<Float>) -> Float {
        var acc: Float = 0, off: Float = 0
        for b in 0..<cols / 32 {
            let xb = x + 32 * b
            func q(_ j: Int) -> Float { Float(parts(format, w, cols: cols, row: r, col: 32 * b + j).q) }
            var c = [Float](repeating: 0, count: 4)
            for k in 0..<16 {
                if k < 4 {
                    c[k] = (q(k) * xb[k]).addingProduct(q(k + 16), xb[k + 16])
                } else {
                    c[k & 3] = c[k & 3].addingProduct(q(k), xb[k]).addingProduct(q(k + 16), xb[k + 16])
                }
            }
            let (_, d, m) = parts(format, w, cols: cols, row: r, col: 32 * b)
            acc = acc.addingProduct((c[0] + c[1]) + (c[2] + c[3]), d)
            if let m { off = off.addingProduct(m, blockSum(xb)) }
        }
        return format == .q8 ? acc : acc + off
    }

    /// Σ of 32 values in the kernels' order (llmk_block_sums: lanes i and i + 16 first, then halves).
    static func blockSum(_ x: UnsafePointer<Float>) -> Float {
        let a = (0..<16).map { x[$0] + x[$0 + 16] }
        let b = (0..<8).map { a[$0] + a[$0 + 8] }
        let c = (0..<4).map { b[$0] + b[$0 + 4] }
        return (c[0] + c[2]) + (c[1] + c[3])
    }
}
