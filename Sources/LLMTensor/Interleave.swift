// Weights interleaved across 16 rows for the f32 decoding products (the C kernels in
// Sources/CKernels/impl/interleaved.h): a vector lane is a row, so one decoded vector of quants meets one
// broadcast input value and a block's scale is applied once for 16 rows, where the row-wise kernels pay a
// scale multiply-add and a lane reduction for every row (Zen 5, one core: Q8_0 ~2.2×, Q4_1 ~2.1× the
// row-wise rate). Re-encoding is exact: every weight decodes to the f32 its stored block gives.
//
// A matrix is `groups` = ⌈rows / 16⌉ groups, each `cols / unitColumns` units of `unitBytes`; rows past the
// end are zero. A unit holds, for lanes (rows) l = 0 … 15 (f16 and f32 little-endian, fields lane-major):
//   q8   (Q8_0, Q5_0 as q − 16)  32 columns: d[16] f16 | quants: column k at 32 + 16k, signed bytes
//   q4_0 (Q4_0)                  32 columns: d[16] f16 | nibbles at 32: byte 16k + l = column k (low) | k + 16 (high)
//   q4_1 (Q4_1)                  32 columns: d[16] f16, m[16] f16 | nibbles at 64
//   q4_K (Q4_K)                  256 columns: d[16], dmin[16] f16 | sc[8][16] u8 at 64, mn[8][16] u8 at 192 |
//                                block j's nibbles at 320 + 256j
//   q6_K (Q6_K, q − 32)          256 columns: d[16] f16 | sc[16][16] i8 at 32 (one per 16 columns) |
//                                block j's quants at 288 + 512j, signed bytes as q8's
//   q5_K (Q5_K)                  as q4_K, with block j's quants at 320 + 512j, bytes as q8's
// Weight = q·d (q8), (q − 8)·d (q4_0), q·d + m (q4_1), q·(d·sc) − dmin·mn (q4_K, q5_K), (q − 32)·(d·sc) (q6_K): the
// stored format's reference operations, so every weight is the f32 its stored block gives. K-quants keep
// their sub-block scales as the stored integers (Q4_K 4.625 bits a weight, 4.5 in the file; f32
// sub-block scales would make it 6); Q5_K's and Q6_K's quants become bytes, 8.625 and 8.5625 bits (5.5 and
// 6.5625 in the file), which decode at twice the rate of the packed bits.
import CKernels

public enum Interleave {
    public enum Format: Int32, Sendable, CaseIterable {
        case q8 = 0, q4_0 = 1, q4_1 = 2, q4_K = 3, q6_K = 4, q5_K = 5

        /// Columns of one unit: a block of 32, or a K-quant super-block of 256.
        public var unitColumns: Int { self == .q4_K || self == .q5_K || self == .q6_K ? 256 : 32 }

        /// Bytes of one unit of a group (16 rows × `unitColumns`).
        public var unitBytes: Int {
            switch self {
            case .q8: return 544
            case .q4_0: return 288
            case .q4_1: return 320
            case .q4_K: return 2368
            case .q6_K: return 4384
            case .q5_K: return 4416
            }
        }

        /// Where block j's quants start in a unit.
        func quantsAt(block j: Int) -> Int {
            switch self {
            case .q8, .q4_0: return 32
            case .q4_1: return 64
            case .q4_K: return 320 + 256 * j
            case .q6_K: return 288 + 512 * j
            case .q5_K: return 320 + 512 * j
            }
        }

        /// Whether products need the per-32 sums of the input (offsets or Q4_0's bias).
        var needsBlockSums: Bool { self != .q8 && self != .q6_K }
    }

    public static let groupRows = 16

    /// The interleaved form of a stored type, where one exists.
    public static func format(for type: GGMLType) -> Format? {
        switch type {
        case .q8_0, .q5_0: return .q8
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q4_K: return .q4_K
        case .q5_K: return .q5_K
        case .q6_K: return .q6_K
        default: return nil
        }
    }

    public static func groups(rows: Int) -> Int { (rows + groupRows - 1) / groupRows }

    /// Bytes of a rows × cols matrix in `format` (cols a multiple of the format's unit and of the stored block size).
    public static func byteCount(_ format: Format, rows: Int, cols: Int) -> Int {
        groups(rows: rows) * cols / format.unitColumns * format.unitBytes
    }

