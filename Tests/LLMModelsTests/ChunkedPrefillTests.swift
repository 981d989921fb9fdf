// A long prompt appended to a KV cache goes through in chunks of LanguageModel.prefillChunk tokens: the
// logits equal one full pass's, the cache holds every token, and a prompt too long for the cache is
// refused before any chunk touches it.
import LLMModels
import TestSupport
import XCTest

final class ChunkedPrefillTests: XCTestCase {
    func testChunkedPrefillEqualsOnePass() throws {
        let model = try LanguageModel(path: TestPaths.smollm2(), options: LoadOptions(threads: 2))
        let text = String(repeating: "Keepers trimmed the wicks each night and logged every passing ship. ", count: 90)
        let ids = Array(model.tokenizer.encode(text, addSpecialTokens: true).prefix(2 * LanguageModel.prefillChunk + 77))
        XCTAssertEqual(ids.count, 2 * LanguageModel.prefillChunk + 77)
        let cache = try model.makeCache(capacity: ids.count + 1)
        let chunked = try model.forward(appending: ids, to: cache, logits: .last)
        XCTAssertEqual(cache.count, ids.count)
        let whole = try model.forward([ids], logits: .last)
        XCTAssertLessThan(relativeL2(Array(chunked.row(0)), Array(whole.row(0))), 1e-5)
        // The next token continues from the chunked cache as from the whole sequence.
        let next = try model.forward(appending: [42], to: cache, logits: .last)
        XCTAssertLessThan(relativeL2(Array(next.row(0)), Array(try model.forward([ids + [42]], logits: .last).row(0))), 1e-5)

        let small = try model.makeCache(capacity: ids.count - 1)
        XCTAssertThrowsError(try model.forward(appending: ids, to: small, logits: .last))
        XCTAssertEqual(small.count, 0)
    }
}
