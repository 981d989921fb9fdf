// Calibration text: arbitrary bytes as a text file (plain text, a JSON array of {"text": ...} or
// JSONL) → TextCorpus.documents → CalibrationSet.fromDocuments with each real model's tokenizer, both
// samplings, as `llm-drop score --calibration FILE` does. Errors must be TextCorpusError /
// CalibrationError; samples must have the promised lengths and in-vocabulary ids.
import FuzzSupport
import LLMDrop
import LLMFormats
import LLMTokenizer

let tokenizers: [any Tokenizer] = [RealTokenizers.smollm2, RealTokenizers.gemma3]

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = InputFile.write(data, size, name: "calibration.txt")
    let docs: [String]
    do {
        docs = try TextCorpus.documents(at: path)
    } catch is TextCorpusError {
        return 0
    } catch {
        fuzzFail("TextCorpus.documents threw an untyped error: \(error)")
    }
    fuzzCheck(!docs.isEmpty && docs.allSatisfy { !$0.isEmpty }, "empty documents returned")
    let length = 6
    for t in tokenizers {
        for sampling in CalibrationSampling.allCases {
            do {
                let set = try CalibrationSet.fromDocuments(docs, tokenizer: t, samples: 3, length: length, sampling: sampling, source: "fuzz")
                fuzzCheck(!set.samples.isEmpty && set.samples.count <= 3, "\(set.samples.count) samples")
                for s in set.samples {
                    fuzzCheck(sampling == .blocks ? s.count == length : (2...length).contains(s.count), "sample of \(s.count) tokens")
                    fuzzCheck(s.allSatisfy { $0 >= 0 && $0 < t.vocabularySize }, "id outside the vocabulary")
                }
            } catch is CalibrationError {
            } catch {
                fuzzFail("CalibrationSet.fromDocuments threw an untyped error: \(error)")
            }
        }
    }
    return 0
}

fuzzMain(fuzzOne)