    /// Re-encodes groups `groups` of the stored rows × cols matrix at `src` (`type`, rows contiguous)
    /// into `dst`, which holds the whole interleaved matrix.
    public static func convert(_ type: GGMLType, _ src: UnsafeRawPointer, rows: Int, cols: Int,
                               groups: Range<Int>, into dst: UnsafeMutableRawPointer) {
        guard let format = format(for: type), let rowBytes = type.byteCount(elements: cols), cols % format.unitColumns == 0 else {
            preconditionFailure("\(type) × \(cols) columns has no interleaved form")
        }
        let units = cols / format.unitColumns, storedPerUnit = format.unitColumns / type.blockSize
        for g in groups {
            for u in 0..<units {
                let out = dst + (g * units + u) * format.unitBytes
                out.initializeMemory(as: UInt8.self, repeating: 0, count: format.unitBytes)
                for l in 0..<groupRows where groupRows * g + l < rows {
                    let row = src + (groupRows * g + l) * rowBytes
                    put(type, format, row + u * storedPerUnit * type.blockBytes, lane: l, into: out)
                }
            }
        }
    }

    /// Lane l of a unit from the stored block holding its weights.
    private static func put(_ type: GGMLType, _ format: Format, _ p: UnsafeRawPointer, lane l: Int,
                            into out: UnsafeMutableRawPointer) {
        func copyHalf(_ from: Int, to field: Int) { (out + field * 32 + 2 * l).copyMemory(from: p + from, byteCount: 2) }
        func byte(_ value: Int, at offset: Int) { out.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: offset, as: UInt8.self) }
        /// Block j's nibbles, quant(k) for its columns k = 0 … 31.
        func nibbles(block j: Int, _ quant: (Int) -> Int) {
            for k in 0..<16 { byte(quant(k) & 0x0F | (quant(k + 16) & 0x0F) << 4, at: format.quantsAt(block: j) + 16 * k + l) }
        }
        switch type {
        case .q8_0, .q5_0:
            copyHalf(0, to: 0)
            for j in 0..<32 {
                let q = type == .q8_0 ? Int(p.load(fromByteOffset: 2 + j, as: Int8.self)) : Dequant.q5Quant(p, qh: 2, weight: j) - 16
                byte(q, at: 32 + 16 * j + l)
            }
        case .q4_0, .q4_1:
            copyHalf(0, to: 0)
            if type == .q4_1 { copyHalf(2, to: 1) }
            let qs = type == .q4_0 ? 2 : 4
            nibbles(block: 0) { j in Int(p.load(fromByteOffset: qs + j % 16, as: UInt8.self)) >> (j < 16 ? 0 : 4) }
        case .q4_K, .q5_K:
            copyHalf(0, to: 0)
            copyHalf(2, to: 1)
            for s in 0..<8 {
                let (sc, mn) = Dequant.scaleMinK4(s, p + 4)
                byte(Int(sc), at: 64 + 16 * s + l)
                byte(Int(mn), at: 192 + 16 * s + l)
                if type == .q4_K {
                    nibbles(block: s) { j in Int(p.load(fromByteOffset: 16 + 32 * (s / 2) + j, as: UInt8.self)) >> (4 * (s % 2)) }
                } else {
                    for k in 0..<32 { byte(Dequant.q5KQuant(p, weight: 32 * s + k), at: format.quantsAt(block: s) + 16 * k + l) }
                }
            }
        case .q6_K:
            copyHalf(208, to: 0)
            for g in 0..<16 { byte(Int(p.load(fromByteOffset: 192 + g, as: Int8.self)), at: 32 + 16 * g + l) }
            for c in 0..<256 { byte(Dequant.q6Quant(p, weight: c) - 32, at: format.quantsAt(block: c / 32) + 16 * (c % 32) + l) }
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
        let tile = max(1, tileBytes / byteCount(format, rows: groupRows, cols: cols))
        QuantDot.withTransposedBlockSums(format.needsBlockSums, x, m: m, cols: cols) { xs, xsStride in
            pool.forEachChunk(groups(rows: rows), granularity: 1) { g in
                for t in stride(from: g.lowerBound, to: g.upperBound, by: tile) {
                    llmk_il_rows_multi(format.rawValue, w, t, min(t + tile, g.upperBound), cols, rows, x, cols, xs, xsStride, y, rows, m)
                }
            }
        }
    }

