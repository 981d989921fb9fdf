// The safetensors reader and Hugging Face folders on valid and hand-made malformed input: each problem
// is its typed error with a message naming the file, the tensor (or key) and the problem — never a crash.
import Foundation
import LLMFormats
import LLMTensor
import TestSupport
import XCTest

/// Builds safetensors bytes with any header, so that any field can hold a value the format forbids.
enum SafetensorsBytes {
    /// A file with the JSON `header` (padded with spaces to a multiple of 8, as safetensors writes it) and `data`.
    static func file(header: String, data: [UInt8], headerLength: UInt64? = nil, pad: Bool = true) -> [UInt8] {
        var h = Array(header.utf8)
        if pad { while h.count % 8 != 0 { h.append(0x20) } }
        var out: [UInt8] = []
        withUnsafeBytes(of: (headerLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + h + data
    }

    static func entry(_ name: String, _ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
    }

    /// Two F32 tensors "a" [2, 2] and "b" [3] (values 0…6) and metadata: a valid file.
    static func valid() -> [UInt8] {
        let data = (0..<7).flatMap { i in withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { Array($0) } }
        return file(header: "{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "F32", [2, 2], 0, 16) + "," + entry("b", "F32", [3], 16, 28) + "}", data: data)
    }
}

final class SafetensorsTests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir?.remove() }

