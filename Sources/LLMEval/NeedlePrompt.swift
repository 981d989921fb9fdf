// Needle-in-a-haystack prompts, built to a length and a needle depth measured in the model's own tokens.
//
// The default test is passkey retrieval as Mohtashami & Jaggi (2023, "Landmark Attention", appendix and
// epfml/landmark-attention `run_test.py`) wrote it: lines joined by "\n" —
//   instruction
//   filler sentences before the needle ("The grass is green. The sky is blue. …")
//   "The pass key is NNNNN. Remember it. NNNNN is the pass key."
//   filler sentences after the needle
//   "What is the pass key? The pass key is"
// with a fresh 5-digit key per trial. The "needle in a haystack" form (G. Kamradt, 2023) replaces the
// filler with real text cut at sentence boundaries, and the pass key with a custom needle, question and
// answer (no instruction line then).
//
// Length and depth are exact in tokens: LENGTH is what the test occupies in the context — prompt plus the
// tokens decoded for the answer (as RULER's max_seq_length does) — so a length equal to the model's
// context fits; the prompt is filled with whole haystack sentences until one more would not fit. The
// needle goes at the sentence boundary where the share of haystack tokens before it is closest to the
// requested depth (0 %: right after the instruction; 100 %: right before the question). The prompt is
// the tokenizer's encoding of the whole text, and depth, needle position and length are measured on
// those very tokens (each token is attributed to the part of the text where its bytes begin).
import Foundation
import LLMFormats
import LLMTensor
import LLMTokenizer

public enum NeedleError: Error, Equatable, CustomStringConvertible {
    case invalidDepth(Double)
    case invalidLength(Int)
    case invalidTrials(Int)
    case emptyGrid(String)
    case lengthOverContext(length: Int, contextLength: Int)
    case lengthTooShort(length: Int, needed: Int)
    case emptyField(String)
    case answerNotInNeedle(answer: String, needle: String)
    case haystackTooShort(source: String, tokens: Int, length: Int)
    case tokenizerRoundTrip

    public var description: String {
        switch self {
        case .invalidDepth(let d):
            return "needle depth \(Self.number(d)) is outside 0–100; depths are percentages of the haystack before the needle, e.g. --depths 0,25,50,75,100"
        case .invalidLength(let n):
            return "needle length \(n) is not a positive number of tokens; pass e.g. --lengths 1024,2048"
        case .invalidTrials(let n):
            return "--trials must be at least 1 (got \(n))"
        case .emptyGrid(let what):
            return "no \(what) given; pass at least one"
        case .lengthOverContext(let n, let c):
            return "length \(n) exceeds the model's context length of \(c) tokens; pass lengths up to \(c)"
        case .lengthTooShort(let n, let needed):
            return "length \(n) is too short for the instruction, needle, question and answer (\(needed) tokens); pass lengths of at least \(needed)"
        case .emptyField(let name):
            return "--\(name) is empty; pass the text to use"
        case .answerNotInNeedle(let a, let n):
            return "the answer '\(a)' does not occur in the needle '\(n)'; the needle must contain the answer the question asks for"
        case .haystackTooShort(let source, let tokens, let length):
            return "haystack '\(source)' has only \(tokens) tokens of text, too short for length \(length); pass a longer file or shorter --lengths"
        case .tokenizerRoundTrip:
            return "the model's tokenizer does not decode the prompt back to its text, so the needle cannot be located in tokens; this tokenizer is not supported by the needle test"
        }
    }

    static func number(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d) }
}

/// Text cut into sentence-sized units, each with the whitespace that precedes it, to fill prompts with.
public struct Haystack: Sendable {
    public struct Unit: Sendable, Equatable {
        /// Whitespace before the sentence (" ", or "\n\n" at a paragraph or document start).
        public let lead: String
        /// The sentence, beginning and ending with non-whitespace.
        public let body: String
    }

