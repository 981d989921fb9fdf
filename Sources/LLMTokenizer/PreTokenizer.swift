// Pre-tokenizers of byte-level BPE: the regex splits chosen by GGUF `tokenizer.ggml.pre`, written as
// hand scanners over Unicode scalars. The patterns are llama.cpp's (`llm_tokenizer_bpe` in
// src/llama-vocab.cpp) and, for gpt2/llama3/qwen2, the HF `tokenizer.json` regexes they came from:
//
//   gpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   smollm  \p{N} (each digit alone), then gpt2 on what lies between (HF: Digits(individual) + ByteLevel)
//   llama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2   as llama3 with \p{N} (single digits)
//   default [\p{P}\$\+<=>\^~\|]+, then gpt2, then \p{N}+, then [0-9][0-9][0-9]
//
// Each step splits every piece of the previous step on its own; text a pattern does not match stays a
// piece too, so a lookahead never sees past its piece. \s is Unicode White_Space, \p{L} the letter
// categories (Lu Ll Lt Lm Lo), \p{N} the number categories (Nd Nl No), \p{P} the punctuation ones.

public enum BPEPreTokenizer: String, Sendable, CaseIterable {
    case gpt2
    case smollm
    case llama3
    case qwen2
    case `default`

    /// The rules for a `tokenizer.ggml.pre` value (llama.cpp's aliases included), or nil if unsupported.
    public init?(ggufName name: String) {
        switch name {
        case "gpt2", "gpt-2", "phi-2", "roberta-bpe", "mpt", "olmo", "jais":
            self = .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            self = .smollm
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe":
            self = .llama3
        case "qwen2", "stablelm2", "megrez":
            self = .qwen2
        case "default", "":
            self = .default
        default:
            return nil
        }
    }

    static let supportedNames = [
        "gpt2", "gpt-2", "phi-2", "roberta-bpe", "mpt", "olmo", "jais",
        "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b",
        "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe",
        "qwen2", "stablelm2", "megrez", "default",
    ]

    /// llama.cpp's `ignore_merges`: a whole piece that is a token is taken as is (llama3 family).
    var ignoresMerges: Bool { self == .llama3 }

    /// llama.cpp's `add_bos` default when `tokenizer.ggml.add_bos_token` is absent.
    var addsBOSByDefault: Bool { self == .llama3 }

    fileprivate var steps: [SplitStep] {
        switch self {
        case .gpt2: return [.gpt2]
        case .smollm: return [.eachNumber, .gpt2]
        case .llama3: return [.llama3(maxDigits: 3)]
        case .qwen2: return [.llama3(maxDigits: 1)]
        case .default: return [.punctuationRuns, .gpt2, .numberRuns, .threeASCIIDigits]
        }
    }

    /// The pieces `text` splits into (for inspection and tests; encoding works on bytes).
    public func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var scratch = PreTokenizerScratch()
        return bytes.withUnsafeBufferPointer { buf in
            split(buf, 0 ..< buf.count, &scratch)
            return stride(from: 0, to: scratch.pieces.count, by: 2).map { k in
                let a = scratch.byteOffsets[Int(scratch.pieces[k])], b = scratch.byteOffsets[Int(scratch.pieces[k + 1])]
                return String(decoding: buf[a ..< b], as: UTF8.self)
            }
        }
    }

    /// Splits UTF-8 `text[range]`; the pieces land in `scratch.pieces` as (start, end) pairs of
    /// scalar indices, with `scratch.byteOffsets[i]` the byte offset of scalar `i`.
    func split(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ scratch: inout PreTokenizerScratch) {
        scratch.load(text, range)
        let n = scratch.scalars.count
        scratch.pieces.removeAll(keepingCapacity: true)
        guard n > 0 else { return }
        scratch.pieces.append(0)
        scratch.pieces.append(Int32(n))
        for step in steps {
            swap(&scratch.pieces, &scratch.spare)
            scratch.pieces.removeAll(keepingCapacity: true)
            let spare = scratch.spare
            var k = 0
            while k < spare.count {
                step.apply(scratch.scalars, scratch.classes, Int(spare[k]), Int(spare[k + 1]), &scratch.pieces)
                k += 2
            }
        }
    }
}

/// Reusable buffers for one encode call.
struct PreTokenizerScratch {
    var scalars: [UInt32] = []
    var classes: [UInt8] = []
    var byteOffsets: [Int] = []
    var pieces: [Int32] = []
    var spare: [Int32] = []

