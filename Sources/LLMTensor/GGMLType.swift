// Tensor element types as GGUF stores them (ggml `ggml_type` ids), with their block layouts.
// Layouts follow ggml's `ggml-common.h`: a block of `blockSize` weights occupies `blockBytes` bytes.

public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case bf16 = 30

    /// Number of weights in one quantisation block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return 256
        }
    }

    /// Bytes one block occupies in the file.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18   // f16 d, 16 B nibbles
        case .q4_1: return 20   // f16 d, f16 m, 16 B nibbles
        case .q5_0: return 22   // f16 d, 4 B high bits, 16 B nibbles
        case .q5_1: return 24   // f16 d, f16 m, 4 B high bits, 16 B nibbles
        case .q8_0: return 34   // f16 d, 32 int8
        case .q2_K: return 84   // 16 B scales, 64 B quants, f16 d, f16 dmin
        case .q3_K: return 110  // 32 B hmask, 64 B quants, 12 B scales, f16 d
        case .q4_K: return 144  // f16 d, f16 dmin, 12 B scales, 128 B quants
        case .q5_K: return 176  // f16 d, f16 dmin, 12 B scales, 32 B qh, 128 B qs
        case .q6_K: return 210  // 128 B ql, 64 B qh, 16 int8 scales, f16 d
        }
    }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        }
    }

    /// Bytes needed for `count` weights, or nil when `count` is not a whole number of blocks
    /// or the product overflows.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}