    /// Reading `bytes` fails with an error that `matches` accepts and whose message contains every `words`.
    func assertFails(_ bytes: [UInt8], _ words: [String], file: StaticString = #filePath, line: UInt = #line,
                     _ matches: (SafetensorsError) -> Bool) throws {
        let p = try dir.write(bytes, to: "model.safetensors")
        do {
            let f = try SafetensorsFile(path: p)
            XCTFail("read succeeded (\(f.tensors.count) tensors) but should have failed", file: file, line: line)
        } catch let e as SafetensorsError {
            XCTAssertTrue(matches(e), "unexpected error: \(e)", file: file, line: line)
            for w in words + [p] { XCTAssertTrue(e.description.contains(w), "'\(e)' does not mention '\(w)'", file: file, line: line) }
        }
        // The same bytes held in memory fail the same way (the fuzz target's path).
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try SafetensorsFile(bytes: $0, path: p) }, file: file, line: line)
    }

    func testAValidFile() throws {
        let f = try SafetensorsFile(path: dir.write(SafetensorsBytes.valid(), to: "model.safetensors"))
        XCTAssertEqual(f.tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(f.tensors[0].shape, [2, 2])
        XCTAssertEqual(f.tensors[0].dtype, .f32)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        let b = try XCTUnwrap(f.tensor(named: "b"))
        XCTAssertEqual(b.byteCount, 12)
        let values = f.bytes(for: b).withMemoryRebound(to: Float.self) { Array($0) }
        XCTAssertEqual(values, [4, 5, 6])
        // Zero-element tensors are allowed (begin == end).
        let empty = SafetensorsBytes.file(header: "{" + SafetensorsBytes.entry("z", "F16", [0, 4], 0, 0) + "}", data: [])
        XCTAssertEqual(try SafetensorsFile(path: dir.write(empty, to: "e.safetensors")).tensors.count, 1)
    }

    func testHeaderLengthCapAndTruncation() throws {
        try assertFails([1, 2, 3], ["8-byte header length"]) { if case .truncatedHeader = $0 { return true }; return false }
        // Larger than the format's 100 MB cap.
        try assertFails(SafetensorsBytes.file(header: "{}", data: [], headerLength: 100_000_001), ["100000001", "limit"]) {
            if case .headerTooLarge(_, 100_000_001, _) = $0 { return true }; return false
        }
        try assertFails(SafetensorsBytes.file(header: "{}", data: [], headerLength: UInt64.max), ["exceeds"]) {
            if case .headerTooLarge = $0 { return true }; return false
        }
        // Longer than the file.
        try assertFails(SafetensorsBytes.file(header: "{}", data: [], headerLength: 64), ["64"]) {
            if case .headerTooLarge = $0 { return true }; return false
        }
    }

    func testBadJSON() throws {
        for (header, word) in [("{\"a\":", "not valid JSON"), ("[1,2]   ", "start with '{'"), ("{\"a\":1}", "not an object"),
                               ("{\"__metadata__\":{\"k\":1}}", "__metadata__")] {
            try assertFails(SafetensorsBytes.file(header: header, data: []), [word]) {
                switch $0 { case .invalidHeader, .invalidEntry: return true; default: return false }
            }
        }
    }

    func testStrictEntries() throws {
        let cases: [(String, String)] = [
            ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", "data_offsets"),
            ("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "dtype"),
            ("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "shape"),
            ("{\"t\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", "unknown dtype 'F33'"),
            ("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "shape"),
            ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "shape"),
            ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", "data_offsets"),
            ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", "unknown field 'extra'"),
            ("{\"t\":{\"dtype\":\"F32\",\"shape\":[true],\"data_offsets\":[0,4]}}", "shape"),
        ]
        for (header, word) in cases {
            try assertFails(SafetensorsBytes.file(header: header, data: [0, 0, 0, 0]), ["'t'", word]) {
                if case .invalidEntry(_, "t", _) = $0 { return true }; return false
            }
        }
    }

    func testOffsetsOutsideTheFile() throws {
        let h = "{" + SafetensorsBytes.entry("w", "F32", [4], 0, 16) + "}"
        try assertFails(SafetensorsBytes.file(header: h, data: [UInt8](repeating: 0, count: 8)), ["'w'", "[0, 16]", "outside"]) {
            if case .offsetsOutsideData(_, "w", 0, 16, 8) = $0 { return true }; return false
        }
        let reversed = "{" + SafetensorsBytes.entry("w", "F32", [0], 8, 4) + "}"
        try assertFails(SafetensorsBytes.file(header: reversed, data: [UInt8](repeating: 0, count: 8)), ["'w'"]) {
            if case .offsetsOutsideData = $0 { return true }; return false
        }
    }

    func testOverlapsAndHoles() throws {
        let overlapping = "{" + SafetensorsBytes.entry("a", "F32", [2], 0, 8) + "," + SafetensorsBytes.entry("b", "F32", [2], 4, 12) + "}"
        try assertFails(SafetensorsBytes.file(header: overlapping, data: [UInt8](repeating: 0, count: 12)), ["'a'", "'b'", "overlap"]) {
            if case .overlapping(_, "b", "a") = $0 { return true }; return false
        }
        let gap = "{" + SafetensorsBytes.entry("a", "F32", [1], 0, 4) + "," + SafetensorsBytes.entry("b", "F32", [1], 8, 12) + "}"
        try assertFails(SafetensorsBytes.file(header: gap, data: [UInt8](repeating: 0, count: 12)), ["offset 4", "'b'"]) {
            if case .hole(_, 4, "b") = $0 { return true }; return false
        }
        let trailing = "{" + SafetensorsBytes.entry("a", "F32", [1], 0, 4) + "}"
        try assertFails(SafetensorsBytes.file(header: trailing, data: [UInt8](repeating: 0, count: 6)), ["after the last tensor"]) {
            if case .hole(_, 4, nil) = $0 { return true }; return false
        }
    }

    func testDTypeShapeLengthMismatch() throws {
        let h = "{" + SafetensorsBytes.entry("w", "BF16", [3, 2], 0, 8) + "}"
        try assertFails(SafetensorsBytes.file(header: h, data: [UInt8](repeating: 0, count: 8)), ["'w'", "BF16", "[3, 2]", "12 bytes", "8"]) {
            $0 == .lengthMismatch(path: self.dir.file("model.safetensors"), tensor: "w", dtype: "BF16", shape: [3, 2], expected: 12, actual: 8)
        }
        // Shape products that overflow are a mismatch, not a trap.
        let huge = "{" + SafetensorsBytes.entry("w", "F64", [Int(Int32.max), Int(Int32.max), Int(Int32.max)], 0, 8) + "}"
        try assertFails(SafetensorsBytes.file(header: huge, data: [UInt8](repeating: 0, count: 8)), ["'w'"]) {
            if case .lengthMismatch = $0 { return true }; return false
        }
    }

    // MARK: sharded checkpoints

    func writeShards() throws -> String {
        let a = SafetensorsBytes.file(header: "{" + SafetensorsBytes.entry("x", "F16", [2], 0, 4) + "}", data: [0, 60, 0, 64])
        let b = SafetensorsBytes.file(header: "{" + SafetensorsBytes.entry("y", "BF16", [1], 0, 2) + "}", data: [128, 63])
        _ = try dir.write(a, to: "model-00001-of-00002.safetensors")
        _ = try dir.write(b, to: "model-00002-of-00002.safetensors")
        let index = #"{"metadata":{},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}"#
        return try dir.write(Array(index.utf8), to: "model.safetensors.index.json")
    }

    func testShardedCheckpoint() throws {
        _ = try writeShards()
        let c = try SafetensorsCheckpoint(folder: dir.path)
        XCTAssertEqual(c.files.count, 2)
        XCTAssertEqual(c.tensors.map(\.tensor.name).sorted(), ["x", "y"])
    }

    func testMissingShardIsNamed() throws {
        _ = try writeShards()
        try FileManager.default.removeItem(atPath: dir.file("model-00002-of-00002.safetensors"))
        XCTAssertThrowsError(try SafetensorsCheckpoint(folder: dir.path)) { e in
            XCTAssertEqual(e as? SafetensorsError, .missingShard(index: dir.file("model.safetensors.index.json"), shard: "model-00002-of-00002.safetensors", tensor: "y"))
            XCTAssertTrue("\(e)".contains("model-00002-of-00002.safetensors"), "\(e)")
        }
    }

    func testBadIndexes() throws {
        _ = try writeShards()
        for (text, word) in [("{", "not valid JSON"), ("{\"weight_map\":{\"x\":\"../evil.safetensors\"}}", "same folder"),
                             ("{\"weight_map\":{}}", "empty"), ("{\"weight_map\":{\"z\":\"model-00001-of-00002.safetensors\"}}", "'z'")] {
            _ = try dir.write(Array(text.utf8), to: "model.safetensors.index.json")
            XCTAssertThrowsError(try SafetensorsCheckpoint(folder: dir.path)) { e in
                XCTAssertTrue("\(e)".contains(word), "'\(e)' does not mention '\(word)'")
                XCTAssertTrue(e is SafetensorsError)
            }
        }
    }

    func testDuplicateTensorAcrossFiles() throws {
        let a = SafetensorsBytes.file(header: "{" + SafetensorsBytes.entry("x", "F16", [1], 0, 2) + "}", data: [0, 60])
        _ = try dir.write(a, to: "a.safetensors")
        _ = try dir.write(a, to: "b.safetensors")
        XCTAssertThrowsError(try SafetensorsCheckpoint(folder: dir.path)) { e in
            guard case .duplicateTensor("x", _, _)? = e as? SafetensorsError else { return XCTFail("\(e)") }
        }
    }

    // MARK: Hugging Face folders

    /// A copy of a fixture checkpoint folder that a test may damage.
    func copyFixture(_ family: String) throws -> String {
        let src = try TestPaths.fixture("hf/\(family)/config.json").deletingLastPathComponent()
        let dst = dir.file(family)
        try FileManager.default.copyItem(atPath: src.path, toPath: dst)
        return dst
    }

    func assertHFFails(_ path: String, _ words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelSources.open(path: path), file: file, line: line) { e in
            XCTAssertTrue(e is HFCheckpointError || e is SafetensorsError, "\(type(of: e)): \(e)", file: file, line: line)
            for w in words { XCTAssertTrue("\(e)".contains(w), "'\(e)' does not mention '\(w)'", file: file, line: line) }
        }
    }

    func testFolderWithoutConfigOrWeights() throws {
        let empty = dir.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        assertHFFails(empty, ["without config.json", empty])
        let d = try copyFixture("qwen3")
        try FileManager.default.removeItem(atPath: d + "/model.safetensors")
        assertHFFails(d, ["no *.safetensors"])
        let t = try copyFixture("llama")
        try FileManager.default.removeItem(atPath: t + "/tokenizer.json")
        assertHFFails(t, ["no tokenizer.json"])
    }

    func testUnsupportedArchitectureAndBadConfig() throws {
        let d = try copyFixture("qwen3")
        let config = d + "/config.json"
        var json = try XCTUnwrap(TestPaths.json(URL(fileURLWithPath: config)) as? [String: Any])
        json["architectures"] = ["FalconForCausalLM"]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: config))
        assertHFFails(d, ["FalconForCausalLM", "config.json", "Qwen3ForCausalLM"])
        json["architectures"] = ["Qwen3ForCausalLM"]
        json["num_attention_heads"] = "four"
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: config))
        assertHFFails(d, ["num_attention_heads", "integer"])
        // Values beyond any model are errors, never traps (a window or context beyond the model's limits
        // reads here and is refused by ModelConfig, see HFCheckpointTests).
        json["num_attention_heads"] = 4
        for (key, value, word) in [("head_dim", Int64.max, "head_dim"), ("num_key_value_heads", 3, "multiple")] as [(String, Int64, String)] {
            var j = json
            j[key] = value
            try JSONSerialization.data(withJSONObject: j).write(to: URL(fileURLWithPath: config))
            assertHFFails(d, [key, word])
        }
        for (key, value) in [("sliding_window", Int64.max), ("max_position_embeddings", -5)] as [(String, Int64)] {
            var j = json
            j[key] = value
            try JSONSerialization.data(withJSONObject: j).write(to: URL(fileURLWithPath: config))
            XCTAssertNoThrow(try ModelSources.open(path: d), key)
        }
        try Data("{".utf8).write(to: URL(fileURLWithPath: config))
        assertHFFails(d, ["config.json", "not valid JSON"])
    }

    func testMissingShardOfAFixture() throws {
        let d = try copyFixture("qwen2")
        try FileManager.default.removeItem(atPath: d + "/model-00003-of-00005.safetensors")
        assertHFFails(d, ["model-00003-of-00005.safetensors", "missing"])
    }

    func testUnknownTokenizerModelAndPreTokenizer() throws {
        let d = try copyFixture("llama")
        let path = d + "/tokenizer.json"
        var json = try XCTUnwrap(TestPaths.json(URL(fileURLWithPath: path)) as? [String: Any])
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        model["type"] = "Unigram"
        json["model"] = model
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        assertHFFails(d, ["tokenizer.json", "Unigram"])
        model["type"] = "BPE"
        json["model"] = model
        json["pre_tokenizer"] = ["type": "Whitespace"]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        assertHFFails(d, ["tokenizer.json", "Whitespace"])
    }

    /// A plain ByteLevel pre-tokenizer (what transformers writes for a GPT-2-style vocabulary) gets
    /// llama.cpp's name for it, "gpt-2" — llama.cpp refuses a file that says "gpt2".
    func testPlainByteLevelPreTokenizerIsNamedAsLlamaCppNamesIt() throws {
        let d = try copyFixture("llama")
        let path = d + "/tokenizer.json"
        var json = try XCTUnwrap(TestPaths.json(URL(fileURLWithPath: path)) as? [String: Any])
        json["pre_tokenizer"] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try ModelSources.open(path: d).metadata["tokenizer.ggml.pre"]?.string, "gpt-2")
    }

    func testUnsupportedDTypeAndUnknownTensor() throws {
        let d = try copyFixture("qwen3")
        let st = d + "/model.safetensors"
        // Rename one tensor in the header (same length, so offsets stay valid).
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: st)))
        let header = String(decoding: bytes[8..<min(bytes.count, 100_000)], as: UTF8.self)
        XCTAssertTrue(header.contains("mlp.up_proj"))
        func replaced(_ a: String, _ b: String) -> [UInt8] {
            precondition(a.utf8.count == b.utf8.count)
            var out = bytes
            let ha = Array(a.utf8), hb = Array(b.utf8)
            var i = 8
            while i + ha.count <= out.count { if Array(out[i..<i + ha.count]) == ha { out.replaceSubrange(i..<i + ha.count, with: hb); break }; i += 1 }
            return out
        }
        try Data(replaced("mlp.up_proj", "mlp.xx_proj")).write(to: URL(fileURLWithPath: st))
        assertHFFails(d, ["mlp.xx_proj", "Qwen3ForCausalLM"])
        try Data(replaced("\"F16\"", "\"I16\"")).write(to: URL(fileURLWithPath: st))
        assertHFFails(d, ["I16", "F32, F16 and BF16"])
    }
}