    /// Decodes `text[range]` (valid UTF-8) into scalars, their classes and byte offsets.
    mutating func load(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        scalars.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        byteOffsets.removeAll(keepingCapacity: true)
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let b0 = UInt32(text[i])
            var v: UInt32
            var len: Int
            if b0 < 0x80 {
                v = b0; len = 1
            } else if b0 < 0xE0 {
                v = b0 & 0x1F; len = 2
            } else if b0 < 0xF0 {
                v = b0 & 0x0F; len = 3
            } else {
                v = b0 & 0x07; len = 4
            }
            len = min(len, end - i)
            for j in 1 ..< max(len, 1) { v = v << 6 | (UInt32(text[i + j]) & 0x3F) }
            byteOffsets.append(i)
            scalars.append(v)
            classes.append(ScalarClass.of(v))
            i += len
        }
        byteOffsets.append(end)
    }
}

/// Category bits of one scalar, as the split patterns need them.
enum ScalarClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    /// \p{P} or one of $ + < = > ^ ~ | (the `default` pre-tokenizer's first class).
    static let punctuation: UInt8 = 8

    private static let ascii: [UInt8] = (0 ..< 128).map { slow(UInt32($0)) }

    @inline(__always)
    static func of(_ v: UInt32) -> UInt8 {
        v < 128 ? ascii[Int(v)] : slow(v)
    }

    private static func slow(_ v: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(v) else { return 0 }
        let p = s.properties
        var c: UInt8 = p.isWhitespace ? whitespace : 0
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            c |= number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            c |= punctuation
        default:
            break
        }
        switch v {
        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: c |= punctuation
        default: break
        }
        return c
    }
}

private enum SplitStep {
    case gpt2
    case llama3(maxDigits: Int)
    case eachNumber
    case numberRuns
    case punctuationRuns
    case threeASCIIDigits

    func apply(_ s: [UInt32], _ c: [UInt8], _ start: Int, _ end: Int, _ out: inout [Int32]) {
        switch self {
        case .gpt2: splitGPT2(s, c, start, end, &out)
        case .llama3(let k): splitLlama3(s, c, start, end, maxDigits: k, &out)
        case .eachNumber: isolate(c, start, end, ScalarClass.number, runs: false, &out)
        case .numberRuns: isolate(c, start, end, ScalarClass.number, runs: true, &out)
        case .punctuationRuns: isolate(c, start, end, ScalarClass.punctuation, runs: true, &out)
        case .threeASCIIDigits: splitThreeDigits(s, start, end, &out)
        }
    }
}

@inline(__always)
private func emit(_ a: Int, _ b: Int, _ out: inout [Int32]) {
    if b > a {
        out.append(Int32(a))
        out.append(Int32(b))
    }
}

/// Neither whitespace, letter nor number: the `[^\s\p{L}\p{N}]` class.
@inline(__always)
private func isOther(_ c: UInt8) -> Bool {
    c & (ScalarClass.letter | ScalarClass.number | ScalarClass.whitespace) == 0
}

@inline(__always)
private func isNewline(_ v: UInt32) -> Bool { v == 0x0A || v == 0x0D }

/// Length of a contraction ('s 't 'm 'd 're 've 'll) at `pos`, or 0.
@inline(__always)
private func contraction(_ s: [UInt32], _ pos: Int, _ end: Int, caseInsensitive: Bool) -> Int {
    guard s[pos] == 0x27, pos + 1 < end else { return 0 }
    @inline(__always) func lower(_ v: UInt32) -> UInt32 {
        caseInsensitive && v >= 0x41 && v <= 0x5A ? v | 0x20 : v
    }
    let a = lower(s[pos + 1])
    switch a {
    case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
    default: break
    }
    guard pos + 2 < end else { return 0 }
    let b = lower(s[pos + 2])
    if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
    return 0
}

/// Whitespace run at `pos` under `\s+(?!\S)|\s+`: up to the end of the piece, or all but the last
/// whitespace when more than one is followed by a non-space (that last one may start the next piece).
@inline(__always)
private func whitespaceEnd(_ c: [UInt8], _ pos: Int, _ end: Int) -> Int {
    var p = pos
    while p < end && c[p] & ScalarClass.whitespace != 0 { p += 1 }
    if p < end && p - pos > 1 { return p - 1 }
    return max(p, pos + 1)
}

