// Byte-level BPE (GGUF `tokenizer.ggml.model = "gpt2"`; GPT-2, SmolLM2, Llama 3, Qwen2): special
// tokens are cut out of the raw text first, the rest is split by the pre-tokenizer, each piece's bytes
// are written in GPT-2's byte alphabet and merged pairwise, always the adjacent pair whose merge comes
// first in `tokenizer.ggml.merges` (leftmost on ties) — Sennrich et al. 2016 as in llama.cpp's
// `llm_tokenizer_bpe_session` and HF tokenizers' `BPE` model.

public struct BPETokenizer: Tokenizer {
    public var kind: TokenizerKind { .bpe }
    public let preTokenizer: BPEPreTokenizer
    public let bosID: Int?
    public let eosID: Int?
    public let addBOS: Bool
    public let addEOS: Bool
    public var vocabularySize: Int { vocab.count }

    let vocab: Vocabulary
    private let merges: MergeTable
    /// Token of each byte's GPT-2 code point (-1: none).
    private let byteTokens: [Int32]
    private let pieces: TokenPieces

    /// - Parameters:
    ///   - tokens: vocabulary in GPT-2's byte alphabet ("Ġhello"), index = token id.
    ///   - types: token types (default: all normal); control, user-defined and unknown tokens are matched in raw text.
    ///   - merges: "left right" rules, highest priority first.
    ///   - addBOS: nil for llama.cpp's default (true for the llama3 pre-tokenizer, else false).
    public init(
        tokens: [String], types: [TokenType]? = nil, merges: [String],
        preTokenizer: BPEPreTokenizer = .gpt2,
        bosID: Int? = nil, eosID: Int? = nil, addBOS: Bool? = nil, addEOS: Bool = false
    ) throws {
        let vocab = try Vocabulary(tokens: tokens, types: types)
        self.vocab = vocab
        self.preTokenizer = preTokenizer
        self.bosID = try vocab.checkedID(bosID, key: "tokenizer.ggml.bos_token_id")
        self.eosID = try vocab.checkedID(eosID, key: "tokenizer.ggml.eos_token_id")
        self.addBOS = (addBOS ?? preTokenizer.addsBOSByDefault) && self.bosID != nil
        self.addEOS = addEOS && self.eosID != nil

        var table = MergeTable(minimumCapacity: max(merges.count, 1))
        for (rank, rule) in merges.enumerated() {
            let b = Array(rule.utf8)
            // The separator is the first space after the first byte (llama.cpp: find(' ', 1)).
            guard b.count >= 3, let sp = b[1...].firstIndex(of: 0x20), sp + 1 < b.count else {
                throw TokenizerError.malformedMerge(index: rank, merge: rule)
            }
            let left = vocab.id(of: Array(b[..<sp]))
            let right = vocab.id(of: Array(b[(sp + 1)...]))
            let merged = vocab.id(of: Array(b[..<sp] + b[(sp + 1)...]))
            // A rule over strings that are not tokens can never apply; skip it.
            guard left >= 0, right >= 0, merged >= 0 else { continue }
            table.insert(left: left, right: right, rank: Int32(rank), merged: merged)
        }
        self.merges = table
        self.byteTokens = ByteLevel.encodedUTF8.map { vocab.id(of: $0) }
        self.pieces = TokenPieces(count: vocab.count) { i in
            let text = vocab.tokens[i]
            switch vocab.types[i] {
            case .control, .unknown, .unused: return (Array(text.utf8), true)
            case .userDefined: return (Array(text.utf8), false)
            case .normal, .byte, .undefined: return (ByteLevel.decode(text), false)
            }
        }
    }

    public func tokenString(_ id: Int) -> String? {
        id >= 0 && id < vocab.count ? vocab.tokens[id] : nil
    }

    public func bytes(of id: Int, special: Bool) -> [UInt8] {
        pieces.bytes(of: id, special: special)
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecialTokens, addBOS, let bos = bosID { out.append(bos) }
        var text = text
        text.withUTF8 { buf in
            var state = EncodeState()
            var fragments: [TextFragment] = []
            vocab.specials.partition(buf, into: &fragments)
            for f in fragments {
                switch f {
                case .token(let id): out.append(Int(id))
                case .text(let r): encodeText(buf, r, &state, &out)
                }
            }
        }
        if addSpecialTokens, addEOS, let eos = eosID { out.append(eos) }
        return out
    }

