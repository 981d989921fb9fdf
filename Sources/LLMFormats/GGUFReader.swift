// Reads GGUF files, versions 2 and 3 (spec: ggml docs/gguf.md, "File Structure"). Every count, length,
// dimension and offset is checked against the file size and sane caps before use, so a hostile file
// yields a typed GGUFError, never a crash or a huge allocation; tensor data stays memory-mapped.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTensor

public final class GGUFFile: ModelSource, @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let alignment: Int
    /// Metadata in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [TensorInfo]
    public let tensorIndex: [String: Int]
    /// Absolute file offset of the tensor data section.
    public let dataOffset: Int
    public let fileSize: Int
    private let map: MappedFile

    public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian

    // Caps on what a file may declare. Real models stay far below them (a 262k-token vocabulary is
    // ~0.8M metadata values, the largest models ~2k tensors); they bound memory for hostile files.
    static let maxStringBytes = 64 << 20
    static let maxArrayDepth = 8
    static let maxDims = 4
    static let maxTensorCount = 1 << 20
    static let maxKVCount = 1 << 20
    /// Metadata values in all arrays together.
    static let maxMetadataValues = 1 << 24
    static let maxAlignment = 1 << 20

    public convenience init(path: String) throws {
        try self.init(map: MappedFile(path: path))
    }

    /// Reads a GGUF file held in memory (copied; `path` names it in errors).
    public convenience init(bytes: UnsafeRawBufferPointer, path: String = "<memory>") throws {
        try self.init(map: MappedFile(copying: bytes, path: path))
    }

    public convenience init(bytes: [UInt8], path: String = "<memory>") throws {
        try self.init(map: bytes.withUnsafeBytes { try MappedFile(copying: $0, path: path) })
    }

    init(map: MappedFile) throws {
        self.map = map
        self.path = map.path
        self.fileSize = map.size
        var r = ByteCursor(base: map.base, size: map.size)
        guard map.size >= 4, r.peekUInt32() == Self.magic else { throw GGUFError.notGGUF(path: map.path) }
        r.offset = 4
        let version = try r.u32("version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        self.version = version
        // Smallest encodings: a tensor info is an empty name (8) + 1 dim (4 + 8) + type (4) + offset (8);
        // a key-value pair is an empty key (8) + type (4) + a 1-byte value.
        let tensorCount = try r.count("tensor count", minBytesEach: 32, cap: Self.maxTensorCount)
        let kvCount = try r.count("metadata key count", minBytesEach: 13, cap: Self.maxKVCount)

        var keys: [String] = []
        var meta: [String: GGUFValue] = [:]
        keys.reserveCapacity(min(kvCount, 1024))
        for _ in 0..<kvCount {
            let key = try r.string("metadata key")
            let rawType = try r.u32("type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.invalidValueType(key: key, raw: rawType)
            }
            let value = try r.value(type, key: key, depth: 0)
            guard meta[key] == nil else { throw GGUFError.duplicateKey(key) }
            meta[key] = value
            keys.append(key)
        }
        self.metadataKeys = keys
        self.metadata = meta

        var alignment = 32
        if let a = meta["general.alignment"] {
            // Spec: uint32; any unsigned or signed integer type is accepted, bool and others are not.
            guard a.type != .bool, let v = a.int, v > 0, v <= Self.maxAlignment, v & (v - 1) == 0 else {
                throw GGUFError.invalidAlignment(a.type == .bool ? -1 : a.int ?? -1)
            }
            alignment = v
        }
        self.alignment = alignment

        struct RawInfo { let name: String; let dims: [UInt64]; let rawType: UInt32; let offset: UInt64 }
        var raws: [RawInfo] = []
        raws.reserveCapacity(min(tensorCount, 4096))
        for _ in 0..<tensorCount {
            let name = try r.string("tensor name")
            let nDims = try r.u32("dimension count of '\(name)'")
            guard nDims >= 1, nDims <= Self.maxDims else {
                throw GGUFError.implausibleCount(what: "dimension count of tensor '\(name)'", value: UInt64(nDims), limit: UInt64(Self.maxDims))
            }
            var dims: [UInt64] = []
            for _ in 0..<nDims { dims.append(try r.u64("dimension of '\(name)'")) }
            let rawType = try r.u32("type of '\(name)'")
            let offset = try r.u64("offset of '\(name)'")
            raws.append(RawInfo(name: name, dims: dims, rawType: rawType, offset: offset))
        }
        let dataOffset = (r.offset + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        let dataSize = max(0, map.size - dataOffset)

        var infos: [TensorInfo] = []
        var index: [String: Int] = [:]
        infos.reserveCapacity(raws.count)
        for raw in raws {
            guard let type = GGMLType(rawValue: raw.rawType) else {
                throw GGUFError.unsupportedTensorType(tensor: raw.name, raw: raw.rawType)
            }
            // Every dimension positive, the element and byte counts within Int (the shape is then
            // well-formed, and a tensor too large for the file is reported as out of bounds).
            var elements: UInt64 = 1
            for d in raw.dims {
                let (p, o) = elements.multipliedReportingOverflow(by: d)
                guard d > 0, !o, p <= UInt64(Int.max) else {
                    throw GGUFError.invalidTensorShape(tensor: raw.name, shape: raw.dims)
                }
                elements = p
            }
            let shape = raw.dims.map { Int($0) }
            guard shape[0] % type.blockSize == 0, let bytes = type.byteCount(elements: Int(elements)) else {
                throw GGUFError.invalidTensorShape(tensor: raw.name, shape: raw.dims)
            }
            guard raw.offset <= UInt64(dataSize), bytes <= dataSize - Int(raw.offset) else {
                throw GGUFError.tensorOutOfBounds(tensor: raw.name, offset: Int(clamping: raw.offset), bytes: bytes, fileSize: map.size)
            }
            let off = Int(raw.offset)
            guard off % alignment == 0 else { throw GGUFError.misalignedTensor(tensor: raw.name, offset: off, alignment: alignment) }
            guard index[raw.name] == nil else { throw GGUFError.duplicateTensor(raw.name) }
            index[raw.name] = infos.count
            infos.append(TensorInfo(name: raw.name, shape: shape, type: type, offset: off, byteCount: bytes))
        }
        self.tensors = infos
        self.tensorIndex = index
    }

    public func tensor(named name: String) -> TensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// Pointer to a tensor's bytes inside the memory map (valid while this object lives).
    /// `info` must come from this file's `tensors`.
    public func data(for info: TensorInfo) -> UnsafeRawPointer {
        map.base + dataOffset + info.offset
    }

    public var storageBytes: Int { fileSize }
}

/// A bounds-checked little-endian reader over the mapped bytes. Descriptions of what is read are
/// autoclosures: they are only built when an error is thrown (the tokenizer arrays hold ~10^5 values).
struct ByteCursor {
    let base: UnsafeRawPointer
    let size: Int
    var offset = 0
    /// Array elements still allowed in the metadata (`GGUFFile.maxMetadataValues` in all).
    var valueBudget = GGUFFile.maxMetadataValues

    func peekUInt32() -> UInt32 { base.loadUnaligned(as: UInt32.self).littleEndian }

    @inline(__always)
    func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n >= 0, n <= size - offset else { throw GGUFError.truncated(what: what(), offset: offset, fileSize: size) }
    }

    // Not generic: debug builds do not specialise generics, and these run ~10^5 times per file.
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 {
        try need(4, what())
        defer { offset += 4 }
        return UInt32(littleEndian: (base + offset).loadUnaligned(as: UInt32.self))
    }

    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 {
        try need(8, what())
        defer { offset += 8 }
        return UInt64(littleEndian: (base + offset).loadUnaligned(as: UInt64.self))
    }

    /// A count of items that each need at least `minBytesEach` bytes: capped by what the rest of the
    /// file can hold and by `cap`.
    mutating func count(_ what: @autoclosure () -> String, minBytesEach: Int, cap: Int) throws -> Int {
        let v = try u64(what())
        let limit = UInt64(min(cap, max(0, size - offset) / minBytesEach))
        guard v <= limit else { throw GGUFError.implausibleCount(what: what(), value: v, limit: limit) }
        return Int(v)
    }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let len = try u64("length of \(what())")
        let limit = UInt64(min(GGUFFile.maxStringBytes, size - offset))
        guard len <= limit else { throw GGUFError.implausibleCount(what: "length of \(what())", value: len, limit: limit) }
        let n = Int(len)
        let start = offset
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: n)
        offset += n
        // `String(decoding:)` is fast but repairs invalid UTF-8; a repaired string differs from the bytes.
        // (`String(validating:)` says so directly but is several times slower in debug builds.)
        let s = String(decoding: bytes, as: UTF8.self)
        let same = s.utf8.withContiguousStorageIfAvailable { u -> Bool in
            guard u.count == n else { return false }
            guard let a = u.baseAddress, let b = bytes.baseAddress else { return true }  // empty
            return memcmp(a, b, n) == 0
        }
        guard same ?? s.utf8.elementsEqual(bytes) else {
            throw GGUFError.invalidUTF8(what: what(), offset: start)
        }
        return s
    }

    /// A fixed-size value: a number or a bool.
    mutating func scalar(_ type: GGUFValueType, key: String) throws -> GGUFValue {
        let at = offset
        try need(type.fixedSize ?? 0, "value of '\(key)'")
        let p = base + offset
        offset += type.fixedSize ?? 0
        switch type {
        case .uint8: return .uint8(p.load(as: UInt8.self))
        case .int8: return .int8(p.load(as: Int8.self))
        case .uint16: return .uint16(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
        case .int16: return .int16(Int16(littleEndian: p.loadUnaligned(as: Int16.self)))
        case .uint32: return .uint32(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        case .int32: return .int32(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
        case .uint64: return .uint64(UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
        case .int64: return .int64(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
        case .float32: return .float32(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))))
        case .float64: return .float64(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))))
        case .bool:
            // Spec: 0 is false, 1 is true, anything else is invalid.
            let b = p.load(as: UInt8.self)
            guard b <= 1 else { throw GGUFError.invalidBool(key: key, offset: at, raw: b) }
            return .bool(b == 1)
        case .string, .array:  // not fixed-size; callers never pass them
            throw GGUFError.invalidValueType(key: key, raw: type.rawValue)
        }
    }

    mutating func value(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64, .float32, .float64, .bool:
            return try scalar(type, key: key)
        case .string: return .string(try string("value of '\(key)'"))
        case .array:
            guard depth < GGUFFile.maxArrayDepth else {
                throw GGUFError.implausibleCount(what: "array nesting depth of '\(key)'", value: UInt64(depth + 1), limit: UInt64(GGUFFile.maxArrayDepth))
            }
            let rawType = try u32("element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.invalidValueType(key: key, raw: rawType)
            }
            // Strings take at least 8 bytes (their length), arrays at least 12 (type and length).
            let minEach = elementType.fixedSize ?? (elementType == .string ? 8 : 12)
            let n = try count("array length of '\(key)'", minBytesEach: minEach, cap: valueBudget)
            valueBudget -= n
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            switch elementType {
            case .string:  // the tokenizer's vocabulary and merges: the bulk of most files' metadata
                for _ in 0..<n { items.append(.string(try string("value of '\(key)'"))) }
            case .array:
                for _ in 0..<n { items.append(try value(.array, key: key, depth: depth + 1)) }
            default:
                for _ in 0..<n { items.append(try scalar(elementType, key: key)) }
            }
            return .array(elementType: elementType, items)
        }
    }
}
