// A bounds-checked reader of the safetensors format (spec: huggingface/safetensors README, "Format"):
//   8 bytes   N, little-endian u64: the header's length
//   N bytes   a UTF-8 JSON object {"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]},
//             "__metadata__": {string: string}}, possibly padded with spaces
//   rest      the byte buffer; offsets are relative to its start, tensors are row-major little-endian.
// The spec's rules are checked before any tensor is used: N at most 100 MB, the header a JSON object
// starting with '{', every entry exactly dtype/shape/data_offsets, begin ≤ end inside the buffer,
// (elements × dtype size) = end − begin, and the tensors covering the buffer exactly, without holes
// or overlaps. Sharded checkpoints list their tensors in `model.safetensors.index.json`
// ({"weight_map": {tensor: shard file}}). The file is memory-mapped; tensors are used in place.
import Foundation
import LLMTensor

/// Tensor element types the safetensors format defines, with their sizes.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    public var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// The ggml type LLMDrop computes with directly, or nil when the dtype is not supported for weights.
    public var ggmlType: GGMLType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }
}

/// One tensor of a safetensors file, in the file's own (row-major, PyTorch) shape order.
public struct SafetensorsTensor: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major: the last dimension is contiguous.
    public let shape: [Int]
    /// Offset of the tensor's bytes from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
}

public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case truncatedHeader(path: String, fileSize: Int)
    case headerTooLarge(path: String, size: UInt64, limit: Int)
    case invalidHeader(path: String, reason: String)
    case invalidEntry(path: String, tensor: String, reason: String)
    case offsetsOutsideData(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case lengthMismatch(path: String, tensor: String, dtype: String, shape: [Int], expected: Int, actual: Int)
    case overlapping(path: String, tensor: String, other: String)
    case hole(path: String, offset: Int, before: String?)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case invalidIndex(path: String, reason: String)
    case missingShard(index: String, shard: String, tensor: String)
    case tensorNotInShard(index: String, shard: String, tensor: String)
    case duplicateTensor(tensor: String, first: String, second: String)

    public var description: String {
        let redownload = "download the checkpoint again, or re-save it with safetensors' save_file"
        switch self {
        case .fileNotFound(let p):
            return "safetensors file '\(p)' does not exist; check the path (a sharded checkpoint's index names every shard)"
        case .unreadable(let p, let r):
            return "cannot read '\(p)': \(r); check the file's permissions"
        case .truncatedHeader(let p, let size):
            return "'\(p)' is not a safetensors file: its \(size) bytes do not hold the 8-byte header length and the header; \(redownload)"
        case .headerTooLarge(let p, let n, let limit):
            return "'\(p)' is not a valid safetensors file: its header length \(n) exceeds the format's limit of \(limit) bytes (or the file); \(redownload)"
        case .invalidHeader(let p, let r):
            return "'\(p)' has an invalid safetensors header: \(r); \(redownload)"
        case .invalidEntry(let p, let t, let r):
            return "'\(p)': tensor '\(t)' has an invalid header entry: \(r); \(redownload)"
        case .offsetsOutsideData(let p, let t, let b, let e, let size):
            return "'\(p)': tensor '\(t)' has data_offsets [\(b), \(e)] outside the \(size)-byte data buffer (the file is truncated or corrupt); \(redownload)"
        case .lengthMismatch(let p, let t, let d, let shape, let expected, let actual):
            return "'\(p)': tensor '\(t)' (\(d), shape \(shape)) needs \(expected) bytes but its data_offsets span \(actual); \(redownload)"
        case .overlapping(let p, let t, let o):
            return "'\(p)': the bytes of tensor '\(t)' overlap those of '\(o)' (the format forbids overlaps); \(redownload)"
        case .hole(let p, let off, let before):
            let what = before.map { "before tensor '\($0)'" } ?? "after the last tensor"
            return "'\(p)': the data buffer has unused bytes at offset \(off) \(what) (the format requires the tensors to cover it exactly); \(redownload)"
        case .unsupportedDType(let p, let t, let d):
            return "'\(p)': tensor '\(t)' has dtype \(d); LLMDrop reads F32, F16 and BF16 weights — save the model in one of these (torch_dtype float32, float16 or bfloat16)"
        case .invalidIndex(let p, let r):
            return "the shard index '\(p)' is invalid: \(r); download the checkpoint's model.safetensors.index.json again"
        case .missingShard(let idx, let shard, let t):
            return "shard '\(shard)' named by '\(idx)' (for tensor '\(t)') is missing; download it into the same folder"
        case .tensorNotInShard(let idx, let shard, let t):
            return "'\(idx)' says tensor '\(t)' is in '\(shard)', but that shard has no such tensor; download the checkpoint again"
        case .duplicateTensor(let t, let a, let b):
            return "tensor '\(t)' appears in both '\(a)' and '\(b)'; a checkpoint must hold each tensor once — download it again"
        }
    }
}

/// One memory-mapped `.safetensors` file.
public final class SafetensorsFile: @unchecked Sendable {
    /// The format's cap on the header length (safetensors: 100 MB).
    public static let maxHeaderBytes = 100_000_000
    /// More dimensions than any model has; a hostile header cannot make shape products misbehave.
    static let maxDimensions = 8

