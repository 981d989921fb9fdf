// SentencePiece-style BPE by piece scores (GGUF `tokenizer.ggml.model = "llama"`; Llama 2, Gemma):
// special and user-defined tokens are cut out of the raw text first; each remaining fragment gets a
// leading space if `add_space_prefix` (and it starts the text or follows a special token), spaces
// become ▁ (U+2581), and starting from single UTF-8 characters the adjacent pair whose concatenation
// is the highest-scoring token merges first (leftmost on ties). Characters left without a token
// become `<0xNN>` byte tokens, else one unknown token each. Semantics of llama.cpp's `llm_tokenizer_spm`.

public struct SentencePieceTokenizer: Tokenizer {
    public var kind: TokenizerKind { .sentencePiece }
    public let bosID: Int?
    public let eosID: Int?
    public let unknownID: Int?
    public let addBOS: Bool
    public let addEOS: Bool
    /// `tokenizer.ggml.add_space_prefix`: a space before text that starts the input or follows a special token.
    public let addSpacePrefix: Bool
    public var vocabularySize: Int { vocab.count }

    let vocab: Vocabulary
    private let scores: [Float]
    /// The `<0xNN>` token of each byte (-1: none).
    private let byteTokens: [Int32]
    private let pieces: TokenPieces

    public init(
        tokens: [String], scores: [Float], types: [TokenType]? = nil,
        bosID: Int? = nil, eosID: Int? = nil, unknownID: Int? = nil,
        addBOS: Bool = true, addEOS: Bool = false, addSpacePrefix: Bool = true
    ) throws {
        let vocab = try Vocabulary(tokens: tokens, types: types)
        guard scores.count == tokens.count else {
            throw TokenizerError.lengthMismatch(key: "tokenizer.ggml.scores", count: scores.count, vocabularySize: tokens.count)
        }
        self.vocab = vocab
        self.scores = scores
        self.bosID = try vocab.checkedID(bosID, key: "tokenizer.ggml.bos_token_id")
        self.eosID = try vocab.checkedID(eosID, key: "tokenizer.ggml.eos_token_id")
        self.unknownID = try vocab.checkedID(unknownID, key: "tokenizer.ggml.unknown_token_id")
        self.addBOS = addBOS && self.bosID != nil
        self.addEOS = addEOS && self.eosID != nil
        self.addSpacePrefix = addSpacePrefix
        self.byteTokens = (0 ..< 256).map { b in
            let hex = "<0x" + String(b, radix: 16, uppercase: true).leftPadded(to: 2) + ">"
            let id = vocab.id(of: hex)
            return id >= 0 ? id : vocab.id(of: [UInt8(b)])
        }
        self.pieces = TokenPieces(count: vocab.count) { i in
            let text = vocab.tokens[i]
            switch vocab.types[i] {
            case .control, .unknown, .unused, .undefined: return (Array(text.utf8), true)
            case .userDefined: return (Array(text.utf8), false)
            case .normal: return (Self.unescape(text), false)
            case .byte: return (Self.byteValue(text).map { [$0] } ?? Array(text.utf8), false)
            }
        }
    }

    public func tokenString(_ id: Int) -> String? {
        id >= 0 && id < vocab.count ? vocab.tokens[id] : nil
    }

    public func bytes(of id: Int, special: Bool) -> [UInt8] {
        pieces.bytes(of: id, special: special)
    }

    /// Joins the token bytes; with `addSpacePrefix` the space the encoder added before the first
    /// word is removed again (HF's `Strip` decoder: one leading space of the first piece of text).
    public func decode(_ ids: [Int], special: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        var stripPending = addSpacePrefix
        for id in ids {
            let piece = bytes(of: id, special: special)
            if piece.isEmpty { continue }
            if stripPending && !pieces.isSpecialOnly(id) && vocab.types[id] != .userDefined && piece.first == 0x20 {
                out.append(contentsOf: piece.dropFirst())
            } else {
                out.append(contentsOf: piece)
            }
            stripPending = false
        }
        return String(decoding: out, as: UTF8.self)
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecialTokens, addBOS, let bos = bosID { out.append(bos) }
        var text = text
        text.withUTF8 { buf in
            var fragments: [TextFragment] = []
            vocab.specials.partition(buf, into: &fragments)
            var st = EncodeState()
            var previousIsSpecial = true
            for f in fragments {
                switch f {
                case .token(let id):
                    out.append(Int(id))
                    previousIsSpecial = true
                case .text(let r):
                    st.text.removeAll(keepingCapacity: true)
                    if addSpacePrefix && previousIsSpecial { st.text.append(contentsOf: Self.spaceMark) }
                    for b in buf[r] {
                        if b == 0x20 { st.text.append(contentsOf: Self.spaceMark) } else { st.text.append(b) }
                    }
                    mergeFragment(&st, &out)
                    previousIsSpecial = false
                }
            }
        }
        if addSpecialTokens, addEOS, let eos = eosID { out.append(eos) }
        return out
    }

