// The seam between file formats and the model: a model's hyper-parameters and tokenizer as metadata
// under GGUF's key names, and its weights as tensors under GGUF's names, ggml shape order and storage
// types. GGUF files are that directly; other formats (Hugging Face folders) translate their config and
// name table into it, as llama.cpp's converters do, so the decoder, the scorer and the writer read one
// convention whatever the file on disk.
import LLMTensor

/// One tensor of a model source.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: `shape[0]` is the contiguous (row) dimension.
    public let shape: [Int]
    public let type: GGMLType
    /// Offset of the tensor's bytes in its storage (for GGUF: relative to the tensor data section).
    public let offset: Int
    public let byteCount: Int

    public init(name: String, shape: [Int], type: GGMLType, offset: Int, byteCount: Int) {
        self.name = name
        self.shape = shape
        self.type = type
        self.offset = offset
        self.byteCount = byteCount
    }

    public var elementCount: Int { shape.reduce(1, *) }
}

/// Where a model comes from. Tensor bytes stay valid while the source lives.
public protocol ModelSource: AnyObject, Sendable {
    /// The file or folder, for messages.
    var path: String { get }
    /// Metadata keys in their order (GGUF key names).
    var metadataKeys: [String] { get }
    var metadata: [String: GGUFValue] { get }
    /// Tensors in storage order.
    var tensors: [TensorInfo] { get }
    /// Bytes of the source on disk (all its files).
    var storageBytes: Int { get }
    func tensor(named name: String) -> TensorInfo?
    /// Pointer to a tensor's bytes; `info` must come from this source's `tensors`.
    func data(for info: TensorInfo) -> UnsafeRawPointer
}

extension ModelSource {
    public subscript(key: String) -> GGUFValue? { metadata[key] }

    /// A tensor's bytes; `info` must come from this source's `tensors`.
    public func bytes(for info: TensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data(for: info), count: info.byteCount)
    }
}