    public let path: String
    /// Tensors in data-buffer order.
    public let tensors: [SafetensorsTensor]
    /// `__metadata__` (string to string), empty when absent.
    public let metadata: [String: String]
    public var fileSize: Int { map.size }
    private let index: [String: Int]
    private let map: MappedFile

    public convenience init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw SafetensorsError.fileNotFound(path: path) }
        guard !isDir.boolValue else { throw SafetensorsError.unreadable(path: path, reason: "it is a directory") }
        let map: MappedFile
        do {
            map = try MappedFile(path: path)
        } catch GGUFError.notGGUF {
            throw SafetensorsError.truncatedHeader(path: path, fileSize: 0)
        } catch let GGUFError.unreadable(_, reason) {
            throw SafetensorsError.unreadable(path: path, reason: reason)
        }
        try self.init(map: map)
    }

    /// Reads a file held in memory (`path` names it in messages).
    public convenience init(bytes: UnsafeRawBufferPointer, path: String) throws {
        guard bytes.count > 0 else { throw SafetensorsError.truncatedHeader(path: path, fileSize: 0) }
        try self.init(map: MappedFile(copying: bytes, path: path))
    }

    private init(map: MappedFile) throws {
        let path = map.path
        self.map = map
        self.path = path
        let size = map.size
        guard size >= 8 else { throw SafetensorsError.truncatedHeader(path: path, fileSize: size) }
        let n = UInt64(littleEndian: map.base.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(Self.maxHeaderBytes), Int(n) <= size - 8 else {
            throw SafetensorsError.headerTooLarge(path: path, size: n, limit: min(Self.maxHeaderBytes, size - 8))
        }
        let headerLength = Int(n)
        let header = UnsafeRawBufferPointer(start: map.base + 8, count: headerLength)
        guard header.first == UInt8(ascii: "{") else {
            throw SafetensorsError.invalidHeader(path: path, reason: "it does not start with '{'")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(header), options: [])
        } catch {
            throw SafetensorsError.invalidHeader(path: path, reason: "it is not valid JSON (\(JSONErrors.parseDetail(error)))")
        }
        guard let object = json as? [String: Any] else {
            throw SafetensorsError.invalidHeader(path: path, reason: "it is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataSize = size - dataStart

        var meta: [String: String] = [:]
        var raw: [(name: String, dtype: SafetensorsDType, shape: [Int], begin: Int, end: Int)] = []
        raw.reserveCapacity(object.count)
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw SafetensorsError.invalidHeader(path: path, reason: "__metadata__ is not an object of strings")
                }
                for (k, v) in m {
                    guard let s = v as? String else {
                        throw SafetensorsError.invalidHeader(path: path, reason: "__metadata__ value '\(k)' is not a string")
                    }
                    meta[k] = s
                }
                continue
            }
            let bad = { (reason: String) in SafetensorsError.invalidEntry(path: path, tensor: name, reason: reason) }
            guard !name.isEmpty else { throw bad("the tensor name is empty") }
            guard let entry = value as? [String: Any] else { throw bad("it is not an object") }
            let extra = Set(entry.keys).subtracting(["dtype", "shape", "data_offsets"])
            guard extra.isEmpty else { throw bad("unknown field '\(extra.sorted()[0])'") }
            guard let d = entry["dtype"] else { throw bad("field 'dtype' is missing") }
            guard let ds = d as? String else { throw bad("'dtype' is not a string") }
            guard let dtype = SafetensorsDType(rawValue: ds) else {
                throw bad("unknown dtype '\(ds)' (the format defines \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let s = entry["shape"] else { throw bad("field 'shape' is missing") }
            guard let shapeList = s as? [Any], shapeList.count <= Self.maxDimensions else {
                throw bad("'shape' is not a list of at most \(Self.maxDimensions) dimensions")
            }
            let shape = try shapeList.map { v -> Int in
                guard let i = Self.integer(v), i >= 0 else { throw bad("'shape' holds \(v), not a non-negative integer") }
                return i
            }
            guard let o = entry["data_offsets"] else { throw bad("field 'data_offsets' is missing") }
            guard let offs = o as? [Any], offs.count == 2,
                  let begin = Self.integer(offs[0]), let end = Self.integer(offs[1]), begin >= 0, end >= 0 else {
                throw bad("'data_offsets' is not two non-negative integers [begin, end]")
            }
            guard begin <= end, end <= dataSize else {
                throw SafetensorsError.offsetsOutsideData(path: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
            }
            var elements = 1
            for dim in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow, p <= dataSize else {
                    throw SafetensorsError.lengthMismatch(path: path, tensor: name, dtype: ds, shape: shape, expected: Int.max, actual: end - begin)
                }
                elements = p
            }
            let expected = elements * dtype.size
            guard expected == end - begin else {
                throw SafetensorsError.lengthMismatch(path: path, tensor: name, dtype: ds, shape: shape, expected: expected, actual: end - begin)
            }
            raw.append((name, dtype, shape, begin, end))
        }

        // Exact coverage: sorted by begin, each tensor starts where the previous one ended.
        raw.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        var previous: String?
        for t in raw {
            if t.begin < cursor, let previous {
                throw SafetensorsError.overlapping(path: path, tensor: t.name, other: previous)
            }
            if t.begin > cursor { throw SafetensorsError.hole(path: path, offset: cursor, before: t.name) }
            cursor = t.end
            previous = t.name
        }
        guard cursor == dataSize else { throw SafetensorsError.hole(path: path, offset: cursor, before: nil) }

        tensors = raw.map {
            SafetensorsTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, fileOffset: dataStart + $0.begin, byteCount: $0.end - $0.begin)
        }
        index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
        metadata = meta
    }

    /// A JSON number written as an integer in Int's range (not a bool, not a fraction or exponent form).
    static func integer(_ v: Any) -> Int? {
        guard let n = v as? NSNumber else { return nil }
        switch String(cString: n.objCType) {
        case "s", "i", "l", "q": return Int(exactly: n.int64Value)
        case "S", "I", "L", "Q": return Int(exactly: n.uint64Value)
        default: return nil   // "c": a bool; "f"/"d": not an integer
        }
    }

    public func tensor(named name: String) -> SafetensorsTensor? { index[name].map { tensors[$0] } }

    /// The bytes of a tensor of this file (valid while this object lives).
    public func bytes(for t: SafetensorsTensor) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: map.base + t.fileOffset, count: t.byteCount)
    }
}