    /// "filler", or the file the text came from.
    public let source: String
    public let units: [Unit]
    /// True for the filler: its sentences repeat as often as needed. Real text is never repeated within
    /// one prompt (a prompt longer than the text is an error).
    public let repeats: Bool

    /// Mohtashami & Jaggi's filler, "The grass is green. The sky is blue. The sun is yellow. Here we go.
    /// There and back again.", repeated sentence by sentence.
    public static let filler = Haystack(
        source: "filler",
        units: ["The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.", "There and back again."]
            .map { Unit(lead: " ", body: $0) },
        repeats: true)

    /// Real text: documents split into sentences (a document starts as a new paragraph). Only the first
    /// `characterLimit` characters are used: far more than any context needs, and a huge file stays cheap.
    public static func text(_ documents: [String], source: String, characterLimit: Int = 4_000_000) -> Haystack {
        var units: [Unit] = []
        var left = characterLimit
        for doc in documents where left > 0 {
            let parts = sentences(doc.count > left ? String(doc.prefix(left)) : doc)
            left -= doc.count
            guard let first = parts.first else { continue }
            units.append(Unit(lead: "\n\n", body: first.body))
            units += parts.dropFirst()
        }
        return Haystack(source: source, units: units, repeats: false)
    }

    /// A text file (plain, JSON array of {"text"}, or JSONL; see `TextCorpus`).
    public static func file(_ path: String) throws -> Haystack {
        let h = text(try TextCorpus.documents(at: path), source: path)
        guard !h.units.isEmpty else { throw TextCorpusError.empty(path) }
        return h
    }

    /// Units longer than this many characters are cut at whitespace (text without sentence punctuation).
    static let maxUnitCharacters = 400

    /// Splits after a sentence end (. ! ? … followed by closing quotes or brackets) that whitespace
    /// follows, at every line break, and at whitespace once a unit grows past `maxUnitCharacters`.
    /// Each unit keeps the whitespace before it, so concatenating the units gives back the text
    /// (except the whitespace at its very start and end).
    static func sentences(_ text: String) -> [Unit] {
        let chars = Array(text)
        var units: [Unit] = []
        var lead = "", body = ""
        var i = 0
        while i < chars.count {
            guard chars[i].isWhitespace else { body.append(chars[i]); i += 1; continue }
            var j = i
            while j < chars.count && chars[j].isWhitespace { j += 1 }
            let run = String(chars[i..<j])
            if body.isEmpty {
                lead += run
            } else if j == chars.count || run.contains(where: \.isNewline) || endsSentence(body) || body.count >= maxUnitCharacters {
                units.append(Unit(lead: lead, body: body))
                (lead, body) = (run, "")
            } else {
                body += run
            }
            i = j
        }
        if !body.isEmpty { units.append(Unit(lead: lead, body: body)) }
        return units
    }

    static func endsSentence(_ s: String) -> Bool {
        let closers: Set<Character> = ["\"", "'", "”", "’", ")", "]", "»"]
        guard let last = s.reversed().first(where: { !closers.contains($0) }) else { return false }
        return [".", "!", "?", "…"].contains(last)
    }
}

/// What to hide and ask for, and in what.
public struct NeedleTest: Sendable {
    public enum Needle: Sendable, Equatable {
        /// Mohtashami & Jaggi's pass key: a fresh 5-digit number per trial.
        case passkey
        /// A fixed needle sentence, the question that precedes the answer, and the answer (which the
        /// needle contains).
        case custom(needle: String, question: String, answer: String)
    }

    public let needle: Needle
    public let haystack: Haystack

    public static let passkeyInstruction = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there."
    public static let passkeyQuestion = "What is the pass key? The pass key is"
    public static func passkeyNeedle(_ key: String) -> String { "The pass key is \(key). Remember it. \(key) is the pass key." }

