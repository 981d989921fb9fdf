// Helpers for the GGUF tests: a byte builder for hand-made (often hostile) files, a temporary folder,
// and an assertion that reading a file fails with a given kind of GGUFError.
import Foundation
import LLMFormats
import XCTest

/// Little-endian GGUF bytes written field by field, so a test can put any value anywhere.
struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) { rawString(Array(s.utf8)) }
    mutating func rawString(_ b: [UInt8]) { u64(UInt64(b.count)); bytes.append(contentsOf: b) }
    mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }
    mutating func pad(to alignment: Int) { zeros((alignment - bytes.count % alignment) % alignment) }

    /// Magic, version and the two counts.
    mutating func header(magic: UInt32 = 0x4655_4747, version: UInt32 = 3, tensors: UInt64, kvs: UInt64) {
        u32(magic); u32(version); u64(tensors); u64(kvs)
    }

    /// A key and its value type; the caller writes the value.
    mutating func key(_ k: String, type: UInt32) { string(k); u32(type) }
    mutating func kvU32(_ k: String, _ v: UInt32) { key(k, type: 4); u32(v) }
    mutating func kvString(_ k: String, _ v: String) { key(k, type: 8); string(v) }

    mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0) {
        string(name); u32(UInt32(dims.count))
        for d in dims { u64(d) }
        u32(type); u64(offset)
    }

    /// A complete file: `kvs` metadata pairs written by `metadata`, `tensors` infos written by `infos`,
    /// padding to `alignment`, then `dataBytes` zero bytes of tensor data.
    static func file(
        version: UInt32 = 3, kvs: UInt64 = 0, metadata: (inout GGUFBytes) -> Void = { _ in },
        tensors: UInt64 = 1, infos: (inout GGUFBytes) -> Void = { $0.tensorInfo("t", dims: [4]) },
        alignment: Int = 32, dataBytes: Int = 32
    ) -> [UInt8] {
        var b = GGUFBytes()
        b.header(version: version, tensors: tensors, kvs: kvs)
        metadata(&b)
        infos(&b)
        b.pad(to: alignment)
        b.zeros(dataBytes)
        return b.bytes
    }
}

/// A fresh folder under the system's temporary folder, removed by `remove()`.
struct TempDir {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("llmdrop-fmt-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to the file `name` (plain POSIX I/O: Foundation's `Data.write` fsyncs, which
    /// makes hundreds of small test files slow).
    func write(_ bytes: [UInt8], to name: String = "case.gguf") throws -> String {
        let p = file(name)
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw CocoaError(.fileWriteUnknown) }
        return p
    }

    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Asserts that reading `path` throws a GGUFError for which `matches` is true.
func assertReadFails(
    _ path: String, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line, _ matches: (GGUFError) -> Bool
) {
    do {
        let f = try GGUFFile(path: path)
        XCTFail("read succeeded (\(f.tensors.count) tensors) but should have failed \(message())", file: file, line: line)
    } catch let e as GGUFError {
        XCTAssertTrue(matches(e), "unexpected error: \(e) \(message())", file: file, line: line)
    } catch {
        XCTFail("not a GGUFError: \(error) \(message())", file: file, line: line)
    }
}

/// Asserts that `body` throws a GGUFError for which `matches` is true.
func assertThrowsGGUF<T>(
    _ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line,
    _ matches: (GGUFError) -> Bool
) {
    do {
        _ = try body()
        XCTFail("did not throw", file: file, line: line)
    } catch let e as GGUFError {
        XCTAssertTrue(matches(e), "unexpected error: \(e)", file: file, line: line)
    } catch {
        XCTFail("not a GGUFError: \(error)", file: file, line: line)
    }
}

/// Byte-wise equality of two memory ranges.
func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    return memcmp(pa, pb, a.count) == 0
}
