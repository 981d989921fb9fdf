// Evaluation task files: arbitrary bytes as JSONL → TaskFile(data:) with the format detected and
// forced to each of mc / winogrande / cloze, lenient and strict; the items that read are used as
// `llm-drop eval` uses them: their scoring requests, their solved text and few-shot prefixes.
import Foundation
import FuzzSupport
import LLMEval

let formats: [TaskFormat?] = [nil] + TaskFormat.allCases.map { $0 }

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = inputData(data, size)
    for (k, format) in formats.enumerated() {
        let strict = k == 0
        let file: TaskFile
        do {
            file = try TaskFile(data: bytes, path: "fuzz.jsonl", format: format, strict: strict, limit: k == 1 ? 3 : nil)
        } catch is TaskFileError {
            continue
        } catch {
            fuzzFail("TaskFile threw an untyped error: \(error)")
        }
        fuzzCheck(!file.items.isEmpty, "a task file with no items was accepted")
        if let format { fuzzCheck(file.format == format, "format \(file.format) for --format \(format)") }
        for item in file.items {
            fuzzCheck(item.format == file.format, "item of format \(item.format) in a \(file.format) file")
            if let g = item.gold { fuzzCheck(g >= 0 && g < item.requests().count, "gold \(g) out of range") }
            blackHole((item.requests(prefix: "p"), item.solved))
        }
        if let sampler = try? FewShotSampler(pool: file.items, shots: min(2, file.items.count)) {
            for (i, item) in file.items.prefix(3).enumerated() {
                do { blackHole(try sampler.prefix(for: item, index: i)) } catch is FewShotError {} catch {
                    fuzzFail("FewShotSampler threw an untyped error: \(error)")
                }
            }
        }
    }
    return 0
}

fuzzMain(fuzzOne)