    public init(needle: Needle = .passkey, haystack: Haystack = .filler) throws {
        if case .custom(let n, let q, let a) = needle {
            for (name, value) in [("needle", n), ("question", q), ("answer", a)] where value.allSatisfy(\.isWhitespace) {
                throw NeedleError.emptyField(name)
            }
            guard n.contains(a) else { throw NeedleError.answerNotInNeedle(answer: a, needle: n) }
        }
        self.needle = needle
        self.haystack = haystack
    }

    /// The default: pass key in filler.
    public static let passkey = try! NeedleTest()

    public var instruction: String? { needle == .passkey ? Self.passkeyInstruction : nil }

    public var question: String {
        switch needle {
        case .passkey: return Self.passkeyQuestion
        case .custom(_, let q, _): return q
        }
    }

    public func needleText(answer: String) -> String {
        switch needle {
        case .passkey: return Self.passkeyNeedle(answer)
        case .custom(let n, _, _): return n
        }
    }

    /// The answer and haystack offset of one trial: a function of (seed, length, depth, trial) only, so
    /// every model (original, dropped) and every run sees the same prompts.
    public func trialInputs(seed: UInt64, length: Int, depth: Double, trial: Int) -> (answer: String, offset: Int) {
        var h = seed
        for v in [UInt64(truncatingIfNeeded: length), UInt64(truncatingIfNeeded: Int((depth * 1000).rounded())), UInt64(truncatingIfNeeded: trial)] {
            var g = SeededGenerator(seed: h ^ v)
            h = g.next()
        }
        var rng = SeededGenerator(seed: h)
        let key = 10_000 + Int(rng.next(below: 90_000))
        let offset = Int(rng.next(below: UInt64(max(haystack.units.count, 1))))
        switch needle {
        case .passkey: return (String(key), offset)
        case .custom(_, _, let a): return (a, offset)
        }
    }

    /// "passkey" or "custom".
    public var kind: String { needle == .passkey ? "passkey" : "custom" }
}

/// One prompt and where its parts lie, in tokens.
public struct NeedlePrompt: Sendable {
    /// The prompt: BOS (when the tokenizer adds one) and the encoding of `text`.
    public let tokens: [Int]
    public let text: String
    /// What the model should answer (the pass key).
    public let answer: String
    /// Tokens of the needle line (its leading newline included).
    public let needleRange: Range<Int>
    /// Haystack tokens before and after the needle.
    public let haystackBefore: Int
    public let haystackAfter: Int
    /// Tokens decoded at most for the answer; `tokens.count + decodeBudget` ≤ the requested length.
    public let decodeBudget: Int
    /// The requested length and depth.
    public let length: Int
    public let depth: Double

    /// The needle's depth as placed: haystack tokens before it ÷ all haystack tokens, in percent.
    public var actualDepth: Double {
        let h = haystackBefore + haystackAfter
        return h == 0 ? depth : 100 * Double(haystackBefore) / Double(h)
    }
}

/// Builds prompts for one tokenizer and test. Not thread-safe (it memoises unit encodings).
public final class NeedlePromptBuilder {
    public let tokenizer: any Tokenizer
    public let test: NeedleTest
    let units: [Haystack.Unit]
    /// Tokens of each unit with its own lead, encoded when first needed (-1: not yet).
    private var own: [Int]
    private var memo: [Int: Int] = [:]
    private let bos: [Int]
    private let instructionTokens: Int

    public init(tokenizer: any Tokenizer, test: NeedleTest) {
        self.tokenizer = tokenizer
        self.test = test
        bos = tokenizer.addBOS ? tokenizer.bosID.map { [$0] } ?? [] : []
        instructionTokens = test.instruction.map { tokenizer.encode($0, addSpecialTokens: false).count } ?? 0
        units = test.haystack.units
        own = Array(repeating: -1, count: units.count)
    }

    /// Tokens of the haystack's sentences encoded so far (all of them once a prompt needed the whole text).
    public var haystackTokens: Int { own.reduce(0) { $0 + max($1, 0) } }

    /// Tokens of the longest haystack sentence (with the whitespace before it) encoded so far: the
    /// granularity of lengths and depths.
    public var largestUnitTokens: Int { own.max().map { max($0, 0) } ?? 0 }

