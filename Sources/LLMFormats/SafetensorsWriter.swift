// Writes safetensors files (spec: huggingface/safetensors README, "Format") the way the safetensors
// library's `serialize` does: the tensors' data in the order (dtype, largest first; then name), the
// header a compact JSON object with `__metadata__` first and then the tensors in data order, padded
// with spaces to a multiple of 8 bytes; `__metadata__` {"format": "pt"} as transformers' save_pretrained
// writes it. A model larger than `maxShardBytes` (default 5 GB, transformers' `max_shard_size`) is split
// as huggingface_hub's `split_torch_state_dict_into_shards` does — tensors in the order given, a new shard
// when the next tensor would overflow the current one — into `model-0000i-of-0000n.safetensors` with
// `model.safetensors.index.json` ({"metadata": {"total_size": bytes}, "weight_map": {tensor: file}}).
// Tensor bytes are pulled from their sources while the file is written (no copy of the model in memory).
import Foundation

/// One tensor to write: name, dtype, row-major shape, and a way to reach its bytes while it is written.
public struct SafetensorsTensorSource {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major (PyTorch) order: the last dimension is contiguous.
    public let shape: [Int]
    public let byteCount: Int
    let withBytes: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

    /// `withBytes` calls its argument one or more times with consecutive pieces of the tensor's bytes,
    /// `byteCount` bytes in all; it is called only while the tensor is written.
    public init(name: String, dtype: SafetensorsDType, shape: [Int],
                withBytes: @escaping ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        byteCount = shape.reduce(1, *) * dtype.size
        self.withBytes = withBytes
    }
}

public struct SafetensorsWriter {
    /// transformers' default `max_shard_size` ("5GB", decimal).
    public static let defaultMaxShardBytes = 5_000_000_000

    public var metadata: [String: String] = ["format": "pt"]
    public private(set) var tensors: [SafetensorsTensorSource] = []
    private var names: Set<String> = []

    public init() {}

    public mutating func add(_ t: SafetensorsTensorSource) throws {
        guard !t.name.isEmpty, t.name != "__metadata__", names.insert(t.name).inserted else {
            throw SafetensorsError.invalidEntry(path: "(writing)", tensor: t.name, reason: "the name is empty, reserved or used twice")
        }
        tensors.append(t)
    }

    public var totalBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }

    /// The shards: groups of tensors in the order given, each at most `maxShardBytes` unless one tensor is larger.
    public func shards(maxShardBytes: Int) -> [[SafetensorsTensorSource]] {
        var out: [[SafetensorsTensorSource]] = []
        var current: [SafetensorsTensorSource] = [], size = 0
        for t in tensors {
            if !current.isEmpty && size + t.byteCount > maxShardBytes {
                out.append(current)
                (current, size) = ([], 0)
            }
            current.append(t)
            size += t.byteCount
        }
        if !current.isEmpty || out.isEmpty { out.append(current) }
        return out
    }

    /// Writes `model.safetensors`, or shards and `model.safetensors.index.json`, into the existing
    /// `folder` (each file atomically). Returns the names of the files written.
    @discardableResult
    public func write(into folder: String, maxShardBytes: Int = defaultMaxShardBytes,
                      progress: ((_ bytesDone: Int, _ bytesTotal: Int) -> Void)? = nil) throws -> [String] {
        let groups = shards(maxShardBytes: max(1, maxShardBytes))
        let total = totalBytes
        var done = 0
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        if groups.count == 1 {
            try Self.writeFile(groups[0], metadata: metadata, to: path("model.safetensors")) { done += $0; progress?(done, total) }
            return ["model.safetensors"]
        }
        var files: [String] = []
        var weightMap: [String: String] = [:]
        for (i, group) in groups.enumerated() {
            let name = String(format: "model-%05d-of-%05d.safetensors", i + 1, groups.count)
            try Self.writeFile(group, metadata: metadata, to: path(name)) { done += $0; progress?(done, total) }
            for t in group { weightMap[t.name] = name }
            files.append(name)
        }
        let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": weightMap]
        try AtomicOutput.write(try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys]),
                               to: path(SafetensorsCheckpoint.indexName))
        return files + [SafetensorsCheckpoint.indexName]
    }

    /// The safetensors library's data order: dtype (largest first), then name.
    static func dataOrder(_ tensors: [SafetensorsTensorSource]) -> [SafetensorsTensorSource] {
        tensors.sorted { a, b in a.dtype.size != b.dtype.size ? a.dtype.size > b.dtype.size : a.name < b.name }
    }

    /// The 8-byte length and the space-padded JSON header for `ordered` tensors (already in data order).
    public static func header(_ ordered: [SafetensorsTensorSource], metadata: [String: String]) -> [UInt8] {
        var json = "{"
        if !metadata.isEmpty {
            json += "\"__metadata__\":{" + metadata.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\(quote($0.value))" }.joined(separator: ",") + "}"
        }
        var offset = 0
        for t in ordered {
            if json.count > 1 { json += "," }
            json += "\(quote(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + t.byteCount)]}"
            offset += t.byteCount
        }
        json += "}"
        var body = Array(json.utf8)
        body.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - body.count % 8) % 8))
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { out.append(contentsOf: $0) }
        return out + body
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func writeFile(_ tensors: [SafetensorsTensorSource], metadata: [String: String], to path: String,
                          wrote: (Int) -> Void) throws {
        let ordered = dataOrder(tensors)
        let header = header(ordered, metadata: metadata)
        let file = try AtomicOutput(finalPath: path)
        do {
            try header.withUnsafeBytes { try file.write($0) }
            for t in ordered {
                try file.writeTensor(t.name, byteCount: t.byteCount, t.withBytes)
                wrote(t.byteCount)
            }
            try file.commit()
        } catch {
            file.discard()
            throw error
        }
    }
}
