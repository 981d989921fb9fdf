// Writes GGUF version 3 files (spec: ggml docs/gguf.md, "File Structure"): header, metadata in
// insertion order, tensor infos, zero padding to `general.alignment`, then each tensor's bytes at an
// aligned offset (padded after every tensor, as gguf-py and llama.cpp do). Tensor bytes are streamed
// from their source, e.g. another GGUF file's memory map, straight to disk: a pruned model is written
// without holding a copy of it in RAM. The file appears at its path atomically (temp file, fsync, rename).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTensor

/// One tensor to write: its name, type and shape, and a way to reach its bytes while it is written.
public struct GGUFTensorSource {
    public let name: String
    public let type: GGMLType
    /// ggml order: `shape[0]` is the contiguous (row) dimension.
    public let shape: [Int]
    /// Bytes the data must have: `type.byteCount(elements:)` of the shape's element count.
    public let byteCount: Int
    let withBytes: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

    /// `withBytes` must call its argument with exactly `byteCount` bytes in all — once, or several times
    /// with consecutive pieces — each valid during its call (like `Array.withUnsafeBytes`); the writer calls
    /// it only while writing this tensor, so the source can map, read or compute the bytes lazily. Throws when the name or shape is invalid.
    public init(
        name: String, type: GGMLType, shape: [Int],
        withBytes: @escaping ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        guard !name.isEmpty, name.utf8.count <= GGUFWriter.maxTensorNameBytes else {
            throw GGUFError.invalidTensorName(name)
        }
        var elements = 1
        var valid = (1...GGUFFile.maxDims).contains(shape.count)
        for d in shape where valid {
            let (p, o) = elements.multipliedReportingOverflow(by: d)
            valid = d > 0 && !o
            elements = p
        }
        guard valid, shape[0] % type.blockSize == 0, let bytes = type.byteCount(elements: elements) else {
            throw GGUFError.unwritableTensorShape(tensor: name, shape: shape, type: type)
        }
        self.name = name
        self.type = type
        self.shape = shape
        self.byteCount = bytes
        self.withBytes = withBytes
    }
}

/// Collects metadata and tensors, then writes them as one GGUF v3 file.
///
///     var w = GGUFWriter(copyingMetadataFrom: source)
///     w.set("llama.block_count", .uint32(28))
///     for info in source.tensors where keep(info) { try w.addTensor(info, from: source, as: newName(info)) }
///     try w.write(to: "pruned.gguf")
public struct GGUFWriter {
    /// llama.cpp stores names in 64-byte buffers with a terminating NUL.
    public static let maxTensorNameBytes = 63
    /// Spec: keys are at most 65535 bytes.
    public static let maxKeyBytes = 65535

    /// Metadata keys in the order they are written.
    public private(set) var metadataKeys: [String] = []
    private var values: [String: GGUFValue] = [:]
    /// Tensors in the order they are written.
    public private(set) var tensors: [GGUFTensorSource] = []
    private var tensorNames: Set<String> = []

    /// Alignment of the tensor data: `general.alignment` when set, else the GGUF default 32.
    public var alignment: Int { values["general.alignment"]?.int ?? 32 }

    /// An empty writer. An `alignment` other than the default 32 is stored as `general.alignment`
    /// (uint32); `write` refuses values that are not a power of two from 8 to 2^20 (the spec asks
    /// for a multiple of 8, llama.cpp for a power of two).
    public init(alignment: Int = 32) {
        if alignment != 32 { set("general.alignment", .uint32(UInt32(clamping: alignment))) }
    }

    /// A writer holding all of `file`'s metadata in file order (its alignment included) and no tensors.
    public init(copyingMetadataFrom file: any ModelSource) {
        metadataKeys = file.metadataKeys
        values = file.metadata
    }

    public subscript(key: String) -> GGUFValue? { values[key] }