    /// Tokens decoded at most for `answer`: its encoding after a space, one token to see where it ends,
    /// and one spare.
    public func decodeBudget(answer: String) -> Int {
        tokenizer.encode(" " + answer, addSpecialTokens: false).count + 2
    }

    private enum Lead: Int { case own = 0, line = 1, none = 2 }

    private func ownCount(_ unit: Int) -> Int {
        if own[unit] < 0 { own[unit] = tokenizer.encode(units[unit].lead + units[unit].body, addSpecialTokens: false).count }
        return own[unit]
    }

    private func count(_ unit: Int, _ lead: Lead) -> Int {
        if lead == .own { return ownCount(unit) }
        let key = unit * 3 + lead.rawValue
        if let n = memo[key] { return n }
        let n = tokenizer.encode((lead == .line ? "\n" : "") + units[unit].body, addSpecialTokens: false).count
        memo[key] = n
        return n
    }

    /// The prompt of one trial of the test (answer and haystack offset from `NeedleTest.trialInputs`).
    public func prompt(length: Int, depth: Double, seed: UInt64, trial: Int) throws -> NeedlePrompt {
        let (answer, offset) = test.trialInputs(seed: seed, length: length, depth: depth, trial: trial)
        return try prompt(length: length, depth: depth, answer: answer, offset: offset)
    }

    /// A prompt of at most `length` tokens including the answer's decode budget, with the needle (carrying
    /// `answer`) at `depth` percent of the haystack, the haystack starting at unit `offset`.
    public func prompt(length: Int, depth: Double, answer: String, offset: Int) throws -> NeedlePrompt {
        guard length >= 1 else { throw NeedleError.invalidLength(length) }
        guard (0...100).contains(depth) else { throw NeedleError.invalidDepth(depth) }
        let budget = decodeBudget(answer: answer)
        let maxPrompt = length - budget
        let hasInstruction = test.instruction != nil
        let needleText = test.needleText(answer: answer)
        let needleLine = tokenizer.encode("\n" + needleText, addSpecialTokens: false).count
        let needleBare = hasInstruction ? needleLine : tokenizer.encode(needleText, addSpecialTokens: false).count
        let questionTokens = tokenizer.encode("\n" + test.question, addSpecialTokens: false).count
        let fixed = bos.count + instructionTokens + questionTokens
        let P = units.count
        let unit = { (i: Int) in (offset + i) % P }
        let fraction = depth / 100

        // Prefix sums of the window's own-lead counts, grown as needed.
        var sums = [0]
        func extend(to n: Int) { while sums.count <= n { sums.append(sums.last! + ownCount(unit(sums.count - 1))) } }
        // Planned haystack tokens before/after the needle and the prompt total for n units, needle after k.
        func plan(_ n: Int, _ k: Int) -> (before: Int, after: Int, total: Int) {
            var before = sums[k], after = sums[n] - sums[k]
            if k > 0 { before += count(unit(0), hasInstruction ? .line : .none) - ownCount(unit(0)) }
            if k < n { after += count(unit(k), .line) - ownCount(unit(k)) }
            return (before, after, fixed + (k > 0 ? needleLine : needleBare) + before + after)
        }
        func bestK(_ n: Int) -> Int {
            if fraction <= 0 || n == 0 { return 0 }
            if fraction >= 1 { return n }
            let target = fraction * Double(sums[n])
            var lo = 0, hi = n
            while lo < hi { let m = (lo + hi) / 2; if Double(sums[m]) < target { lo = m + 1 } else { hi = m } }
            var best = lo, err = Double.infinity
            for k in max(0, lo - 1)...min(n, lo + 1) {
                let p = plan(n, k)
                let e = abs(Double(p.before) - fraction * Double(p.before + p.after))
                if e < err { (best, err) = (k, e) }
            }
            return best
        }

        let minimum = fixed + needleBare + budget
        guard minimum <= length else { throw NeedleError.lengthTooShort(length: length, needed: minimum) }
        var n = 0, k = 0
        let maxUnits = test.haystack.repeats ? Int.max : P
        while n < maxUnits {
            extend(to: n + 1)
            let k1 = bestK(n + 1)
            if plan(n + 1, k1).total > maxPrompt { break }
            n += 1
            k = k1
        }
        if n == maxUnits {
            // Out of text: refuse unless the prompt is within a sentence of the length anyway.
            let slack = maxPrompt - plan(n, k).total
            if slack > largestUnitTokens { throw NeedleError.haystackTooShort(source: test.haystack.source, tokens: haystackTokens, length: length) }
        }

        // Build the text and encode it whole; the joint encoding can differ from the per-unit plan by a
        // token where units meet, so drop units until it fits.
        while true {
            let built = build(n: n, k: k, unit: unit, needle: needleText)
            let tokens = bos + tokenizer.encode(built.text, addSpecialTokens: false)
            if tokens.count <= maxPrompt || n == 0 {
                guard tokens.count <= maxPrompt else { throw NeedleError.lengthTooShort(length: length, needed: tokens.count + budget) }
                return try locate(tokens: tokens, built: built, answer: answer, budget: budget, length: length, depth: depth)
            }
            n -= 1
            k = bestK(n)
        }
    }

