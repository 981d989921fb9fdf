// GGUF reader: arbitrary bytes → GGUFFile(bytes:). A file that reads must keep every promise the
// reader makes (tensor data inside the file, metadata consistent), and its tokenizer metadata, if
// any, must give a tokenizer or a TokenizerError — never a crash — and a tokenizer that encodes and
// decodes without one. Any other error type is a bug too (the reader throws only GGUFError).
import FuzzSupport
import LLMFormats
import LLMTokenizer

let sample = "Hello world, it's 2024! <|end|><s> na\u{EF}ve \u{65E5}\u{672C} \u{2581}x <0x41>\t\n\n  \u{1F600}"

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file: GGUFFile
    do {
        file = try GGUFFile(bytes: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz.gguf")
    } catch is GGUFError {
        return 0
    } catch {
        fuzzFail("GGUFFile threw a non-GGUFError: \(error)")
    }

    fuzzCheck(file.version == 2 || file.version == 3, "version \(file.version)")
    fuzzCheck(file.alignment > 0 && file.alignment & (file.alignment - 1) == 0, "alignment \(file.alignment)")
    fuzzCheck(file.fileSize == size, "fileSize \(file.fileSize) for \(size) input bytes")
    fuzzCheck(file.metadataKeys.count == file.metadata.count, "duplicate metadata keys kept")
    var touched: UInt8 = 0
    for key in file.metadataKeys {
        guard let v = file[key] else { fuzzFail("metadata key '\(key)' listed but absent") }
        blackHole((v.summary, v.int, v.double, v.strings, v.ints, v.doubles))
    }
    for (i, t) in file.tensors.enumerated() {
        fuzzCheck(file.tensorIndex[t.name] == i, "tensor index of '\(t.name)'")
        fuzzCheck(!t.shape.isEmpty && t.shape.allSatisfy { $0 > 0 }, "shape \(t.shape)")
        fuzzCheck(t.type.byteCount(elements: t.elementCount) == t.byteCount, "byte count of '\(t.name)'")
        let end = file.dataOffset + t.offset + t.byteCount
        fuzzCheck(t.offset % file.alignment == 0 && end <= size, "tensor '\(t.name)' ends at \(end) of \(size)")
        // The sanitizer checks these reads against the exact size of the input copy.
        let bytes = file.bytes(for: t)
        if bytes.count > 0 { touched &+= bytes[0] &+ bytes[bytes.count - 1] }
    }
    blackHole(touched)

    guard file["tokenizer.ggml.model"] != nil else { return 0 }
    let tokenizer: any Tokenizer
    do {
        tokenizer = try loadTokenizer(from: file)
    } catch is TokenizerError {
        return 0
    } catch {
        fuzzFail("loadTokenizer threw a non-TokenizerError: \(error)")
    }
    let n = tokenizer.vocabularySize
    fuzzCheck(n > 0, "empty vocabulary accepted")
    for special in [tokenizer.bosID, tokenizer.eosID] {
        if let id = special { fuzzCheck(id >= 0 && id < n, "special id \(id) outside 0..<\(n)") }
    }
    for add in [false, true] {
        let ids = tokenizer.encode(sample, addSpecialTokens: add)
        fuzzCheck(ids.allSatisfy { $0 >= 0 && $0 < n }, "encode gave an id outside 0..<\(n): \(ids)")
        blackHole(tokenizer.decode(ids, special: add))
    }
    let some = Array(0 ..< min(n, 300)) + [-1, n, Int.max, Int.min]
    for special in [false, true] {
        blackHole(tokenizer.decode(some, special: special))
        var stream = StreamingDecoder(tokenizer: tokenizer, special: special)
        for id in some { blackHole(stream.push(id)) }
        blackHole(stream.finish())
    }
    for id in [0, n - 1, n, -1] { blackHole(tokenizer.tokenString(id)) }
    return 0
}

fuzzMain(fuzzOne)
