// The needle prompt builder on both real tokenizers (SmolLM2's byte-level BPE, Gemma 3's SentencePiece):
// the requested length is hit within a sentence's tokens and never exceeded, the needle sits at the
// requested token depth, its tokens are where the prompt says, and every part is accounted for by
// tokens counted independently; real text is cut at sentence boundaries.
import Foundation
import LLMEval
import LLMFormats
import LLMTokenizer
import TestSupport
import XCTest

final class NeedlePromptTests: XCTestCase {
    func tokenizer(_ path: String) throws -> any Tokenizer { try loadTokenizer(from: GGUFFile(path: path)) }

    /// Checks one prompt against independently counted tokens.
    func check(_ p: NeedlePrompt, _ b: NeedlePromptBuilder, file: StaticString = #filePath, line: UInt = #line) {
        let tok = b.tokenizer, test = b.test
        let where_ = "length \(p.length), depth \(p.depth)"
        let bos = tok.addBOS ? 1 : 0
        if bos == 1 { XCTAssertEqual(p.tokens.first, tok.bosID, where_, file: file, line: line) }
        // The prompt is the tokenizer's own encoding of its text, which ends with the question.
        XCTAssertEqual(Array(p.tokens.dropFirst(bos)), tok.encode(p.text, addSpecialTokens: false), where_, file: file, line: line)
        XCTAssertTrue(p.text.hasSuffix("\n" + test.question), where_, file: file, line: line)
        // Length: prompt + answer budget never over, short by less than one sentence.
        let used = p.tokens.count + p.decodeBudget
        XCTAssertLessThanOrEqual(used, p.length, where_, file: file, line: line)
        XCTAssertLessThanOrEqual(p.length - used, b.largestUnitTokens, where_, file: file, line: line)
        // The needle's tokens decode to the needle line.
        let needle = test.needleText(answer: p.answer)
        let lead = test.instruction != nil || p.haystackBefore > 0 ? "\n" : ""
        XCTAssertEqual(tok.decode(Array(p.tokens[p.needleRange]), special: false), lead + needle, where_, file: file, line: line)
        // Haystack tokens before/after, counted from the other parts' own encodings.
        let instruction = test.instruction.map { tok.encode($0, addSpecialTokens: false).count } ?? 0
        let question = tok.encode("\n" + test.question, addSpecialTokens: false).count
        XCTAssertEqual(p.haystackBefore, p.needleRange.lowerBound - bos - instruction, where_, file: file, line: line)
        XCTAssertEqual(p.haystackAfter, p.tokens.count - p.needleRange.upperBound - question, where_, file: file, line: line)
        // Depth: the needle is within one sentence of the requested share of haystack tokens.
        let h = Double(p.haystackBefore + p.haystackAfter)
        XCTAssertLessThanOrEqual(abs(Double(p.haystackBefore) - p.depth / 100 * h), Double(b.largestUnitTokens), where_, file: file, line: line)
        if p.depth == 0 { XCTAssertEqual(p.haystackBefore, 0, where_, file: file, line: line) }
        if p.depth == 100 { XCTAssertEqual(p.haystackAfter, 0, where_, file: file, line: line) }
    }

