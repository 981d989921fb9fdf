// Reads GGUF files, versions 2 and 3 (spec: ggml docs/gguf.md). Every count, length, dimension and
// offset is checked against the file size and sane caps before use; tensor data stays memory-mapped.
import LLMTensor

public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: `shape[0]` is the contiguous (row) dimension.
    public let shape: [Int]
    public let type: GGMLType
    /// Offset relative to the start of the tensor data section.
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
}

public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let alignment: Int
    /// Metadata in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let tensorIndex: [String: Int]
    /// Absolute file offset of the tensor data section.
    public let dataOffset: Int
    public let fileSize: Int
    private let map: MappedFile

    public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
    static let maxStringBytes = 64 << 20
    static let maxArrayDepth = 8
    static let maxDims = 4

    public convenience init(path: String) throws {
        try self.init(map: MappedFile(path: path))
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
        // Each tensor info takes at least 4+8+4+8+4+8 bytes; each key-value pair at least 8+1+4+1.
        let tensorCount = try r.count("tensor count", minBytesEach: 36)
        let kvCount = try r.count("metadata key count", minBytesEach: 14)

        var keys: [String] = []
        var meta: [String: GGUFValue] = [:]
        keys.reserveCapacity(kvCount)
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
            guard let v = a.int, v > 0, v <= 1 << 20, v & (v - 1) == 0 else {
                throw GGUFError.invalidAlignment(a.int ?? -1)
            }
            alignment = v
        }
        self.alignment = alignment

        struct RawInfo { let name: String; let dims: [UInt64]; let rawType: UInt32; let offset: UInt64 }
        var raws: [RawInfo] = []
        raws.reserveCapacity(tensorCount)
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

        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for raw in raws {
            guard let type = GGMLType(rawValue: raw.rawType) else {
                throw GGUFError.unsupportedTensorType(tensor: raw.name, raw: raw.rawType)
            }
            // Every dimension must be positive and the element count must fit in the file
            // (no type stores less than 2 bits per weight).
            var elements: UInt64 = 1
            for d in raw.dims {
                let (p, o) = elements.multipliedReportingOverflow(by: d)
                guard d > 0, !o, p <= UInt64(map.size) * 4 else {
                    throw GGUFError.invalidTensorShape(tensor: raw.name, shape: raw.dims)
                }
                elements = p
            }
            let shape = raw.dims.map { Int($0) }
            guard shape[0] % type.blockSize == 0, let bytes = type.byteCount(elements: Int(elements)) else {
                throw GGUFError.invalidTensorShape(tensor: raw.name, shape: raw.dims)
            }
            guard raw.offset <= UInt64(Int.max / 2) else {
                throw GGUFError.tensorOutOfBounds(tensor: raw.name, offset: Int.max, bytes: bytes, fileSize: map.size)
            }
            let off = Int(raw.offset)
            guard off % alignment == 0 else { throw GGUFError.misalignedTensor(tensor: raw.name, offset: off, alignment: alignment) }
            guard off + bytes <= dataSize else {
                throw GGUFError.tensorOutOfBounds(tensor: raw.name, offset: off, bytes: bytes, fileSize: map.size)
            }
            guard index[raw.name] == nil else { throw GGUFError.duplicateTensor(raw.name) }
            index[raw.name] = infos.count
            infos.append(GGUFTensorInfo(name: raw.name, shape: shape, type: type, offset: off, byteCount: bytes))
        }
        self.tensors = infos
        self.tensorIndex = index
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// Pointer to a tensor's bytes inside the memory map (valid while this object lives).
    public func data(for info: GGUFTensorInfo) -> UnsafeRawPointer {
        map.base + dataOffset + info.offset
    }

    public subscript(key: String) -> GGUFValue? { metadata[key] }
}

/// A bounds-checked little-endian reader over the mapped bytes.
struct ByteCursor {
    let base: UnsafeRawPointer
    let size: Int
    var offset = 0

    func peekUInt32() -> UInt32 { base.loadUnaligned(as: UInt32.self).littleEndian }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= size - offset else { throw GGUFError.truncated(what: what, offset: offset, fileSize: size) }
    }

    mutating func read<T: FixedWidthInteger>(_ what: String, as: T.Type) throws -> T {
        try need(MemoryLayout<T>.size, what)
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func u32(_ what: String) throws -> UInt32 { try read(what, as: UInt32.self) }
    mutating func u64(_ what: String) throws -> UInt64 { try read(what, as: UInt64.self) }

    /// A count of items that each need at least `minBytesEach` bytes: capped by what the file can hold.
    mutating func count(_ what: String, minBytesEach: Int) throws -> Int {
        let v = try u64(what)
        let limit = UInt64(max(0, size - offset) / minBytesEach)
        guard v <= limit else { throw GGUFError.implausibleCount(what: what, value: v, limit: limit) }
        return Int(v)
    }

    mutating func string(_ what: String) throws -> String {
        let len = try u64("length of \(what)")
        let limit = UInt64(min(GGUFFile.maxStringBytes, size - offset))
        guard len <= limit else { throw GGUFError.implausibleCount(what: "length of \(what)", value: len, limit: limit) }
        let n = Int(len)
        let start = offset
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: n)
        offset += n
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw GGUFError.invalidUTF8(what: what, offset: start)
        }
        return s
    }

    mutating func value(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        let what = "value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try read(what, as: UInt8.self))
        case .int8: return .int8(try read(what, as: Int8.self))
        case .uint16: return .uint16(try read(what, as: UInt16.self))
        case .int16: return .int16(try read(what, as: Int16.self))
        case .uint32: return .uint32(try read(what, as: UInt32.self))
        case .int32: return .int32(try read(what, as: Int32.self))
        case .uint64: return .uint64(try read(what, as: UInt64.self))
        case .int64: return .int64(try read(what, as: Int64.self))
        case .float32: return .float32(Float(bitPattern: try read(what, as: UInt32.self)))
        case .float64: return .float64(Double(bitPattern: try read(what, as: UInt64.self)))
        case .bool:
            let b = try read(what, as: UInt8.self)
            return .bool(b != 0)
        case .string: return .string(try string(what))
        case .array:
            guard depth < GGUFFile.maxArrayDepth else {
                throw GGUFError.implausibleCount(what: "array nesting depth of '\(key)'", value: UInt64(depth + 1), limit: UInt64(GGUFFile.maxArrayDepth))
            }
            let rawType = try u32("element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.invalidValueType(key: key, raw: rawType)
            }
            // Strings take at least 8 bytes (their length), arrays at least 12.
            let minEach = elementType.fixedSize ?? (elementType == .string ? 8 : 12)
            let n = try count("array length of '\(key)'", minBytesEach: minEach)
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try value(elementType, key: key, depth: depth + 1)) }
            return .array(elementType: elementType, items)
        }
    }
}