    /// ▁ (U+2581), SentencePiece's visible space.
    static let spaceMark: [UInt8] = [0xE2, 0x96, 0x81]

    private struct EncodeState {
        var text: [UInt8] = []
        var start: [Int32] = []
        var length: [Int32] = []
        var prev: [Int32] = []
        var next: [Int32] = []
        var heap = MergeQueue<Candidate>()
    }

    private struct Candidate: MergeOrdered {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32

        /// Pops first: higher score, then the leftmost.
        @inline(__always)
        func before(_ o: Candidate) -> Bool {
            score > o.score || (score == o.score && left < o.left)
        }
    }

    private func mergeFragment(_ st: inout EncodeState, _ out: inout [Int]) {
        st.start.removeAll(keepingCapacity: true)
        st.length.removeAll(keepingCapacity: true)
        st.prev.removeAll(keepingCapacity: true)
        st.next.removeAll(keepingCapacity: true)
        st.heap.removeAll()
        let n = st.text.count
        var offset = 0
        while offset < n {
            let lead = st.text[offset]
            let len = min(lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, n - offset)
            let i = st.start.count
            st.start.append(Int32(offset))
            st.length.append(Int32(len))
            st.prev.append(Int32(i - 1))
            offset += len
            st.next.append(offset == n ? -1 : Int32(i + 1))
        }
        let count = st.start.count
        guard count > 0 else { return }
        st.text.withUnsafeBytes { text in
            for i in 1 ..< max(count, 1) { tryPair(i - 1, i, text, &st) }
            while let top = st.heap.pop() {
                let l = Int(top.left), r = Int(top.right)
                // Skip candidates made stale by an earlier merge.
                if st.length[l] == 0 || st.length[r] == 0 || st.length[l] + st.length[r] != top.size { continue }
                st.length[l] += st.length[r]
                st.length[r] = 0
                let nr = st.next[r]
                st.next[l] = nr
                if nr >= 0 { st.prev[Int(nr)] = Int32(l) }
                if st.prev[l] >= 0 { tryPair(Int(st.prev[l]), l, text, &st) }
                if nr >= 0 { tryPair(l, Int(nr), text, &st) }
            }
            var i = 0
            while i >= 0 {
                let a = Int(st.start[i])
                let piece = UnsafeRawBufferPointer(rebasing: text[a ..< a + Int(st.length[i])])
                let id = vocab.id(of: piece)
                if id >= 0 {
                    out.append(Int(id))
                } else if piece.allSatisfy({ byteTokens[Int($0)] >= 0 }) {
                    for b in piece { out.append(Int(byteTokens[Int(b)])) }
                } else if let unk = unknownID {
                    // No byte fallback for this character: one <unk> for it, as SentencePiece does.
                    out.append(unk)
                }
                i = Int(st.next[i])
            }
        }
    }

    @inline(__always)
    private func tryPair(_ l: Int, _ r: Int, _ text: UnsafeRawBufferPointer, _ st: inout EncodeState) {
        let a = Int(st.start[l])
        let size = st.length[l] + st.length[r]
        let id = vocab.id(of: UnsafeRawBufferPointer(rebasing: text[a ..< a + Int(size)]))
        guard id >= 0 else { return }
        let c = Candidate(score: scores[Int(id)], left: Int32(l), right: Int32(r), size: size)
        st.heap.push(c)
    }

    /// ▁ → space.
    static func unescape(_ text: String) -> [UInt8] {
        let b = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if i + 2 < b.count && b[i] == 0xE2 && b[i + 1] == 0x96 && b[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }

    /// The byte of a `<0xNN>` token.
    static func byteValue(_ text: String) -> UInt8? {
        guard text.utf8.count == 6, text.hasPrefix("<0x"), text.hasSuffix(">") else { return nil }
        return UInt8(text.dropFirst(3).prefix(2), radix: 16)
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
}