private func splitGPT2(_ s: [UInt32], _ c: [UInt8], _ start: Int, _ end: Int, _ out: inout [Int32]) {
    let ws = ScalarClass.whitespace
    var pos = start
    while pos < end {
        let k = contraction(s, pos, end, caseInsensitive: false)
        if k > 0 {
            emit(pos, pos + k, &out)
            pos += k
            continue
        }
        // ` ?X+` for X in \p{L}, \p{N}, [^\s\p{L}\p{N}]: an optional literal space, then a run of X.
        let spaced = s[pos] == 0x20 && pos + 1 < end && c[pos + 1] & ws == 0
        let body = spaced ? pos + 1 : pos
        let head = c[body]
        if head & ws == 0 {
            let (mask, want) = runClass(head)
            var p = body + 1
            while p < end && c[p] & mask == want { p += 1 }
            emit(pos, p, &out)
            pos = p
            continue
        }
        let p = whitespaceEnd(c, pos, end)
        emit(pos, p, &out)
        pos = p
    }
}

/// The run a non-whitespace scalar of class `head` starts, as a test `class & mask == want`:
/// letters, numbers, or neither ("other").
@inline(__always)
private func runClass(_ head: UInt8) -> (mask: UInt8, want: UInt8) {
    if head & ScalarClass.letter != 0 { return (ScalarClass.letter, ScalarClass.letter) }
    if head & ScalarClass.number != 0 { return (ScalarClass.number, ScalarClass.number) }
    return (ScalarClass.letter | ScalarClass.number | ScalarClass.whitespace, 0)
}

private func splitLlama3(_ s: [UInt32], _ c: [UInt8], _ start: Int, _ end: Int, maxDigits: Int, _ out: inout [Int32]) {
    var pos = start
    while pos < end {
        let k = contraction(s, pos, end, caseInsensitive: true)
        if k > 0 {
            emit(pos, pos + k, &out)
            pos += k
            continue
        }
        let v = s[pos], cl = c[pos]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        let letterNext = pos + 1 < end && c[pos + 1] & ScalarClass.letter != 0
        if cl & ScalarClass.letter != 0 || (!isNewline(v) && cl & ScalarClass.number == 0 && letterNext) {
            var p = pos + 1
            while p < end && c[p] & ScalarClass.letter != 0 { p += 1 }
            emit(pos, p, &out)
            pos = p
            continue
        }
        // \p{N}{1,maxDigits}
        if cl & ScalarClass.number != 0 {
            var p = pos + 1
            while p < end && p - pos < maxDigits && c[p] & ScalarClass.number != 0 { p += 1 }
            emit(pos, p, &out)
            pos = p
            continue
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let spacedOther = v == 0x20 && pos + 1 < end && isOther(c[pos + 1])
        if spacedOther || isOther(cl) {
            var p = spacedOther ? pos + 2 : pos + 1
            while p < end && isOther(c[p]) { p += 1 }
            while p < end && isNewline(s[p]) { p += 1 }
            emit(pos, p, &out)
            pos = p
            continue
        }
        // \s*[\r\n]+ : the whitespace run up to its last newline
        var p = pos
        var lastNewline = -1
        while p < end && c[p] & ScalarClass.whitespace != 0 {
            if isNewline(s[p]) { lastNewline = p + 1 }
            p += 1
        }
        if lastNewline > 0 {
            emit(pos, lastNewline, &out)
            pos = lastNewline
            continue
        }
        // \s+(?!\S)|\s+
        p = whitespaceEnd(c, pos, end)
        emit(pos, p, &out)
        pos = p
    }
}

/// Pieces for `class` (each scalar alone, or maximal runs) and the text between them.
private func isolate(_ c: [UInt8], _ start: Int, _ end: Int, _ cls: UInt8, runs: Bool, _ out: inout [Int32]) {
    var gap = start
    var pos = start
    while pos < end {
        if c[pos] & cls != 0 {
            emit(gap, pos, &out)
            var p = pos + 1
            if runs { while p < end && c[p] & cls != 0 { p += 1 } }
            emit(pos, p, &out)
            pos = p
            gap = p
        } else {
            pos += 1
        }
    }
    emit(gap, end, &out)
}

/// `[0-9][0-9][0-9]`: leftmost non-overlapping triples of ASCII digits, and the text between them.
private func splitThreeDigits(_ s: [UInt32], _ start: Int, _ end: Int, _ out: inout [Int32]) {
    @inline(__always) func digit(_ v: UInt32) -> Bool { v >= 0x30 && v <= 0x39 }
    var gap = start
    var pos = start
    while pos + 2 < end {
        if digit(s[pos]) && digit(s[pos + 1]) && digit(s[pos + 2]) {
            emit(gap, pos, &out)
            emit(pos, pos + 3, &out)
            pos += 3
            gap = pos
        } else {
            pos += 1
        }
    }
    emit(gap, end, &out)
}