    /// Quant, scale and offset of weight (r, c) of an interleaved matrix (offset nil for q8 and q6_K).
    static func parts(_ format: Format, _ w: UnsafeRawPointer, cols: Int, row r: Int, col c: Int) -> (q: Int, d: Float, m: Float?) {
        let l = r % groupRows, j = c % format.unitColumns / 32, k = c % 32
        let p = w + ((r / groupRows) * (cols / format.unitColumns) + c / format.unitColumns) * format.unitBytes
        func half(_ field: Int) -> Float { Dequant.f16(p, 32 * field + 2 * l) }
        func byte(_ at: Int) -> Int { Int(p.load(fromByteOffset: at + l, as: UInt8.self)) }
        let nibble = byte(format.quantsAt(block: j) + 16 * (k % 16)) >> (k < 16 ? 0 : 4) & 0x0F
        switch format {
        case .q8: return (Int(p.load(fromByteOffset: 32 + 16 * k + l, as: Int8.self)), half(0), nil)
        case .q4_0: return (nibble, half(0), half(0) * -8)
        case .q4_1: return (nibble, half(0), half(1))
        case .q4_K: return (nibble, half(0) * Float(byte(64 + 16 * j)), -(half(1) * Float(byte(192 + 16 * j))))
        case .q5_K: return (byte(format.quantsAt(block: j) + 16 * k), half(0) * Float(byte(64 + 16 * j)), -(half(1) * Float(byte(192 + 16 * j))))
        case .q6_K:
            let sc = Int(p.load(fromByteOffset: 32 + 16 * (2 * j + k / 16) + l, as: Int8.self))
            return (Int(p.load(fromByteOffset: format.quantsAt(block: j) + 16 * k + l, as: Int8.self)), half(0) * Float(sc), nil)
        }
    }

    /// Weight (r, c), decoded with the stored format's reference operations (the same f32).
    public static func weight(_ format: Format, _ w: UnsafeRawPointer, cols: Int, row r: Int, col c: Int) -> Float {
        let (q, d, m) = parts(format, w, cols: cols, row: r, col: c)
        switch format {
        case .q8, .q6_K: return Float(q) * d
        case .q4_0: return Float(q - 8) * d
        case .q4_1, .q4_K, .q5_K: return Float(q) * d + m!
        }
    }

    /// Scalar twin of the kernels: row r · x in exactly their order of operations (interleaved.h: chains
    /// over the column pairs of each block, each block sum times its scale added with one FMA, offsets
    /// times Σx in a second sum). Equal bit for bit to every kernel set with fused multiply-adds.
    public static func dotReference(_ format: Format, _ w: UnsafeRawPointer, cols: Int, row r: Int, _ x: UnsafePointer<Float>) -> Float {
        var acc: Float = 0, off: Float = 0
        for b in 0..<cols / 32 {
            let xb = x + 32 * b
            func q(_ j: Int) -> Float { Float(parts(format, w, cols: cols, row: r, col: 32 * b + j).q) }
            func d(_ j: Int) -> Float { parts(format, w, cols: cols, row: r, col: 32 * b + j).d }
            var c = [Float](repeating: 0, count: 4)
            if format == .q6_K {
                // Columns k and k + 16 have their own scales: chains k & 1 and 2 + (k & 1).
                for k in 0..<16 {
                    c[k & 1] = k < 2 ? q(k) * xb[k] : c[k & 1].addingProduct(q(k), xb[k])
                    c[2 + (k & 1)] = k < 2 ? q(k + 16) * xb[k + 16] : c[2 + (k & 1)].addingProduct(q(k + 16), xb[k + 16])
                }
                acc = acc.addingProduct(c[0] + c[1], d(0)).addingProduct(c[2] + c[3], d(16))
                continue
            }
            for k in 0..<16 {
                if k < 4 {
                    c[k] = (q(k) * xb[k]).addingProduct(q(k + 16), xb[k + 16])
                } else {
                    c[k & 3] = c[k & 3].addingProduct(q(k), xb[k]).addingProduct(q(k + 16), xb[k + 16])
                }
            }
            acc = acc.addingProduct((c[0] + c[1]) + (c[2] + c[3]), d(0))
            if let m = parts(format, w, cols: cols, row: r, col: 32 * b).m { off = off.addingProduct(m, blockSum(xb)) }
        }
        return format.needsBlockSums ? acc + off : acc
    }

    /// Σ of 32 values in the kernels' order (llmk_block_sums: lanes i and i + 16 first, then halves).
    static func blockSum(_ x: UnsafePointer<Float>) -> Float {
        let a = (0..<16).map { x[$0] + x[$0 + 16] }
        let b = (0..<8).map { a[$0] + a[$0 + 8] }
        let c = (0..<4).map { b[$0] + b[$0 + 4] }
        return (c[0] + c[2]) + (c[1] + c[3])
    }
}