    /// Sets `key`; a new key goes last, an existing key keeps its place.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if values.updateValue(value, forKey: key) == nil { metadataKeys.append(key) }
    }

    public mutating func remove(_ key: String) {
        if values.removeValue(forKey: key) != nil { metadataKeys.removeAll { $0 == key } }
    }

    /// Adds a tensor; its bytes are read only when the file is written. Throws on a duplicate name.
    public mutating func addTensor(_ source: GGUFTensorSource) throws {
        guard tensorNames.insert(source.name).inserted else { throw GGUFError.duplicateTensorName(source.name) }
        tensors.append(source)
    }

    /// Adds a tensor of `file` without copying it: its bytes go from `file`'s memory map to the new
    /// file when it is written (the writer keeps `file` alive until then). `name` renames it.
    public mutating func addTensor(_ info: TensorInfo, from file: any ModelSource, as name: String? = nil) throws {
        guard file.tensor(named: info.name) == info else {
            throw GGUFError.tensorNotInFile(tensor: info.name, path: file.path)
        }
        let bytes = file.bytes(for: info)
        try addTensor(GGUFTensorSource(name: name ?? info.name, type: info.type, shape: info.shape) { body in
            try withExtendedLifetime(file) { try body(bytes) }
        })
    }

    /// Adds a tensor whose bytes stay where they are: `data` must stay valid until `write` returns,
    /// e.g. memory owned by `keepAlive`, which the writer retains.
    public mutating func addTensor(
        name: String, type: GGMLType, shape: [Int], data: UnsafeRawBufferPointer, keepAlive: AnyObject? = nil
    ) throws {
        let source = try GGUFTensorSource(name: name, type: type, shape: shape) { body in
            try withExtendedLifetime(keepAlive) { try body(data) }
        }
        try checkSize(source, data.count)
        try addTensor(source)
    }

    /// Adds a tensor from bytes the writer owns (already in the type's on-disk layout).
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], bytes: [UInt8]) throws {
        let source = try GGUFTensorSource(name: name, type: type, shape: shape) { body in
            try bytes.withUnsafeBytes(body)
        }
        try checkSize(source, bytes.count)
        try addTensor(source)
    }

    /// Adds an F32 tensor from values the writer owns.
    public mutating func addTensor(name: String, shape: [Int], floats: [Float]) throws {
        let bits = floats.map { $0.bitPattern.littleEndian }
        let source = try GGUFTensorSource(name: name, type: .f32, shape: shape) { body in
            try bits.withUnsafeBytes(body)
        }
        try checkSize(source, floats.count * 4)
        try addTensor(source)
    }

    /// Replaces the tensors by others of the same names (e.g. re-encoded by `convertTensors`).
    mutating func replaceTensors(_ new: [GGUFTensorSource]) {
        precondition(new.map(\.name) == tensors.map(\.name))
        tensors = new
    }

    private func checkSize(_ source: GGUFTensorSource, _ actual: Int) throws {
        guard actual == source.byteCount else {
            throw GGUFError.tensorDataSize(tensor: source.name, expected: source.byteCount, actual: actual)
        }
    }

    /// Writes the file atomically: metadata is validated first, then everything goes to a new temporary
    /// file in `path`'s folder, which is flushed to disk (fsync) and renamed over `path`. On any error
    /// (including one thrown by a tensor source) the temporary file is removed and an existing file at
    /// `path` is left as it was.
    public func write(to path: String) throws {
        let alignment = try validatedAlignment()
        let header = try headerBytes(alignment: alignment)

        if Self.isDirectory(path) { throw GGUFError.isDirectory(path: path) }
        let file = try AtomicOutput(finalPath: path)
        do {
            try header.withUnsafeBytes { try file.write($0) }
            let zeros = [UInt8](repeating: 0, count: alignment)
            for t in tensors {
                try file.writeTensor(t.name, byteCount: t.byteCount, t.withBytes)
                let padding = Self.padded(t.byteCount, alignment) - t.byteCount
                try zeros.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[..<padding])) }
            }
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
    }

    /// Bytes `write` puts on disk: header, metadata and tensor infos, padding, and every tensor padded to
    /// the alignment. Throws what `write` would throw for invalid metadata.
    public func fileSize() throws -> Int {
        let alignment = try validatedAlignment()
        return try headerBytes(alignment: alignment).count + tensors.reduce(0) { $0 + Self.padded($1.byteCount, alignment) }
    }

    /// Header, metadata and tensor infos, then zero padding up to the data section (metadata validated).
    private func headerBytes(alignment: Int) throws -> [UInt8] {
        let entries = metadataKeys.compactMap { key in values[key].map { (key, $0) } }
        var budget = GGUFFile.maxMetadataValues
        for (key, value) in entries { try validate(key: key, value, budget: &budget) }

        var header = ByteWriter()
        header.u32(GGUFFile.magic)
        header.u32(3)
        header.u64(UInt64(tensors.count))
        header.u64(UInt64(entries.count))
        for (key, stored) in entries {
            // gguf-py and llama.cpp insist on uint32 for the alignment, whatever integer type it came as.
            let value = key == "general.alignment" ? .uint32(UInt32(alignment)) : stored
            header.string(key)
            header.u32(value.type.rawValue)
            header.value(value)
        }
        var offset = 0
        for t in tensors {
            header.string(t.name)
            header.u32(UInt32(t.shape.count))
            for d in t.shape { header.u64(UInt64(d)) }
            header.u32(t.type.rawValue)
            header.u64(UInt64(offset))
            offset += Self.padded(t.byteCount, alignment)
        }
        header.bytes.append(contentsOf: repeatElement(0, count: Self.padded(header.bytes.count, alignment) - header.bytes.count))
        return header.bytes
    }

    static func padded(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    private func validatedAlignment() throws -> Int {
        guard let value = values["general.alignment"] else { return 32 }
        guard value.type != .bool, let a = value.int,
              a >= 8, a <= GGUFFile.maxAlignment, a & (a - 1) == 0 else {
            throw GGUFError.invalidMetadata(key: "general.alignment", reason: "\(value.summary) is not a power of two from 8 to \(GGUFFile.maxAlignment); set it to .uint32(32) (the default) or another power of two such as 64")
        }
        return a
    }

    /// Refuses what `GGUFFile` would refuse to read back: long keys or strings, mixed or deep arrays.
    /// `budget`: array elements still allowed in the whole file.
    private func validate(key: String, _ value: GGUFValue, budget: inout Int) throws {
        guard !key.isEmpty, key.utf8.count <= Self.maxKeyBytes else {
            throw GGUFError.invalidMetadata(key: String(key.prefix(64)), reason: "a key must be 1 to \(Self.maxKeyBytes) bytes; use a shorter key such as 'general.name'")
        }
        func check(_ v: GGUFValue, depth: Int) throws {
            switch v {
            case .string(let s):
                guard s.utf8.count <= GGUFFile.maxStringBytes else {
                    throw GGUFError.invalidMetadata(key: key, reason: "a string of \(s.utf8.count) bytes exceeds the \(GGUFFile.maxStringBytes)-byte limit; store large data as a tensor")
                }
            case .array(let elementType, let items):
                guard depth < GGUFFile.maxArrayDepth else {
                    throw GGUFError.invalidMetadata(key: key, reason: "arrays are nested more than \(GGUFFile.maxArrayDepth) deep; flatten the array")
                }
                budget -= items.count
                guard budget >= 0 else {
                    throw GGUFError.invalidMetadata(key: key, reason: "arrays hold more than \(GGUFFile.maxMetadataValues) values; store large data as a tensor")
                }
                for item in items {
                    guard item.type == elementType else {
                        throw GGUFError.invalidMetadata(key: key, reason: "an array of \(elementType) holds a \(item.type); give every element the array's element type")
                    }
                    try check(item, depth: depth + 1)
                }
            default: break
            }
        }
        try check(value, depth: 0)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}

/// Little-endian encoding of the header and metadata.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func int<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// The value's payload (its type tag is written by the caller: once per key, once per array).
    mutating func value(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): int(x)
        case .int8(let x): int(x)
        case .uint16(let x): int(x)
        case .int16(let x): int(x)
        case .uint32(let x): int(x)
        case .int32(let x): int(x)
        case .uint64(let x): int(x)
        case .int64(let x): int(x)
        case .float32(let x): int(x.bitPattern)
        case .float64(let x): int(x.bitPattern)
        case .bool(let b): int(UInt8(b ? 1 : 0))
        case .string(let s): string(s)
        case .array(let elementType, let items):
            u32(elementType.rawValue)
            u64(UInt64(items.count))
            for item in items { value(item) }
        }
    }
}