    private struct Built {
        var text = ""
        /// UTF-8 offsets where the parts begin: haystack before, needle line, haystack after, question line.
        var before = 0, needle = 0, after = 0, question = 0
    }

    private func build(n: Int, k: Int, unit: (Int) -> Int, needle: String) -> Built {
        var b = Built()
        var bytes = 0
        func add(_ s: String) { b.text += s; bytes += s.utf8.count }
        let hasInstruction = test.instruction != nil
        if let i = test.instruction { add(i) }
        b.before = bytes
        for i in 0..<k {
            let u = units[unit(i)]
            add((i == 0 ? (hasInstruction ? "\n" : "") : u.lead) + u.body)
        }
        b.needle = bytes
        add((hasInstruction || k > 0 ? "\n" : "") + needle)
        b.after = bytes
        for i in k..<n {
            let u = units[unit(i)]
            add((i == k ? "\n" : u.lead) + u.body)
        }
        b.question = bytes
        add("\n" + test.question)
        return b
    }

    /// Measures the parts on the tokens: each token belongs to the part where its first byte lies.
    private func locate(tokens: [Int], built: Built, answer: String, budget: Int, length: Int, depth: Double) throws -> NeedlePrompt {
        let textBytes = Array(built.text.utf8)
        var starts: [Int] = [], decoded: [UInt8] = []
        decoded.reserveCapacity(textBytes.count + 8)
        for t in tokens[bos.count...] {
            starts.append(decoded.count)
            decoded += tokenizer.bytes(of: t, special: false)
        }
        // A SentencePiece dummy prefix decodes as leading spaces the text does not have.
        let extra = decoded.count - textBytes.count
        guard extra >= 0, decoded[extra...].elementsEqual(textBytes), decoded[..<extra].allSatisfy({ $0 == 0x20 }) else {
            throw NeedleError.tokenizerRoundTrip
        }
        func firstToken(atOrAfter byte: Int) -> Int {
            var lo = 0, hi = starts.count
            while lo < hi { let m = (lo + hi) / 2; if starts[m] - extra < byte { lo = m + 1 } else { hi = m } }
            return lo
        }
        let b0 = firstToken(atOrAfter: built.before), n0 = firstToken(atOrAfter: built.needle)
        let a0 = firstToken(atOrAfter: built.after), q0 = firstToken(atOrAfter: built.question)
        return NeedlePrompt(tokens: tokens, text: built.text, answer: answer,
                            needleRange: (bos.count + n0)..<(bos.count + a0),
                            haystackBefore: n0 - b0, haystackAfter: q0 - a0,
                            decodeBudget: budget, length: length, depth: depth)
    }
}
