// GGUF reading on the real default model.
import LLMFormats
import LLMTensor
import TestSupport
import XCTest

final class GGUFReaderTests: XCTestCase {
    func testReadsSmolLM2Header() throws {
        let f = try GGUFFile(path: TestPaths.smollm2())
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.tensors.count, 272)
        XCTAssertEqual(f["general.architecture"]?.string, "llama")
        XCTAssertEqual(f["llama.block_count"]?.int, 30)
        XCTAssertEqual(f["tokenizer.ggml.tokens"]?.array?.count, 49152)
        XCTAssertEqual(f["tokenizer.ggml.merges"]?.array?.count, 48900)
        let embd = try XCTUnwrap(f.tensor(named: "token_embd.weight"))
        XCTAssertEqual(embd.type, .q8_0)
        XCTAssertEqual(embd.shape, [576, 49152])
        XCTAssertEqual(f.tensors.filter { $0.type == .q4_1 }.count, 210)
    }
}
