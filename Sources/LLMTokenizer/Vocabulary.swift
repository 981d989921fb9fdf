// The vocabulary shared by both tokenizers: token strings, token types, a byte-string → id table,
// and the matcher that finds special tokens (control, user-defined, unknown) in raw text before any
// other splitting — llama.cpp's `tokenizer_st_partition`, HF tokenizers' added-token extraction.

struct Vocabulary: Sendable {
    let tokens: [String]
    let types: [TokenType]
    private let table: ByteStringTable
    /// Token id of each table entry (the last id wins for duplicated strings, as in llama.cpp's `token_to_id`).
    private let entryToID: [Int32]
    let specials: SpecialTokenMatcher

    var count: Int { tokens.count }

    init(tokens: [String], types: [TokenType]?) throws {
        guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary }
        if let types, types.count != tokens.count {
            throw TokenizerError.lengthMismatch(key: "tokenizer.ggml.token_type", count: types.count, vocabularySize: tokens.count)
        }
        let types = types ?? Array(repeating: .normal, count: tokens.count)
        var table = ByteStringTable(minimumCapacity: tokens.count)
        var entryToID: [Int32] = []
        entryToID.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() {
            var s = t
            let (e, inserted) = s.withUTF8 { table.insert(UnsafeRawBufferPointer($0)) }
            if inserted { entryToID.append(Int32(i)) } else { entryToID[e] = Int32(i) }
        }
        self.tokens = tokens
        self.types = types
        self.table = table
        self.entryToID = entryToID
        var matcher = SpecialTokenMatcher()
        for (i, t) in tokens.enumerated() where types[i].isMatchedInText && !t.isEmpty {
            matcher.add(Array(t.utf8), id: Int32(i))
        }
        self.specials = matcher
    }

    /// The id of the token whose text is exactly `bytes`, or -1.
    @inline(__always)
    func id(of bytes: UnsafeRawBufferPointer) -> Int32 {
        let e = table.find(bytes)
        return e < 0 ? -1 : entryToID[e]
    }

    func id(of bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { id(of: $0) }
    }

    func id(of string: String) -> Int32 { id(of: Array(string.utf8)) }

    func checkedID(_ id: Int?, key: String) throws -> Int? {
        guard let id else { return nil }
        guard id >= 0 && id < count else {
            throw TokenizerError.tokenIDOutOfRange(key: key, id: id, vocabularySize: count)
        }
        return id
    }
}

/// A piece of input text after special-token extraction.
enum TextFragment: Equatable {
    /// Byte range of ordinary text.
    case text(Range<Int>)
    /// A special token matched in the text.
    case token(Int32)
}

/// A byte trie of special-token strings; finds the leftmost-longest match at each position.
struct SpecialTokenMatcher: Sendable {
    /// Child of the root for each first byte (-1: none), so most text bytes cost one array read.
    private var rootChild = [Int32](repeating: -1, count: 256)
    /// Children of inner nodes, keyed by `node << 8 | byte`.
    private var children: [UInt32: Int32] = [:]
    /// Token id ending at each node, or -1. Node 0 is the root.
    private var terminal: [Int32] = [-1]

    var isEmpty: Bool { terminal.count == 1 }

    mutating func add(_ bytes: [UInt8], id: Int32) {
        var node: Int32 = 0
        for (i, b) in bytes.enumerated() {
            var next: Int32
            if i == 0 {
                next = rootChild[Int(b)]
            } else {
                next = children[UInt32(node) << 8 | UInt32(b)] ?? -1
            }
            if next < 0 {
                next = Int32(terminal.count)
                terminal.append(-1)
                if i == 0 { rootChild[Int(b)] = next } else { children[UInt32(node) << 8 | UInt32(b)] = next }
            }
            node = next
        }
        // The first token of a string wins when the vocabulary repeats it.
        if terminal[Int(node)] < 0 { terminal[Int(node)] = id }
    }

    /// Splits `text` into ordinary-text ranges and special tokens (leftmost-longest matching).
    func partition(_ text: UnsafeBufferPointer<UInt8>, into out: inout [TextFragment]) {
        out.removeAll(keepingCapacity: true)
        let n = text.count
        if isEmpty {
            if n > 0 { out.append(.text(0 ..< n)) }
            return
        }
        var pending = 0
        var i = 0
        while i < n {
            var node = rootChild[Int(text[i])]
            if node < 0 { i += 1; continue }
            var bestLength = 0
            var bestID: Int32 = -1
            var j = i + 1
            while true {
                let t = terminal[Int(node)]
                if t >= 0 { bestLength = j - i; bestID = t }
                if j >= n { break }
                guard let next = children[UInt32(node) << 8 | UInt32(text[j])] else { break }
                node = next
                j += 1
            }
            if bestID < 0 { i += 1; continue }
            if pending < i { out.append(.text(pending ..< i)) }
            out.append(.token(bestID))
            i += bestLength
            pending = i
        }
        if pending < n { out.append(.text(pending ..< n)) }
    }
}

/// The bytes each token contributes to decoded text, precomputed once (flat storage).
struct TokenPieces: Sendable {
    private let storage: [UInt8]
    private let offsets: [Int]
    /// Control, unknown and unused tokens: their text appears only when decoding with `special`.
    private let specialOnly: [Bool]

    init(count: Int, piece: (Int) -> (bytes: [UInt8], specialOnly: Bool)) {
        var storage: [UInt8] = []
        var offsets = [0]
        var specialOnly: [Bool] = []
        offsets.reserveCapacity(count + 1)
        specialOnly.reserveCapacity(count)
        for i in 0 ..< count {
            let p = piece(i)
            storage.append(contentsOf: p.bytes)
            offsets.append(storage.count)
            specialOnly.append(p.specialOnly)
        }
        self.storage = storage
        self.offsets = offsets
        self.specialOnly = specialOnly
    }

    func bytes(of id: Int, special: Bool) -> [UInt8] {
        guard id >= 0 && id < specialOnly.count else { return [] }
        if specialOnly[id] && !special { return [] }
        return Array(storage[offsets[id] ..< offsets[id + 1]])
    }

    func isSpecialOnly(_ id: Int) -> Bool { id >= 0 && id < specialOnly.count && specialOnly[id] }
}
