// The safetensors writer read back by our reader (header as the safetensors library writes it: space-padded
// to 8 bytes, `__metadata__` first, data ordered by dtype size then name), sharding with an index, and the
// atomic output folder (replaces an earlier checkpoint, refuses files, foreign folders and the input).
import Foundation
import LLMFormats
import TestSupport
import XCTest

final class SafetensorsWriterTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func tensor(_ name: String, _ dtype: SafetensorsDType, _ shape: [Int], fill: UInt8) -> SafetensorsTensorSource {
        let bytes = [UInt8](repeating: fill, count: shape.reduce(1, *) * dtype.size)
        return SafetensorsTensorSource(name: name, dtype: dtype, shape: shape) { body in
            // In two pieces, as a converting source hands them over.
            try bytes.withUnsafeBytes { b in
                try body(UnsafeRawBufferPointer(rebasing: b[..<(b.count / 2)]))
                try body(UnsafeRawBufferPointer(rebasing: b[(b.count / 2)...]))
            }
        }
    }

    func testOneFileReadsBackWithTheLibrarysLayout() throws {
        var w = SafetensorsWriter()
        try w.add(tensor("z.weight", .bf16, [3, 2], fill: 1))
        try w.add(tensor("a.weight", .f32, [4], fill: 2))
        try w.add(tensor("b", .f32, [1, 3], fill: 3))
        XCTAssertThrowsError(try w.add(tensor("b", .f32, [1], fill: 0)))
        let files = try w.write(into: dir.path)
        XCTAssertEqual(files, ["model.safetensors"])
        let path = dir.appendingPathComponent("model.safetensors").path
        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.tensors.map(\.name), ["a.weight", "b", "z.weight"])   // F32 before BF16, then by name
        XCTAssertEqual(f.tensor(named: "z.weight")?.shape, [3, 2])
        XCTAssertEqual(Array(f.bytes(for: f.tensor(named: "b")!)), [UInt8](repeating: 3, count: 12))
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual(n % 8, 0)
        let header = String(decoding: data[8..<(8 + n)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix(#"{"__metadata__":{"format":"pt"},"a.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}"#), header)
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces).last, "}")
    }

    func testShardsWithAnIndex() throws {
        var w = SafetensorsWriter()
        for i in 0..<5 { try w.add(tensor("t\(i)", .f32, [10], fill: UInt8(i))) }
        let files = try w.write(into: dir.path, maxShardBytes: 100)   // 40 bytes each: two per shard
        XCTAssertEqual(files, ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                               "model-00003-of-00003.safetensors", "model.safetensors.index.json"])
        let index = try XCTUnwrap(TestPaths.json(dir.appendingPathComponent("model.safetensors.index.json")) as? [String: Any])
        XCTAssertEqual((index["metadata"] as? [String: Any])?["total_size"] as? Int, 200)
        XCTAssertEqual((index["weight_map"] as? [String: String])?["t4"], "model-00003-of-00003.safetensors")
        let c = try SafetensorsCheckpoint(folder: dir.path)
        XCTAssertEqual(c.tensors.map(\.tensor.name).sorted(), ["t0", "t1", "t2", "t3", "t4"])
    }

    func testAtomicFolder() throws {
        let out = dir.appendingPathComponent("ckpt").path
        let a = try AtomicFolder(finalPath: out)
        try a.write(Data("{}".utf8), as: "config.json")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))   // nothing at the destination before commit
        try a.commit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/config.json"))
        // An earlier checkpoint is replaced whole.
        let b = try AtomicFolder(finalPath: out)
        try b.write(Data("x".utf8), as: "other.json")
        try b.commit()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["other.json"])
        // Discarded: nothing left beside the destination.
        let c = try AtomicFolder(finalPath: dir.appendingPathComponent("gone").path)
        try c.write(Data("x".utf8), as: "f")
        c.discard()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["ckpt"])
        // A file, and a folder that is not a checkpoint, are not replaced.
        let file = dir.appendingPathComponent("file").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try AtomicFolder(finalPath: file)) { XCTAssertEqual($0 as? OutputFolderError, .notAFolder(path: file)) }
        let foreign = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: foreign.appendingPathComponent("a.jpg"))
        XCTAssertThrowsError(try AtomicFolder(finalPath: foreign.path)) { XCTAssertEqual($0 as? OutputFolderError, .notReplaceable(path: foreign.path)) }
        // Output and input apart.
        XCTAssertThrowsError(try OutputFolderError.checkApart(output: out + "/sub", input: out))
        XCTAssertThrowsError(try OutputFolderError.checkApart(output: dir.path, input: file))
        XCTAssertNoThrow(try OutputFolderError.checkApart(output: out, input: file))
    }
}
