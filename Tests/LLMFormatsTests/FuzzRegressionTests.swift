// The in-memory reader the GGUF fuzz target uses (`GGUFFile(bytes:)`, Fuzz/Sources/fuzz-gguf), and
// inputs from fuzzing: each must read as before or fail with a typed GGUFError, never crash.
import Foundation
import LLMFormats
import TestSupport
import XCTest

final class GGUFFuzzRegressionTests: XCTestCase {
    /// A file with metadata of several types and two tensors (F32 and Q8_0).
    private func sampleFile() -> [UInt8] {
        GGUFBytes.file(
            kvs: 3,
            metadata: {
                $0.kvString("general.architecture", "llama")
                $0.kvU32("general.alignment", 64)
                $0.key("tokenizer.ggml.tokens", type: 9); $0.u32(8); $0.u64(2); $0.string("a"); $0.string("\u{2581}b")
            },
            tensors: 2,
            infos: {
                $0.tensorInfo("f32", dims: [4, 2], type: 0, offset: 0)
                $0.tensorInfo("q8", dims: [32], type: 8, offset: 64)
            },
            alignment: 64, dataBytes: 64 + 34)
    }

    func testInMemoryReadMatchesFileRead() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let bytes = sampleFile()
        let fromFile = try GGUFFile(path: dir.write(bytes))
        let inMemory = try GGUFFile(bytes: bytes, path: "sample.gguf")
        XCTAssertEqual(inMemory.path, "sample.gguf")
        XCTAssertEqual(inMemory.fileSize, bytes.count)
        XCTAssertEqual(inMemory.metadataKeys, fromFile.metadataKeys)
        XCTAssertEqual(inMemory.metadata, fromFile.metadata)
        XCTAssertEqual(inMemory.tensors, fromFile.tensors)
        XCTAssertEqual(inMemory.alignment, 64)
        XCTAssertEqual(inMemory.dataOffset, fromFile.dataOffset)
        for t in inMemory.tensors {
            XCTAssertTrue(sameBytes(inMemory.bytes(for: t), fromFile.bytes(for: t)), t.name)
        }
    }

    func testInMemoryReaderCopiesItsInput() throws {
        var bytes = sampleFile()
        let f = try GGUFFile(bytes: bytes)
        let info = try XCTUnwrap(f.tensor(named: "q8"))
        let before = Array(f.bytes(for: info))
        for i in bytes.indices { bytes[i] = 0xFF }
        XCTAssertEqual(Array(f.bytes(for: info)), before)
    }

    func testEmptyInputIsNotGGUF() {
        assertThrowsGGUF(try GGUFFile(bytes: [])) { $0 == .notGGUF(path: "<memory>") }
        assertThrowsGGUF(try GGUFFile(bytes: Array("GGU".utf8), path: "x")) { $0 == .notGGUF(path: "x") }
    }

    /// Every proper prefix of a valid file is refused with a GGUFError (in memory, the copy is exactly
    /// the prefix long, so a read past it would be caught by AddressSanitizer in the fuzz build).
    func testEveryTruncationFailsWithATypedError() throws {
        let bytes = sampleFile()
        XCTAssertNoThrow(try GGUFFile(bytes: bytes))
        for n in 0 ..< bytes.count {
            assertThrowsGGUF(try GGUFFile(bytes: Array(bytes[..<n]))) { _ in true }
        }
    }
}