    /// Buffers reused across the pieces of one `encode` call, and its cache of piece → tokens.
    private struct EncodeState {
        var pre = PreTokenizerScratch()
        var cache = ByteStringTable(minimumCapacity: 1024)
        var cacheTokens: [Int32] = []
        var cacheRanges: [Range<Int>] = []
        var word: [Int32] = []
        var ids: [Int32] = []
        var next: [Int32] = []
        var prev: [Int32] = []
        var heap = MergeQueue<MergeCandidate>()
        var mapped: [UInt8] = []
    }

    private struct MergeCandidate: MergeOrdered {
        /// rank << 32 | left: the smallest key merges first.
        var key: UInt64
        var right: Int32
        var leftID: Int32
        var rightID: Int32
        var merged: Int32
        var left: Int { Int(UInt32(truncatingIfNeeded: key)) }

        func before(_ other: MergeCandidate) -> Bool { key < other.key }
    }

    private func encodeText(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ st: inout EncodeState, _ out: inout [Int]) {
        preTokenizer.split(buf, range, &st.pre)
        let pieces = st.pre.pieces
        var k = 0
        while k < pieces.count {
            let a = st.pre.byteOffsets[Int(pieces[k])]
            let b = st.pre.byteOffsets[Int(pieces[k + 1])]
            k += 2
            let key = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buf[a ..< b]))
            let (e, inserted) = st.cache.insert(key)
            if !inserted {
                for i in st.cacheRanges[e] { out.append(Int(st.cacheTokens[i])) }
                continue
            }
            st.word.removeAll(keepingCapacity: true)
            mergeWord(key, &st)
            let start = st.cacheTokens.count
            st.cacheTokens.append(contentsOf: st.word)
            st.cacheRanges.append(start ..< st.cacheTokens.count)
            for t in st.word { out.append(Int(t)) }
        }
    }

    /// BPE of one piece's raw bytes into `st.word`.
    private func mergeWord(_ bytes: UnsafeRawBufferPointer, _ st: inout EncodeState) {
        let n = bytes.count
        if preTokenizer.ignoresMerges {
            st.mapped.removeAll(keepingCapacity: true)
            for b in bytes { st.mapped.append(contentsOf: ByteLevel.encodedUTF8[Int(b)]) }
            let whole = vocab.id(of: st.mapped)
            if whole >= 0 { st.word.append(whole); return }
        }
        st.ids.removeAll(keepingCapacity: true)
        st.next.removeAll(keepingCapacity: true)
        st.prev.removeAll(keepingCapacity: true)
        for (i, b) in bytes.enumerated() {
            st.ids.append(byteTokens[Int(b)])
            st.prev.append(Int32(i - 1))
            st.next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        st.heap.removeAll()
        for i in 0 ..< max(n - 1, 0) { pushPair(i, i + 1, &st) }
        while let top = st.heap.pop() {
            let l = top.left, r = Int(top.right)
            // Skip candidates made stale by an earlier merge.
            guard st.ids[l] == top.leftID, st.ids[r] == top.rightID, Int(st.next[l]) == r else { continue }
            st.ids[l] = top.merged
            st.ids[r] = -2
            let nr = st.next[r]
            st.next[l] = nr
            if nr >= 0 { st.prev[Int(nr)] = Int32(l) }
            if st.prev[l] >= 0 { pushPair(Int(st.prev[l]), l, &st) }
            if nr >= 0 { pushPair(l, Int(nr), &st) }
        }
        var i = n > 0 ? 0 : -1
        while i >= 0 {
            // A byte with no token is dropped, as llama.cpp does (SmolLM2 lacks 21 of the 256 byte
            // symbols: 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D and bytes that are rare or invalid in UTF-8).
            if st.ids[i] >= 0 { st.word.append(st.ids[i]) }
            i = Int(st.next[i])
        }
    }

    @inline(__always)
    private func pushPair(_ l: Int, _ r: Int, _ st: inout EncodeState) {
        let a = st.ids[l], b = st.ids[r]
        guard a >= 0, b >= 0, let m = merges.find(left: a, right: b) else { return }
        let c = MergeCandidate(key: UInt64(UInt32(m.rank)) << 32 | UInt64(l), right: Int32(r), leftID: a, rightID: b, merged: m.merged)
        st.heap.push(c)
    }
}
