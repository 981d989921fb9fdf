// Any model source (a Hugging Face folder read as GGUF, or a GGUF file) written as a GGUF file in a chosen
// type, with the choices llama.cpp's convert_hf_to_gguf.py makes (`--outtype`): 1-D tensors (norms,
// biases, RoPE factors) stay F32; other tensors become the chosen type — F32, F16, BF16 by rounding, Q8_0 and
// Q4_0 by ggml's reference quantisers (LLMTensor's Quantize) — except where a row is not a whole number of
// the type's 32-weight blocks, which falls back to F16 as the converter does; `general.file_type` says the
// type (llama_ftype) and `general.quantization_version` 2 is set for quantised files. Without a type, every
// tensor keeps its stored type (1-D ones F32), so an HF folder's F16/BF16 weights are copied bit for bit.
// Names, metadata and tokenizer keys are the source's: HFCheckpoint already gives them as the converter
// writes them.
import LLMTensor

public struct GGUFConvertSummary: Sendable {
    public let tensors: Int
    public let bytes: Int
}

public enum GGUFConvert {
    /// The types a GGUF is written in.
    public static let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0]

    /// llama.cpp's `llama_ftype` for a file mostly of `type`.
    static func fileType(_ type: GGMLType) -> UInt32 {
        switch type {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q8_0: return 7
        case .q4_K: return 14   // LLAMA_FTYPE_MOSTLY_Q4_K_S: every matrix Q4_K (or F16 where rows are not whole blocks)
        case .bf16: return 32
        default: return 1
        }
    }

    /// Writes `source` as a GGUF at `path` (atomically), each tensor re-encoded as `type` chooses.
    @discardableResult
    public static func write(source: any ModelSource, to path: String, type: GGMLType?) throws -> GGUFConvertSummary {
        var w = GGUFWriter(copyingMetadataFrom: source)
        for info in source.tensors { try w.addTensor(info, from: source) }
        try w.convertTensors(to: type)
        try w.write(to: path)
        return GGUFConvertSummary(tensors: w.tensors.count, bytes: w.tensors.reduce(0) { $0 + $1.byteCount })
    }
}

extension GGUFWriter {
    /// Re-encodes every tensor as convert_hf_to_gguf.py's `--outtype` would (see the file comment), lazily:
    /// the bytes are converted row block by row block while the file is written. Sets `general.file_type`.
    public mutating func convertTensors(to type: GGMLType?) throws {
        if let type, !GGUFConvert.types.contains(type) {
            throw GGUFError.invalidMetadata(key: "general.file_type", reason: "\(type) is not written; choose one of \(GGUFConvert.types.map(\.description).joined(separator: ", "))")
        }
        var converted: [GGUFTensorSource] = []
        for t in tensors {
            let target: GGMLType
            if t.shape.count == 1 {
                target = .f32                                                 // norms, biases, RoPE factors
            } else if let type {
                target = t.shape[0] % type.blockSize == 0 ? type : .f16      // the converter's fallback
            } else {
                target = t.type
            }
            if target == t.type { converted.append(t); continue }
            let rowLength = t.shape[0]
            guard let inRow = t.type.byteCount(elements: rowLength), let outRow = target.byteCount(elements: rowLength) else {
                throw GGUFError.unwritableTensorShape(tensor: t.name, shape: t.shape, type: target)
            }
            let original = t
            converted.append(try GGUFTensorSource(name: t.name, type: target, shape: t.shape) { body in
                // The source's bytes (in pieces), re-encoded a block of rows at a time.
                let chunkRows = max(1, (1 << 20) / rowLength)
                var pending: [UInt8] = []
                var f = [Float](repeating: 0, count: chunkRows * rowLength)
                var out = [UInt8](repeating: 0, count: chunkRows * outRow)
                func flush(_ bytes: UnsafeRawBufferPointer, rowsHere n: Int) throws {
                    f.withUnsafeMutableBufferPointer { fb in
                        for r in 0..<n { Dequant.dequantize(original.type, bytes.baseAddress! + r * inRow, fb.baseAddress! + r * rowLength, count: rowLength) }
                        out.withUnsafeMutableBytes { Quantize.encode(target, fb.baseAddress!, $0.baseAddress!, count: n * rowLength) }
                    }
                    try out.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<(n * outRow)])) }
                }
                func rows(of bytes: UnsafeRawBufferPointer) throws -> Int {
                    var used = 0
                    while bytes.count - used >= inRow {
                        let n = min(chunkRows, (bytes.count - used) / inRow)
                        try flush(UnsafeRawBufferPointer(rebasing: bytes[used..<(used + n * inRow)]), rowsHere: n)
                        used += n * inRow
                    }
                    return used
                }
                try original.withBytes { piece in
                    if pending.isEmpty {
                        let used = try rows(of: piece)   // normally the whole tensor, converted in place
                        pending.append(contentsOf: piece[used...])
                    } else {
                        pending.append(contentsOf: piece)
                        let used = try pending.withUnsafeBytes { try rows(of: $0) }
                        pending.removeFirst(used)
                    }
                }
            })
        }
        self.replaceTensors(converted)
        if let type {
            set("general.file_type", .uint32(GGUFConvert.fileType(type)))
            if type == .q8_0 || type == .q4_0 { set("general.quantization_version", .uint32(2)) }
        }
    }
}
