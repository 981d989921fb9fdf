// Malformed and hostile GGUF files: each must fail with the right typed GGUFError, never crash,
// hang or allocate without bound. Files are built byte by byte (GGUFBytes) so that any field can hold
// a value the writer would refuse.
import Foundation
import LLMFormats
import LLMTensor
import TestSupport
import XCTest

final class GGUFMalformedTests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir?.remove() }

    /// Writes `bytes` and asserts that reading them fails as `matches` says.
    func assertFails(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line, _ matches: (GGUFError) -> Bool) throws {
        assertReadFails(try dir.write(bytes), file: file, line: line, matches)
    }

    func testTheBaselineHandMadeFileIsValid() throws {
        let f = try GGUFFile(path: dir.write(GGUFBytes.file()))
        XCTAssertEqual(f.tensors.map(\.name), ["t"])
        XCTAssertEqual(f.tensors[0].byteCount, 16)
        XCTAssertEqual(f.dataOffset, 64)
    }

    // MARK: file level

    func testMissingPathDirectoryAndEmptyFile() throws {
        assertReadFails(dir.file("absent.gguf")) { $0 == .fileNotFound(path: self.dir.file("absent.gguf")) }
        assertReadFails(dir.path) { $0 == .isDirectory(path: self.dir.path) }
        try assertFails([]) { if case .notGGUF = $0 { return true }; return false }
        try assertFails(Array("GGU".utf8)) { if case .notGGUF = $0 { return true }; return false }
        try assertFails(Array("GGUF".utf8)) { if case .truncated = $0 { return true }; return false }
        // A FIFO must be refused, not opened (which would block until a writer appears).
        let fifo = dir.file("fifo.gguf")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        assertReadFails(fifo) { if case .unreadable(_, let reason) = $0 { return reason.contains("regular file") }; return false }
    }

    func testWrongMagic() throws {
        for magic in ["GGML", "GGUG", "FUGG", "\0\0\0\0"] {
            var b = GGUFBytes.file()
            b.replaceSubrange(0..<4, with: Array(magic.utf8))
            try assertFails(b) { if case .notGGUF = $0 { return true }; return false }
        }
    }

    func testUnsupportedVersions() throws {
        for v: UInt32 in [0, 1, 4, 99, UInt32(3).byteSwapped] {
            try assertFails(GGUFBytes.file(version: v)) { $0 == .unsupportedVersion(v) }
        }
        // Version 2 has the same layout as 3.
        XCTAssertEqual(try GGUFFile(path: dir.write(GGUFBytes.file(version: 2))).version, 2)
    }

    // MARK: absurd counts and lengths

    func testAbsurdTensorAndKeyCounts() throws {
        for count: UInt64 in [1 << 62, UInt64.max, 1 << 21] {
            var b = GGUFBytes()
            b.header(tensors: count, kvs: 0)
            b.zeros(256)
            try assertFails(b.bytes) { if case .implausibleCount(let what, let v, _) = $0 { return what == "tensor count" && v == count }; return false }
            b = GGUFBytes()
            b.header(tensors: 0, kvs: count)
            b.zeros(256)
            try assertFails(b.bytes) { if case .implausibleCount(let what, let v, _) = $0 { return what == "metadata key count" && v == count }; return false }
        }
    }

    func testAbsurdStringLengths() throws {
        for len: UInt64 in [1 << 63, UInt64.max, 1 << 40, 300] {
            // As a key.
            try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.u64(len); $0.zeros(64) })) {
                if case .implausibleCount(let what, let v, _) = $0 { return what.contains("metadata key") && v == len }; return false
            }
            // As a string value.
            try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.key("k", type: 8); $0.u64(len); $0.zeros(64) })) {
                if case .implausibleCount(let what, let v, _) = $0 { return what.contains("'k'") && v == len }; return false
            }
            // As a tensor name.
            try assertFails(GGUFBytes.file(infos: { $0.u64(len); $0.zeros(64) })) {
                if case .implausibleCount(let what, let v, _) = $0 { return what.contains("tensor name") && v == len }; return false
            }
        }
    }

    func testAbsurdArrayLengths() throws {
        for (type, len): (UInt32, UInt64) in [(0, UInt64.max), (4, 1 << 62), (8, 1 << 40), (9, 1 << 33), (10, 100)] {
            try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.key("a", type: 9); $0.u32(type); $0.u64(len); $0.zeros(64) })) {
                if case .implausibleCount(let what, let v, _) = $0 { return what.contains("array length of 'a'") && v == len }; return false
            }
        }
    }

    /// An array length the file could hold but the metadata value cap forbids (a sparse 17 MB file).
    func testArrayLongerThanTheValueCap() throws {
        let len: UInt64 = (1 << 24) + 1
        let path = try dir.write(GGUFBytes.file(kvs: 1, metadata: { $0.key("a", type: 9); $0.u32(0); $0.u64(len) }, tensors: 0, infos: { _ in }, dataBytes: 0))
        XCTAssertEqual(truncate(path, off_t(len + 100)), 0)
        assertReadFails(path) { if case .implausibleCount(let what, let v, let limit) = $0 { return what.contains("array length") && v == len && limit == 1 << 24 }; return false }
    }

    func testDeeplyNestedArrays() throws {
        for depth in [9, 100, 10_000] {
            let bytes = GGUFBytes.file(kvs: 1, metadata: { b in
                b.key("deep", type: 9)
                for _ in 0..<depth { b.u32(9); b.u64(1) }
                b.u32(0); b.u64(0)
            })
            try assertFails(bytes) { if case .implausibleCount(let what, _, let limit) = $0 { return what.contains("nesting depth") && limit == 8 }; return false }
        }
        // Eight levels are allowed.
        let ok = GGUFBytes.file(kvs: 1, metadata: { b in
            b.key("deep", type: 9)
            for _ in 0..<7 { b.u32(9); b.u64(1) }
            b.u32(0); b.u64(2); b.u8(7); b.u8(8)
        })
        var v = try XCTUnwrap(GGUFFile(path: dir.write(ok))["deep"])
        for _ in 0..<7 { v = try XCTUnwrap(v.array?.first) }
        XCTAssertEqual(v, .array(elementType: .uint8, [.uint8(7), .uint8(8)]))
    }

    // MARK: bad values

    func testUnknownValueTypes() throws {
        try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.key("k", type: 13); $0.zeros(8) })) { $0 == .invalidValueType(key: "k", raw: 13) }
        try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.key("k", type: .max); $0.zeros(8) })) { $0 == .invalidValueType(key: "k", raw: .max) }
        try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.key("k", type: 9); $0.u32(99); $0.u64(1); $0.zeros(8) })) { $0 == .invalidValueType(key: "k", raw: 99) }
    }

    func testInvalidBoolAndUTF8() throws {
        try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.key("b", type: 7); $0.u8(2) })) {
            if case .invalidBool(let k, _, let raw) = $0 { return k == "b" && raw == 2 }; return false
        }
        try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.rawString([0x61, 0xFF, 0xFE]); $0.u32(4); $0.u32(1) })) {
            if case .invalidUTF8(let what, let off) = $0 { return what == "metadata key" && off == 32 }; return false
        }
        // A 4-byte sequence cut after 3 bytes: repairing it would keep the length, it must still fail.
        try assertFails(GGUFBytes.file(kvs: 2, metadata: { $0.kvString("s", ""); $0.key("k", type: 8); $0.rawString([0xF0, 0x9F, 0x98]) })) {
            if case .invalidUTF8 = $0 { return true }; return false
        }
        try assertFails(GGUFBytes.file(infos: { $0.rawString([0xC3]); $0.u32(1); $0.u64(4); $0.u32(0); $0.u64(0) })) {
            if case .invalidUTF8(let what, _) = $0 { return what == "tensor name" }; return false
        }
    }

    func testDuplicateKeysAndTensors() throws {
        try assertFails(GGUFBytes.file(kvs: 2, metadata: { $0.kvU32("a.b", 1); $0.kvString("a.b", "x") })) { $0 == .duplicateKey("a.b") }
        try assertFails(GGUFBytes.file(tensors: 2, infos: { $0.tensorInfo("w", dims: [4]); $0.tensorInfo("w", dims: [4], offset: 32) }, dataBytes: 64)) {
            $0 == .duplicateTensor("w")
        }
    }

    func testInvalidAlignment() throws {
        for a: UInt32 in [0, 3, 24, 1 << 21] {
            try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.kvU32("general.alignment", a) })) { $0 == .invalidAlignment(Int(a)) }
        }
        try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.kvString("general.alignment", "32") })) { $0 == .invalidAlignment(-1) }
        try assertFails(GGUFBytes.file(kvs: 1, metadata: { $0.key("general.alignment", type: 7); $0.u8(1) })) { $0 == .invalidAlignment(-1) }
        // A valid other alignment moves the data section.
        let f = try GGUFFile(path: dir.write(GGUFBytes.file(kvs: 1, metadata: { $0.kvU32("general.alignment", 64) }, alignment: 64, dataBytes: 64)))
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(f.dataOffset % 64, 0)
    }

    // MARK: bad tensor infos

    func testUnknownTensorTypes() throws {
        for raw: UInt32 in [99, 4, 5, 9, 15, 39, .max] {
            try assertFails(GGUFBytes.file(infos: { $0.tensorInfo("t", dims: [4], type: raw) })) { $0 == .unsupportedTensorType(tensor: "t", raw: raw) }
        }
    }

    func testDimensionCounts() throws {
        for n: UInt32 in [0, 5, .max] {
            try assertFails(GGUFBytes.file(infos: { $0.string("t"); $0.u32(n); $0.zeros(64) })) {
                if case .implausibleCount(let what, let v, let limit) = $0 { return what.contains("dimension count") && v == UInt64(n) && limit == 4 }; return false
            }
        }
    }

    func testInvalidShapes() throws {
        let shapes: [([UInt64], UInt32)] = [
            ([4, 0], 0), ([0], 0),                       // zero dimension
            ([1 << 32, 1 << 32, 1 << 32], 0),           // product overflows UInt64
            ([UInt64.max], 0), ([1 << 62, 4], 0),        // element count beyond Int
            ([1 << 62], 0),                              // byte count beyond Int
            ([33], 8), ([255, 1], 12),                   // rows not a whole number of blocks (Q8_0, Q4_K)
        ]
        for (dims, type) in shapes {
            try assertFails(GGUFBytes.file(infos: { $0.tensorInfo("t", dims: dims, type: type) })) { $0 == .invalidTensorShape(tensor: "t", shape: dims) }
        }
    }

    func testTensorDataOutsideTheFile() throws {
        for off: UInt64 in [32, 64, 1 << 40, 1 << 62, 1 << 63, UInt64.max - 31] {
            try assertFails(GGUFBytes.file(infos: { $0.tensorInfo("t", dims: [4], offset: off) })) {
                if case .tensorOutOfBounds(let t, _, let bytes, _) = $0 { return t == "t" && bytes == 16 }; return false
            }
        }
        // The data section holds 15 of the 16 bytes.
        try assertFails(GGUFBytes.file(dataBytes: 15)) { if case .tensorOutOfBounds = $0 { return true }; return false }
        // Well-formed shapes (64 weights; 2^40 weights) whose data the 32-byte section cannot hold.
        for dims: [UInt64] in [[16, 4], [1 << 40], [1 << 20, 1 << 20, 1 << 10]] {
            try assertFails(GGUFBytes.file(infos: { $0.tensorInfo("t", dims: dims) })) { if case .tensorOutOfBounds = $0 { return true }; return false }
        }
    }

    func testMisalignedTensorOffset() throws {
        for off: UInt64 in [1, 4, 16, 31] {
            try assertFails(GGUFBytes.file(infos: { $0.tensorInfo("t", dims: [4], offset: off) }, dataBytes: 64)) {
                $0 == .misalignedTensor(tensor: "t", offset: Int(off), alignment: 32)
            }
        }
    }

    // MARK: truncation and corruption

    /// A valid writer-made file with every metadata type and several tensors, cut at every offset
    /// before the end of its last tensor's data.
    func testSyntheticFileTruncatedAtEveryOffset() throws {
        let path = dir.file("full.gguf")
        let w = try GGUFWriterTests.sampleWriter()
        try w.write(to: path)
        let full = try GGUFFile(path: path)
        let last = try XCTUnwrap(full.tensors.last)
        let end = full.dataOffset + last.offset + last.byteCount
        XCTAssertGreaterThan(end, 500)
        let fd = open(path, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        for cut in stride(from: end - 1, through: 0, by: -1) {
            XCTAssertEqual(ftruncate(fd, off_t(cut)), 0)
            assertReadFails(path, "(cut at \(cut))") { e in
                switch e {
                case .notGGUF, .truncated, .implausibleCount, .tensorOutOfBounds: return true
                default: return false
                }
            }
        }
    }

    /// The first 2 MB of the real model (header, 1.8 MB of metadata, tensor infos, the first tensors),
    /// cut at ~200 offsets spread over every region.
    func testRealModelPrefixTruncatedAtManyOffsets() throws {
        let model = try GGUFFile(path: TestPaths.smollm2())
        let prefixSize = 2 << 20
        XCTAssertLessThan(model.dataOffset, prefixSize)
        let prefix = try XCTUnwrap(FileHandle(forReadingAtPath: model.path)?.readData(ofLength: prefixSize))
        let path = try dir.write(Array(prefix), to: "prefix.gguf")

        // Every offset of the header and first keys, then even spreads over metadata, tensor infos and data.
        var cuts = Set(0..<64)
        var rng = SeededGenerator(seed: 42)
        // (Each cut costs a parse up to it, ~20 ms in debug past the 1.8 MB of metadata, so the later
        // regions get fewer cuts.)
        let regions = [(64, 1_100, 36), (1_100, model.dataOffset - 20_000, 50), (model.dataOffset - 20_000, model.dataOffset, 35), (model.dataOffset, prefixSize, 15)]
        for (lo, hi, n) in regions {
            for _ in 0..<n { cuts.insert(lo + Int(rng.next() % UInt64(hi - lo))) }
        }
        cuts.insert(model.dataOffset)
        cuts.insert(model.dataOffset - 1)
        cuts.insert(prefixSize)  // the prefix itself: tensors run past its end
        XCTAssertGreaterThanOrEqual(cuts.count, 190)

        let fd = open(path, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        for cut in cuts.sorted(by: >) {
            XCTAssertEqual(ftruncate(fd, off_t(cut)), 0)
            assertReadFails(path, "(cut at \(cut))") { e in
                switch e {
                case .notGGUF, .truncated, .implausibleCount, .tensorOutOfBounds: return true
                default: return false
                }
            }
        }
    }

    /// Random byte corruptions of a small valid file: reading either succeeds or throws a GGUFError.
    func testRandomCorruptionNeverCrashes() throws {
        let path = dir.file("sample.gguf")
        try GGUFWriterTests.sampleWriter().write(to: path)
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = SeededGenerator(seed: 7)
        var failures = 0
        for _ in 0..<400 {
            var b = original
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(b.count))
                // Mostly small perturbations of lengths/types, sometimes all-ones bytes.
                b[i] = rng.next() % 4 == 0 ? 0xFF : b[i] &+ UInt8(truncatingIfNeeded: rng.next() % 5 + 1)
            }
            let p = try dir.write(b, to: "corrupt.gguf")
            do { _ = try GGUFFile(path: p) } catch is GGUFError { failures += 1 }
        }
        XCTAssertGreaterThan(failures, 100)
    }
}