/// The safetensors files of a checkpoint folder: `model.safetensors.index.json` and its shards when the
/// index exists, else every `*.safetensors` file of the folder (normally just `model.safetensors`).
public struct SafetensorsCheckpoint: Sendable {
    public static let indexName = "model.safetensors.index.json"

    public let files: [SafetensorsFile]
    /// Each tensor's file (index into `files`) and its description there.
    public let tensors: [(file: Int, tensor: SafetensorsTensor)]

    /// - Parameter only: one file name of an unsharded folder to read instead of every `*.safetensors` file.
    public init(folder: String, only: String? = nil) throws {
        let fm = FileManager.default
        let indexPath = (folder as NSString).appendingPathComponent(Self.indexName)
        var names: [String]
        var weightMap: [String: String] = [:]
        if fm.fileExists(atPath: indexPath) {
            weightMap = try Self.readIndex(indexPath)
            names = Array(Set(weightMap.values)).sorted()
            for shard in names where !fm.fileExists(atPath: (folder as NSString).appendingPathComponent(shard)) {
                let tensor = weightMap.filter { $0.value == shard }.keys.sorted().first ?? "?"
                throw SafetensorsError.missingShard(index: indexPath, shard: shard, tensor: tensor)
            }
        } else if let only {
            names = [only]
        } else {
            names = ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted()
        }
        var files: [SafetensorsFile] = []
        var all: [(file: Int, tensor: SafetensorsTensor)] = []
        var seen: [String: String] = [:]
        for name in names {
            let f = try SafetensorsFile(path: (folder as NSString).appendingPathComponent(name))
            for t in f.tensors {
                if let first = seen[t.name] { throw SafetensorsError.duplicateTensor(tensor: t.name, first: first, second: f.path) }
                seen[t.name] = f.path
                all.append((files.count, t))
            }
            files.append(f)
        }
        for (tensor, shard) in weightMap.sorted(by: { $0.key < $1.key }) {
            let p = (folder as NSString).appendingPathComponent(shard)
            guard seen[tensor] == p else { throw SafetensorsError.tensorNotInShard(index: indexPath, shard: shard, tensor: tensor) }
        }
        self.files = files
        self.tensors = all
    }

    /// The weight map of an index file: tensor name → shard file name (a plain name inside the folder).
    static func readIndex(_ path: String) throws -> [String: String] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SafetensorsError.invalidIndex(path: path, reason: "it cannot be read (\(error.localizedDescription))")
        }
        guard data.count <= SafetensorsFile.maxHeaderBytes else {
            throw SafetensorsError.invalidIndex(path: path, reason: "it is larger than \(SafetensorsFile.maxHeaderBytes) bytes")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw SafetensorsError.invalidIndex(path: path, reason: "it is not valid JSON (\(JSONErrors.parseDetail(error)))")
        }
        guard let object = json as? [String: Any], let map = object["weight_map"] as? [String: Any] else {
            throw SafetensorsError.invalidIndex(path: path, reason: "it has no 'weight_map' object")
        }
        var out: [String: String] = [:]
        for (tensor, v) in map {
            guard let shard = v as? String, !shard.isEmpty, !shard.contains("/"), shard != ".", shard != "..", shard.hasSuffix(".safetensors") else {
                throw SafetensorsError.invalidIndex(path: path, reason: "weight_map['\(tensor)'] is not the name of a .safetensors file in the same folder")
            }
            out[tensor] = shard
        }
        guard !out.isEmpty else { throw SafetensorsError.invalidIndex(path: path, reason: "its weight_map is empty") }
        return out
    }
}
