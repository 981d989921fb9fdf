// Typed errors for reading and writing model files; each message names the problem and the fix.
import LLMTensor

public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    case isDirectory(path: String)
    case unreadable(path: String, reason: String)
    case notGGUF(path: String)
    case unsupportedVersion(UInt32)
    case truncated(what: String, offset: Int, fileSize: Int)
    case implausibleCount(what: String, value: UInt64, limit: UInt64)
    case invalidUTF8(what: String, offset: Int)
    case invalidValueType(key: String, raw: UInt32)
    case unsupportedTensorType(tensor: String, raw: UInt32)
    case invalidTensorShape(tensor: String, shape: [UInt64])
    case tensorOutOfBounds(tensor: String, offset: Int, bytes: Int, fileSize: Int)
    case misalignedTensor(tensor: String, offset: Int, alignment: Int)
    case invalidAlignment(Int)
    case duplicateKey(String)
    case duplicateTensor(String)
    case invalidBool(key: String, offset: Int, raw: UInt8)
    case writeFailed(path: String, reason: String)
    // Writer input (GGUFWriter): refused before the file at the target path is touched.
    case invalidTensorName(String)
    case duplicateTensorName(String)
    case unwritableTensorShape(tensor: String, shape: [Int], type: GGMLType)
    case tensorDataSize(tensor: String, expected: Int, actual: Int)
    case invalidMetadata(key: String, reason: String)
    case tensorNotInFile(tensor: String, path: String)

    public var description: String {
        switch self {
        case .fileNotFound(let p):
            return "model file '\(p)' does not exist; check the path (run `make model` to fetch the default model)"
        case .isDirectory(let p):
            return "'\(p)' is a directory, not a model file; pass the path of a .gguf file inside it"
        case .unreadable(let p, let r):
            return "cannot read '\(p)': \(r); check the file's permissions"
        case .notGGUF(let p):
            return "'\(p)' is not a GGUF file (wrong magic bytes); convert the model to GGUF first (llama.cpp's convert_hf_to_gguf.py)"
        case .unsupportedVersion(let v):
            return "GGUF version \(v) is not supported (versions 2 and 3 are); re-export the model with a current converter"
        case .truncated(let what, let off, let size):
            return "the file is truncated: \(what) at byte \(off) runs past the end of the file (\(size) bytes); download the model again"
        case .implausibleCount(let what, let v, let limit):
            return "the file is corrupt: \(what) is \(v), more than the limit \(limit); download the model again"
        case .invalidUTF8(let what, let off):
            return "the file is corrupt: \(what) at byte \(off) is not valid UTF-8; download the model again"
        case .invalidValueType(let key, let raw):
            return "the file is corrupt: metadata key '\(key)' has unknown value type \(raw); download the model again"
        case .unsupportedTensorType(let t, let raw):
            return "tensor '\(t)' has type \(raw), which LLMDrop does not support (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K–Q6_K are); requantize the model to one of these"
        case .invalidTensorShape(let t, let shape):
            return "the file is corrupt: tensor '\(t)' has invalid shape \(shape); download the model again"
        case .tensorOutOfBounds(let t, let off, let bytes, let size):
            return "the file is corrupt or truncated: tensor '\(t)' (\(bytes) bytes at data offset \(off)) lies outside the file (\(size) bytes); download the model again"
        case .misalignedTensor(let t, let off, let a):
            return "the file is corrupt: tensor '\(t)' offset \(off) is not a multiple of the alignment \(a); download the model again"
        case .invalidAlignment(let a):
            return "the file is corrupt: general.alignment = \(a) is not a positive power of two; download the model again"
        case .duplicateKey(let k):
            return "the file is corrupt: metadata key '\(k)' appears twice; download the model again"
        case .duplicateTensor(let t):
            return "the file is corrupt: tensor '\(t)' appears twice; download the model again"
        case .invalidBool(let k, let off, let raw):
            return "the file is corrupt: metadata key '\(k)' has bool value \(raw) at byte \(off) (only 0 and 1 are valid); download the model again"
        case .writeFailed(let p, let r):
            return "cannot write '\(p)': \(r); check that the folder exists, is writable and has free space"
        case .invalidTensorName(let n):
            return "cannot write tensor '\(n)': a tensor name must be 1 to \(GGUFWriter.maxTensorNameBytes) UTF-8 bytes (llama.cpp's limit); use a shorter name"
        case .duplicateTensorName(let n):
            return "cannot write tensor '\(n)': a tensor of that name was already added; add each tensor once (when renumbering layers, rename every tensor of a moved layer)"
        case .unwritableTensorShape(let t, let shape, let type):
            return "cannot write tensor '\(t)': shape \(shape) is invalid for \(type) (1 to 4 dimensions, each positive, the first a multiple of the block size \(type.blockSize), element count within Int); pass the tensor's shape in ggml order"
        case .tensorDataSize(let t, let expected, let actual):
            return "cannot write tensor '\(t)': its data has \(actual) bytes but its type and shape need \(expected); pass the bytes that match the shape (byteCount(elements:) of the type)"
        case .invalidMetadata(let k, let r):
            return "cannot write metadata key '\(k)': \(r)"
        case .tensorNotInFile(let t, let p):
            return "tensor '\(t)' is not a tensor of '\(p)'; pass a TensorInfo taken from that model's `tensors`"
        }
    }
}
