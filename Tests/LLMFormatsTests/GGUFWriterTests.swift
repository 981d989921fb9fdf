// GGUFWriter: metadata and tensor round trips through GGUFFile, alignment, input validation, atomic
// replacement, and a copy of the whole real model that must reread identically.
import Foundation
import LLMFormats
import LLMTensor
import TestSupport
import XCTest

final class GGUFWriterTests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir?.remove() }

    /// One value of every metadata type, with edge cases: extremes, special floats, empty and
    /// non-ASCII strings, empty arrays, arrays of arrays.
    static let everyType: [(String, GGUFValue)] = [
        ("t.uint8", .uint8(.max)), ("t.int8", .int8(.min)),
        ("t.uint16", .uint16(.max)), ("t.int16", .int16(.min)),
        ("t.uint32", .uint32(.max)), ("t.int32", .int32(.min)),
        ("t.uint64", .uint64(.max)), ("t.int64", .int64(.min)),
        ("t.float32", .float32(Float(bitPattern: 0x8000_0431))), ("t.float32_inf", .float32(-.infinity)),
        ("t.float64", .float64(.pi)), ("t.float64_tiny", .float64(.leastNonzeroMagnitude)),
        ("t.bool_true", .bool(true)), ("t.bool_false", .bool(false)),
        ("t.string", .string("llama")), ("t.string_empty", .string("")),
        ("t.string_unicode", .string("Ġhello ünï©ødé 🎉\n\t\"")),
        ("t.array_empty", .array(elementType: .uint8, [])),
        ("t.array_empty_strings", .array(elementType: .string, [])),
        ("t.array_strings", .array(elementType: .string, [.string(""), .string("a"), .string("Ġb")])),
        ("t.array_bools", .array(elementType: .bool, [.bool(true), .bool(false)])),
        ("t.array_int32", .array(elementType: .int32, [.int32(-1), .int32(0), .int32(.max)])),
        ("t.array_float32", .array(elementType: .float32, [.float32(0.5), .float32(-0.0)])),
        ("t.array_float64", .array(elementType: .float64, [.float64(1e300)])),
        ("t.array_uint64", .array(elementType: .uint64, [.uint64(0), .uint64(.max)])),
        ("t.nested", .array(elementType: .array, [
            .array(elementType: .string, [.string("x")]),
            .array(elementType: .uint16, []),
            .array(elementType: .array, [.array(elementType: .int8, [.int8(-3)])]),
        ])),
        ("t.nested_empty", .array(elementType: .array, [])),
    ]

    /// Every metadata type and three tensors of different types and sizes (none a multiple of 32 bytes).
    static func sampleWriter(alignment: Int = 32) throws -> GGUFWriter {
        var w = GGUFWriter(alignment: alignment)
        w.set("general.architecture", .string("llama"))
        for (k, v) in everyType { w.set(k, v) }
        try w.addTensor(name: "a.weight", shape: [3], floats: [1, -2, 3.5])
        let q8 = (0..<34 * 2).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        try w.addTensor(name: "blk.0.q.weight", type: .q8_0, shape: [32, 2], bytes: q8)
        try w.addTensor(name: "b.bias", type: .f16, shape: [5, 1, 1], bytes: [UInt8](repeating: 0x3C, count: 10))
        return w
    }

    func testEveryMetadataTypeRoundTrips() throws {
        let path = dir.file("meta.gguf")
        try Self.sampleWriter().write(to: path)
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.metadataKeys, ["general.architecture"] + Self.everyType.map(\.0))
        for (k, v) in Self.everyType { XCTAssertEqual(f[k], v, k) }
        // Bit-exact floats (== cannot tell -0.0 from 0.0).
        XCTAssertEqual(f["t.array_float32"]?.array?.last, .float32(-0.0))
        if case .float32(let z)? = f["t.array_float32"]?.array?.last { XCTAssertEqual(z.bitPattern, (-0.0 as Float).bitPattern) } else { XCTFail("t.array_float32") }
        if case .float32(let x)? = f["t.float32"] { XCTAssertEqual(x.bitPattern, 0x8000_0431) } else { XCTFail("t.float32") }

        XCTAssertEqual(f.tensors.map(\.name), ["a.weight", "blk.0.q.weight", "b.bias"])
        XCTAssertEqual(f.tensors.map(\.shape), [[3], [32, 2], [5, 1, 1]])
        XCTAssertEqual(f.tensors.map(\.type), [.f32, .q8_0, .f16])
        XCTAssertEqual(f.tensors.map(\.offset), [0, 32, 128])
        let a = f.bytes(for: f.tensors[0])
        XCTAssertEqual(Array(a.bindMemory(to: Float.self)), [1, -2, 3.5])
        let q = f.bytes(for: f.tensors[1])
        XCTAssertEqual(Array(q), (0..<68).map { UInt8(truncatingIfNeeded: $0 &* 37) })
        // Padding after every tensor, the last included; padding bytes are zero.
        XCTAssertEqual(f.fileSize, f.dataOffset + 160)
        let raw = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertTrue(raw[(f.dataOffset + 12)..<(f.dataOffset + 32)].allSatisfy { $0 == 0 })
    }

    func testEmptyFileHasHeaderOnly() throws {
        let path = dir.file("empty.gguf")
        try GGUFWriter().write(to: path)
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.metadataKeys, [])
        XCTAssertEqual(f.tensors, [])
        XCTAssertEqual(f.fileSize, 32)  // 24-byte header padded to the alignment
    }

    func testSetKeepsOrderAndReplacesInPlace() throws {
        var w = GGUFWriter()
        w.set("a", .uint32(1)); w.set("b", .uint32(2)); w.set("c", .uint32(3))
        w.set("b", .string("two"))
        w.remove("a")
        w.remove("absent")
        w.set("a", .bool(true))
        XCTAssertEqual(w.metadataKeys, ["b", "c", "a"])
        XCTAssertEqual(w["b"], .string("two"))
        let path = dir.file("order.gguf")
        try w.write(to: path)
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.metadataKeys, ["b", "c", "a"])
        XCTAssertEqual(f["b"], .string("two"))
        XCTAssertEqual(f["a"], .bool(true))
    }

    func testAlignment64() throws {
        let path = dir.file("a64.gguf")
        let w = try Self.sampleWriter(alignment: 64)
        XCTAssertEqual(w.alignment, 64)
        try w.write(to: path)
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(f["general.alignment"], .uint32(64))
        XCTAssertEqual(f.dataOffset % 64, 0)
        XCTAssertEqual(f.tensors.map(\.offset), [0, 64, 192])
        XCTAssertEqual(f.fileSize, f.dataOffset + 256)
        XCTAssertEqual(Array(f.bytes(for: f.tensors[2])), [UInt8](repeating: 0x3C, count: 10))
        // Alignment also follows general.alignment set by hand (any integer type; written as uint32).
        var w2 = GGUFWriter()
        w2.set("general.alignment", .uint64(128))
        try w2.addTensor(name: "x", shape: [1], floats: [2])
        try w2.addTensor(name: "y", shape: [1], floats: [3])
        try w2.write(to: path)
        let f2 = try GGUFFile(path: path)
        XCTAssertEqual(f2.alignment, 128)
        XCTAssertEqual(f2["general.alignment"], .uint32(128))
        XCTAssertEqual(f2.tensors.map(\.offset), [0, 128])
        XCTAssertEqual(f2.dataOffset % 128, 0)
    }

    func testRefusesInvalidTensors() throws {
        var w = GGUFWriter()
        assertThrowsGGUF(try w.addTensor(name: "", shape: [1], floats: [1])) { $0 == .invalidTensorName("") }
        let long = String(repeating: "n", count: 64)
        assertThrowsGGUF(try w.addTensor(name: long, shape: [1], floats: [1])) { $0 == .invalidTensorName(long) }
        try w.addTensor(name: String(repeating: "n", count: 63), shape: [1], floats: [1])
        try w.addTensor(name: "x", shape: [2], floats: [1, 2])
        assertThrowsGGUF(try w.addTensor(name: "x", shape: [1], floats: [1])) { $0 == .duplicateTensorName("x") }
        for shape in [[], [0], [2, 0], [1, 1, 1, 1, 1], [-4], [Int.max, 2]] {
            assertThrowsGGUF(try w.addTensor(name: "s", type: .f32, shape: shape, bytes: [])) { $0 == .unwritableTensorShape(tensor: "s", shape: shape, type: .f32) }
        }
        assertThrowsGGUF(try w.addTensor(name: "q", type: .q8_0, shape: [33], bytes: [])) { $0 == .unwritableTensorShape(tensor: "q", shape: [33], type: .q8_0) }
        assertThrowsGGUF(try w.addTensor(name: "q", type: .q8_0, shape: [32], bytes: [UInt8](repeating: 0, count: 33))) { $0 == .tensorDataSize(tensor: "q", expected: 34, actual: 33) }
        assertThrowsGGUF(try w.addTensor(name: "f", shape: [3], floats: [1, 2])) { $0 == .tensorDataSize(tensor: "f", expected: 12, actual: 8) }
        let buffer = [UInt8](repeating: 0, count: 7)
        try buffer.withUnsafeBytes { raw in
            assertThrowsGGUF(try w.addTensor(name: "p", type: .f16, shape: [4], data: raw)) { $0 == .tensorDataSize(tensor: "p", expected: 8, actual: 7) }
        }
        XCTAssertEqual(w.tensors.map(\.name), [String(repeating: "n", count: 63), "x"])

        // A tensor info must come from the file it is copied from.
        try Self.sampleWriter().write(to: dir.file("a32.gguf"))
        try Self.sampleWriter(alignment: 64).write(to: dir.file("a64.gguf"))
        let (a32, a64) = try (GGUFFile(path: dir.file("a32.gguf")), GGUFFile(path: dir.file("a64.gguf")))
        let bias = try XCTUnwrap(a64.tensor(named: "b.bias"))
        assertThrowsGGUF(try w.addTensor(bias, from: a32)) { $0 == .tensorNotInFile(tensor: "b.bias", path: a32.path) }
        try w.addTensor(bias, from: a64)
    }

    func testRefusesInvalidMetadataBeforeCreatingAnything() throws {
        let path = dir.file("bad.gguf")
        let cases: [(String, GGUFValue)] = [
            ("mixed", .array(elementType: .uint8, [.uint8(1), .int8(2)])),
            ("nested_mixed", .array(elementType: .array, [.array(elementType: .string, [.uint32(1)])])),
            ("general.alignment", .uint32(0)),
            ("general.alignment", .uint32(3)),
            ("general.alignment", .uint32(4)),
            ("general.alignment", .string("32")),
            ("", .uint8(0)),
        ]
        for (key, value) in cases {
            var w = GGUFWriter()
            w.set(key, value)
            assertThrowsGGUF(try w.write(to: path)) { if case .invalidMetadata = $0 { return true }; return false }
        }
        var deep = GGUFValue.array(elementType: .uint8, [])
        for _ in 0..<8 { deep = .array(elementType: .array, [deep]) }
        var w = GGUFWriter()
        w.set("deep", deep)
        assertThrowsGGUF(try w.write(to: path)) { if case .invalidMetadata(let k, _) = $0 { return k == "deep" }; return false }
        assertThrowsGGUF(try GGUFWriter(alignment: -1).write(to: path)) { if case .invalidMetadata = $0 { return true }; return false }
        XCTAssertEqual(try dir.contents(), [])
    }

    // MARK: atomic replacement

    func testMissingFolderThrowsAndCreatesNothing() throws {
        let path = dir.file("missing/sub/out.gguf")
        assertThrowsGGUF(try Self.sampleWriter().write(to: path)) { if case .writeFailed(let p, _) = $0 { return p == path }; return false }
        XCTAssertEqual(try dir.contents(), [])
        assertThrowsGGUF(try Self.sampleWriter().write(to: dir.path)) { $0 == .isDirectory(path: self.dir.path) }
        XCTAssertEqual(try dir.contents(), [])
    }

    func testFailedWriteLeavesExistingFileUnchanged() throws {
        let path = dir.file("model.gguf")
        let original: [UInt8] = Array("existing contents".utf8)
        try Data(original).write(to: URL(fileURLWithPath: path))

        // A source that fails after the header and the first tensor were written.
        struct SourceFailed: Error {}
        var w = try Self.sampleWriter()
        try w.addTensor(GGUFTensorSource(name: "late", type: .f32, shape: [2]) { _ in throw SourceFailed() })
        XCTAssertThrowsError(try w.write(to: path)) { XCTAssertTrue($0 is SourceFailed, "\($0)") }
        XCTAssertEqual(try Array(Data(contentsOf: URL(fileURLWithPath: path))), original)
        XCTAssertEqual(try dir.contents(), ["model.gguf"])

        // A source that hands over the wrong number of bytes, or none.
        for provide in [[UInt8](repeating: 1, count: 4), nil] {
            var w2 = try Self.sampleWriter()
            try w2.addTensor(GGUFTensorSource(name: "short", type: .f32, shape: [2]) { body in
                if let bytes = provide { try bytes.withUnsafeBytes(body) }
            })
            assertThrowsGGUF(try w2.write(to: path)) { $0 == .tensorDataSize(tensor: "short", expected: 8, actual: provide?.count ?? 0) }
            XCTAssertEqual(try Array(Data(contentsOf: URL(fileURLWithPath: path))), original)
            XCTAssertEqual(try dir.contents(), ["model.gguf"])
        }

        // A successful write replaces the file and leaves no temporary file behind.
        try Self.sampleWriter().write(to: path)
        XCTAssertEqual(try GGUFFile(path: path).tensors.count, 3)
        XCTAssertEqual(try dir.contents(), ["model.gguf"])
    }

    func testRelativePathInCurrentFolder() throws {
        let old = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(old) }
        try Self.sampleWriter().write(to: "relative.gguf")
        XCTAssertEqual(try GGUFFile(path: dir.file("relative.gguf")).tensors.count, 3)
        XCTAssertEqual(try dir.contents(), ["relative.gguf"])
    }

    // MARK: the real model

    /// Copies all metadata and tensors of SmolLM2 (streamed from its memory map) into a new file; the
    /// reread file has the same metadata, tensor infos and tensor bytes.
    func testRealModelRoundTrip() throws {
        let src = try GGUFFile(path: TestPaths.smollm2())
        var w = GGUFWriter(copyingMetadataFrom: src)
        XCTAssertEqual(w.metadataKeys, src.metadataKeys)
        for info in src.tensors { try w.addTensor(info, from: src) }
        let path = dir.file("copy.gguf")
        try w.write(to: path)

        let out = try GGUFFile(path: path)
        XCTAssertEqual(out.metadataKeys, src.metadataKeys)
        XCTAssertEqual(out.metadata, src.metadata)
        XCTAssertEqual(out.alignment, src.alignment)
        XCTAssertEqual(out.tensors, src.tensors)
        XCTAssertEqual(out.dataOffset, src.dataOffset)
        for (a, b) in zip(src.tensors, out.tensors) {
            XCTAssertTrue(sameBytes(src.bytes(for: a), out.bytes(for: b)), a.name)
        }
    }

    /// Renaming and dropping tensors while copying, as a pruned model does.
    func testRealModelRenamedSubset() throws {
        let src = try GGUFFile(path: TestPaths.smollm2())
        var w = GGUFWriter(copyingMetadataFrom: src)
        w.set("llama.block_count", .uint32(1))
        for info in src.tensors where info.name.hasPrefix("blk.29.") {
            try w.addTensor(info, from: src, as: info.name.replacingOccurrences(of: "blk.29.", with: "blk.0."))
        }
        let path = dir.file("one-block.gguf")
        try w.write(to: path)
        let out = try GGUFFile(path: path)
        XCTAssertEqual(out["llama.block_count"], .uint32(1))
        XCTAssertEqual(out.metadataKeys, src.metadataKeys)
        XCTAssertEqual(out.tensors.count, 9)
        for t in out.tensors {
            let orig = try XCTUnwrap(src.tensor(named: t.name.replacingOccurrences(of: "blk.0.", with: "blk.29.")))
            XCTAssertEqual(t.shape, orig.shape)
            XCTAssertTrue(sameBytes(out.bytes(for: t), src.bytes(for: orig)), t.name)
        }
    }
}

/// Temporary files of a killed writer (its process gone) are removed by the next write to the same
/// destination; those of live processes are not.
final class AtomicOutputTests: XCTestCase {
    func testNextWriteRemovesTemporaryFilesOfDeadWriters() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let stale = dir.appendingPathComponent(".out.bin.tmp-\(finished.processIdentifier)-42")
        let live = dir.appendingPathComponent(".out.bin.tmp-1-7")   // PID 1 always exists
        let other = dir.appendingPathComponent(".other.bin.tmp-\(finished.processIdentifier)-9")
        for u in [stale, live, other] { try Data("partial".utf8).write(to: u) }
        try AtomicOutput.write(Data("whole".utf8), to: dir.appendingPathComponent("out.bin").path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: other.path), "another destination's file is not touched")
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("out.bin")), Data("whole".utf8))
    }
}
