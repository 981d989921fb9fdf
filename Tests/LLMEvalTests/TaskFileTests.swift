// Task files: the three formats, malformed lines with and without --strict, missing and empty files,
// and the few-shot prompt for a fixed seed (golden string).
import Foundation
import LLMEval
import XCTest

final class TaskFileTests: XCTestCase {
    func parse(_ text: String, format: TaskFormat? = nil, strict: Bool = false, limit: Int? = nil) throws -> TaskFile {
        try TaskFile(data: Data(text.utf8), path: "t.jsonl", format: format, strict: strict, limit: limit)
    }

    func testThreeFormatsAreDetectedFromTheFields() throws {
        let mc = try parse(#"{"id": 7, "context": "Q:", "choices": [" a", " b"], "gold": 1}"# + "\n")
        XCTAssertEqual(mc.format, .mc)
        XCTAssertEqual(mc.items, [TaskItem(id: "7", line: 1, body: .multipleChoice(context: "Q:", choices: [" a", " b"], gold: 1))])
        let wg = try parse(#"{"id": "w1", "contexts": ["A x", "A y"], "continuation": " z.", "gold": 0}"#)
        XCTAssertEqual(wg.format, .winogrande)
        XCTAssertEqual(wg.items.first?.body, .winogrande(contexts: ["A x", "A y"], continuation: " z.", gold: 0))
        let cl = try parse("\n" + #"{"id": 0, "context": "It was a", "target": " cat"}"# + "\r\n\n")
        XCTAssertEqual(cl.format, .cloze)
        XCTAssertEqual(cl.items, [TaskItem(id: "0", line: 2, body: .cloze(context: "It was a", target: " cat"))])
    }

    static let mixed = [
        #"{"id": 0, "context": "Q:", "choices": [" a", " b"], "gold": 0}"#,  // 1 ok
        #"{"id": 1, "context": "Q:", "choices": [" a", " b"], "gold": 2}"#,  // 2 gold out of range
        #"{"id": 2, "context": "Q:", "choices": [], "gold": 0}"#,            // 3 empty choices
        #"{"id": 3, "choices": [" a"], "gold": 0}"#,                         // 4 no context
        #"{"id": 4, "context": "Q:", "choices": [" a", " b"], "gold": 1"#,  // 5 truncated JSON
        "",                                                                  // 6 blank: ignored
        #"{"id": 5, "context": "Q:", "choices": [" a", 3], "gold": 0}"#,     // 7 choice not a string
        #"{"id": 6, "context": "Q:", "choices": [" a", " b"], "gold": true}"#, // 8 gold not an integer
        #"[1, 2]"#,                                                          // 9 not an object
        #"{"id": 9, "context": "Q:", "choices": [" a", " b"], "gold": 1}"#,  // 10 ok
    ].joined(separator: "\n")

    func testMalformedLinesAreSkippedAndCounted() throws {
        let f = try parse(Self.mixed)
        XCTAssertEqual(f.items.map(\.id), ["0", "9"])
        XCTAssertEqual(f.items.map(\.line), [1, 10])
        XCTAssertEqual(f.problems.map(\.line), [2, 3, 4, 5, 7, 8, 9])
        XCTAssertEqual(f.problems[0].reason, .goldOutOfRange(gold: 2, count: 2))
        XCTAssertEqual(f.problems[1].reason, .emptyChoices(field: "choices"))
        XCTAssertEqual(f.problems[2].reason, .missingField("context", format: .mc))
        guard case .invalidJSON = f.problems[3].reason else { return XCTFail("\(f.problems[3])") }
        XCTAssertEqual(f.problems[4].reason, .wrongType(field: "choices[1]", expected: "a string"))
        guard case .wrongType(field: "gold", _) = f.problems[5].reason else { return XCTFail("\(f.problems[5])") }
        XCTAssertEqual(f.problems[6].reason, .notAnObject)
        XCTAssertEqual(f.problems[0].description,
                       "t.jsonl:2: gold 2 is out of range for 2 options; gold is the 0-based index of the correct option")
    }

    func testStrictStopsAtTheFirstBadLine() {
        XCTAssertThrowsError(try parse(Self.mixed, strict: true)) { error in
            guard case TaskFileError.invalidLine(let p) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(p.line, 2)
            XCTAssertTrue("\(error)".hasPrefix("t.jsonl:2: gold 2 is out of range"), "\(error)")
        }
    }

    func testLimitKeepsTheFirstValidItems() throws {
        let f = try parse(Self.mixed, limit: 1)
        XCTAssertEqual(f.items.map(\.id), ["0"])
        XCTAssertTrue(f.problems.isEmpty)
    }

    func testMissingEmptyAndAllBadFilesAreOneClearError() throws {
        XCTAssertThrowsError(try TaskFile(path: "/nonexistent/task.jsonl")) { error in
            XCTAssertEqual(error as? TaskFileError, .notFound("/nonexistent/task.jsonl"))
            XCTAssertTrue("\(error)".contains("does not exist"))
        }
        XCTAssertThrowsError(try parse("\n  \n")) { XCTAssertEqual($0 as? TaskFileError, .empty("t.jsonl")) }
        XCTAssertThrowsError(try parse("not json\n{\"id\": 1}\n")) { error in
            guard case TaskFileError.noValidItems(_, let n, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(n, 2)
        }
        // A fixed format that does not match the file: every line lacks the format's fields.
        XCTAssertThrowsError(try parse(#"{"id": 0, "context": "a", "target": " b"}"#, format: .mc)) { error in
            XCTAssertTrue("\(error)".contains("missing field \"choices\""), "\(error)")
        }
    }

    func testInvalidUTF8LineIsReported() throws {
        var data = Data(#"{"id": 0, "context": "a", "target": " b"}"#.utf8 + [0x0A])
        data.append(contentsOf: [0x7B, 0xFF, 0xFE, 0x7D, 0x0A])
        let f = try TaskFile(data: data, path: "t.jsonl")
        XCTAssertEqual(f.problems.map(\.reason), [.notUTF8])
    }

    func testTaskName() {
        XCTAssertEqual(TaskFile.name(of: "/work/shared/data/piqa/mc.jsonl"), "piqa")
        XCTAssertEqual(TaskFile.name(of: "data/lambada/cloze.jsonl"), "lambada")
        XCTAssertEqual(TaskFile.name(of: "my_task.jsonl"), "my_task")
    }

    // MARK: few-shot prompts

    static let pool = [
        TaskItem(id: "a", body: .multipleChoice(context: "Question: sky?\nAnswer:", choices: [" blue", " green"], gold: 0)),
        TaskItem(id: "b", body: .multipleChoice(context: "Question: grass?\nAnswer:", choices: [" red", " green"], gold: 1)),
        TaskItem(id: "c", body: .multipleChoice(context: "Question: snow?\nAnswer:", choices: [" white", " black"], gold: 0)),
        TaskItem(id: "d", body: .multipleChoice(context: "Question: coal?\nAnswer:", choices: [" white", " black"], gold: 1)),
    ]

    func testFewShotPromptGolden() throws {
        let sampler = try FewShotSampler(pool: Self.pool, shots: 2, seed: 1234)
        let item = TaskItem(id: "q", body: .multipleChoice(context: "Question: sun?\nAnswer:", choices: [" hot", " cold"], gold: 0))
        let requests = item.requests(prefix: try sampler.prefix(for: item, index: 0))
        XCTAssertEqual(requests.map(\.context), Array(repeating: """
            Question: snow?
            Answer: white

            Question: sky?
            Answer: blue

            Question: sun?
            Answer:
            """, count: 2))
        XCTAssertEqual(requests.map(\.continuation), [" hot", " cold"])
        // The same seed and index give the same examples; another index another draw.
        XCTAssertEqual(try sampler.examples(for: item, index: 0).map(\.id), ["c", "a"])
        XCTAssertEqual(try sampler.examples(for: item, index: 0).map(\.id), ["c", "a"])
        XCTAssertEqual(try sampler.examples(for: item, index: 1).map(\.id), ["c", "d"])
        XCTAssertEqual(try FewShotSampler(pool: Self.pool, shots: 2, seed: 1235).examples(for: item, index: 0).map(\.id), ["d", "c"])
        XCTAssertEqual(try FewShotSampler(pool: Self.pool, shots: 0).prefix(for: item, index: 0), "")
    }

    func testFewShotNeverUsesTheItemItselfAndRendersEachFormat() throws {
        let sampler = try FewShotSampler(pool: Self.pool, shots: 3, seed: 7)
        for (i, item) in Self.pool.enumerated() {
            let ids = try sampler.examples(for: item, index: i).map(\.id)
            XCTAssertEqual(Set(ids), Set(Self.pool.map(\.id)).subtracting([item.id]))
        }
        XCTAssertThrowsError(try FewShotSampler(pool: Self.pool, shots: 4).examples(for: Self.pool[0], index: 0)) {
            XCTAssertEqual($0 as? FewShotError, .notEnoughExamples(pool: 3, shots: 4, itemID: "a"))
        }
        XCTAssertThrowsError(try FewShotSampler(pool: Self.pool, shots: 5)) {
            XCTAssertEqual($0 as? FewShotError, .notEnoughExamples(pool: 4, shots: 5, itemID: nil))
        }
        let wg = TaskItem(id: "w", body: .winogrande(contexts: ["A x", "A y"], continuation: " z.", gold: 1))
        XCTAssertEqual(wg.solved, "A y z.")
        XCTAssertEqual(wg.requests(prefix: "P\n\n").map(\.context), ["P\n\nA x", "P\n\nA y"])
        let cl = TaskItem(id: "c", body: .cloze(context: "It was a", target: " cat"))
        XCTAssertEqual(cl.solved, "It was a cat")
    }
}