    func checkPasskey(model: String) throws {
        let tok = try tokenizer(model)
        let b = NeedlePromptBuilder(tokenizer: tok, test: .passkey)
        for length in [300, 1000, 1024, 2048, 3001, 8192] {
            for depth in [0, 10, 25, 33.3, 50, 62.5, 75, 90, 100] {
                for trial in 0..<2 {
                    let p = try b.prompt(length: length, depth: depth, seed: 1234, trial: trial)
                    check(p, b)
                    XCTAssertEqual(p.answer.count, 5)
                    XCTAssertTrue(p.text.hasPrefix(NeedleTest.passkeyInstruction + "\n"))
                }
            }
        }
        // The pass-key layout of Mohtashami & Jaggi: instruction, filler, needle, filler, question, one per line.
        let p = try b.prompt(length: 300, depth: 50, answer: "12345", offset: 0)
        let lines = p.text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines[0], NeedleTest.passkeyInstruction)
        XCTAssertTrue(lines[1].hasPrefix("The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. The grass is green."))
        XCTAssertEqual(lines[2], "The pass key is 12345. Remember it. 12345 is the pass key.")
        XCTAssertEqual(lines[4], "What is the pass key? The pass key is")
        XCTAssertEqual(p.decodeBudget, tok.encode(" 12345", addSpecialTokens: false).count + 2)
    }

    func testPasskeyPromptsSmolLM2() throws { try checkPasskey(model: TestPaths.smollm2()) }
    func testPasskeyPromptsGemma3() throws { try checkPasskey(model: TestPaths.gemma3()) }

    /// The needle-in-a-haystack form: real text (C4 documents), a custom needle, trials starting at
    /// different places of the text.
    func checkRealText(model: String) throws {
        let tok = try tokenizer(model)
        let haystack = try Haystack.file(TestPaths.fixture("data/c4_demo.json").path)
        let test = try NeedleTest(needle: .custom(needle: "The secret ingredient of the soup is saffron.",
                                                  question: "What is the secret ingredient of the soup? The secret ingredient of the soup is",
                                                  answer: "saffron"), haystack: haystack)
        let b = NeedlePromptBuilder(tokenizer: tok, test: test)
        let bodies = haystack.units.map(\.body)
        let follows = Set(zip(bodies, bodies.dropFirst()).map { $0 + "\u{0}" + $1 })
        var texts = Set<String>()
        for length in [512, 2000, 4096] {
            for depth in [0.0, 20, 50, 80, 100] {
                for trial in 0..<2 {
                    let p = try b.prompt(length: length, depth: depth, seed: 7, trial: trial)
                    check(p, b)
                    XCTAssertEqual(p.answer, "saffron")
                    XCTAssertNil(test.instruction)
                    texts.insert(p.text)
                    // The haystack is whole sentences of the text, in order: without the needle line and the
                    // question, each sentence follows its predecessor in the corpus (or the text wraps to its start).
                    let needle = "The secret ingredient of the soup is saffron."
                    var body = String(p.text.dropLast(test.question.count + 1))
                    body = body.hasPrefix(needle + "\n") ? String(body.dropFirst(needle.count + 1)) : body.replacingOccurrences(of: "\n" + needle, with: "")
                    XCTAssertFalse(body.contains(needle), "needle left in the haystack")
                    let sentences = Haystack.text([body], source: "prompt").units.map(\.body)
                    for (a, b) in zip(sentences, sentences.dropFirst()) {
                        XCTAssertTrue(follows.contains(a + "\u{0}" + b) || b == bodies[0], "'\(a)' → '\(b)'")
                    }
                }
            }
        }
        XCTAssertEqual(texts.count, 30, "each trial, length and depth has its own prompt")
    }

    func testRealTextPromptsSmolLM2() throws { try checkRealText(model: TestPaths.smollm2()) }
    func testRealTextPromptsGemma3() throws { try checkRealText(model: TestPaths.gemma3()) }

    func testSentenceSplitting() {
        let h = Haystack.text(["  Hello there. How are you?\n\nNew paragraph starts \"here.\" And (this) ends! Last line\nno period  ", "Second doc."],
                              source: "constructed")
        XCTAssertEqual(h.units.map(\.body), ["Hello there.", "How are you?", "New paragraph starts \"here.\"", "And (this) ends!",
                                             "Last line", "no period", "Second doc."])
        XCTAssertEqual(h.units.map(\.lead), ["\n\n", " ", "\n\n", " ", " ", "\n", "\n\n"])
        XCTAssertFalse(h.repeats)
        XCTAssertEqual(Haystack.text(["One. Two. Three.", "Four."], source: "x", characterLimit: 9).units.map(\.body), ["One.", "Two."])
        // A text without sentence punctuation is still cut, at whitespace.
        let long = Haystack.text([Array(repeating: "word", count: 400).joined(separator: " ")], source: "x")
        XCTAssertGreaterThan(long.units.count, 3)
        XCTAssertTrue(long.units.allSatisfy { $0.body.count <= 410 && !$0.body.hasSuffix(" ") })
    }

    func testBadInput() throws {
        let tok = try tokenizer(TestPaths.smollm2())
        XCTAssertThrowsError(try NeedleTest(needle: .custom(needle: "The code is 42.", question: "The code is", answer: "43"))) {
            XCTAssertEqual($0 as? NeedleError, .answerNotInNeedle(answer: "43", needle: "The code is 42."))
        }
        XCTAssertThrowsError(try NeedleTest(needle: .custom(needle: "The code is 42.", question: " ", answer: "42"))) {
            XCTAssertEqual($0 as? NeedleError, .emptyField("question"))
        }
        let short = try NeedleTest(needle: .passkey, haystack: .text(["A short text. With two sentences."], source: "short.txt"))
        let b = NeedlePromptBuilder(tokenizer: tok, test: short)
        XCTAssertThrowsError(try b.prompt(length: 1024, depth: 50, seed: 1, trial: 0)) {
            guard case .haystackTooShort(let source, _, let length)? = $0 as? NeedleError else { return XCTFail("\($0)") }
            XCTAssertEqual(source, "short.txt")
            XCTAssertEqual(length, 1024)
            XCTAssertTrue("\($0)".contains("too short for length 1024"))
        }
        let filler = NeedlePromptBuilder(tokenizer: tok, test: .passkey)
        XCTAssertThrowsError(try filler.prompt(length: 40, depth: 50, seed: 1, trial: 0)) {
            guard case .lengthTooShort(40, _)? = $0 as? NeedleError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try filler.prompt(length: 1024, depth: 101, seed: 1, trial: 0)) { XCTAssertEqual($0 as? NeedleError, .invalidDepth(101)) }
        XCTAssertThrowsError(try NeedleGrid(lengths: [1024], depths: [-5]).validate()) { XCTAssertEqual($0 as? NeedleError, .invalidDepth(-5)) }
    }

    func testTrialInputsAreSeededAndFresh() throws {
        let test = NeedleTest.passkey
        let keys = (0..<50).map { test.trialInputs(seed: 1234, length: 1024, depth: 50, trial: $0).answer }
        XCTAssertEqual(keys, (0..<50).map { test.trialInputs(seed: 1234, length: 1024, depth: 50, trial: $0).answer })
        XCTAssertGreaterThan(Set(keys).count, 45)
        XCTAssertTrue(keys.allSatisfy { $0.count == 5 && Int($0)! >= 10_000 })
        XCTAssertNotEqual(keys, (0..<50).map { test.trialInputs(seed: 1235, length: 1024, depth: 50, trial: $0).answer })
        XCTAssertNotEqual(keys, (0..<50).map { test.trialInputs(seed: 1234, length: 1024, depth: 25, trial: $0).answer })
    }
}
