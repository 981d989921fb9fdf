// Incremental detokenization for streaming generation: token bytes accumulate and only complete UTF-8
// text is handed out, so a character split across tokens (byte-level BPE pieces of an emoji, or
// SentencePiece <0xNN> byte tokens) appears once, whole.

public struct StreamingDecoder: Sendable {
    public let tokenizer: any Tokenizer
    /// Whether control tokens show as their text.
    public var special: Bool
    /// Bytes of an incomplete UTF-8 sequence at the end of what was pushed.
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer, special: Bool = false) {
        self.tokenizer = tokenizer
        self.special = special
    }

    /// Adds one token; returns the text completed by it (possibly empty).
    public mutating func push(_ id: Int) -> String {
        push(bytes: tokenizer.bytes(of: id, special: special))
    }

    /// Adds raw bytes; returns the text they complete (possibly empty). Bytes that can never form a
    /// character come out as U+FFFD at once rather than being held back.
    public mutating func push(bytes: [UInt8]) -> String {
        pending.append(contentsOf: bytes)
        let keep = Self.incompleteSuffixLength(pending)
        let ready = pending.count - keep
        guard ready > 0 else { return "" }
        let text = String(decoding: pending[..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Ends the stream: what is still held, with U+FFFD for an unfinished character.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Whether bytes are held back waiting for the rest of a character.
    public var hasPendingBytes: Bool { !pending.isEmpty }

    /// Length of a trailing prefix of a multi-byte UTF-8 sequence that more bytes could complete.
    static func incompleteSuffixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        // Look back over at most 3 continuation bytes for the lead byte.
        var i = n - 1
        var continuation = 0
        while i >= 0 && continuation < 3 && b[i] & 0xC0 == 0x80 {
            continuation += 1
            i -= 1
        }
        guard i >= 0 else { return 0 }
        let lead = b[i]
        let needed: Int
        switch lead {
        case 0xC2 ... 0xDF: needed = 2
        case 0xE0 ... 0xEF: needed = 3
        case 0xF0 ... 0xF4: needed = 4
        default: return 0
        }
        let have = n - i
        guard have < needed else { return 0 }
        // The second byte of E0/ED/F0/F4 sequences has a narrower valid range.
        if have >= 2 {
            let second = b[i + 1]
            switch lead {
            case 0xE0: if second < 0xA0 { return 0 }
            case 0xED: if second > 0x9F { return 0 }
            case 0xF0: if second < 0x90 { return 0 }
            case 0xF4: if second > 0x8F { return 0 }
            default: break
            }
        }
        return have
    }
}
