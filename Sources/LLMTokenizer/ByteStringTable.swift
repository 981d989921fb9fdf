// An open-addressing hash set of byte strings, each given a dense entry index in insertion order.
// Keys are raw UTF-8 bytes, never `String`: Swift compares strings by canonical equivalence, so
// "é" (U+00E9) and "e\u{301}" would collide although vocabularies hold them as different tokens.

struct ByteStringTable: Sendable {
    /// Entry `i` is `storage[offsets[i] ..< offsets[i + 1]]`.
    private(set) var storage: [UInt8] = []
    private(set) var offsets: [Int] = [0]
    /// -1 for an empty slot, else an entry index.
    private var slots: [Int32]
    private var hashes: [UInt32] = []

    var count: Int { offsets.count - 1 }

    init(minimumCapacity: Int = 16) {
        var n = 16
        while n < minimumCapacity * 2 { n <<= 1 }
        slots = Array(repeating: -1, count: n)
    }

    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)
        var i = 0
        let n = key.count
        while i + 8 <= n {
            let v = key.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ v) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        if i < n {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                v |= UInt64(key[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ v) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 29
        }
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// The entry index of `key`, or -1.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer) -> Int {
        let h = Self.hash(key)
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        return storage.withUnsafeBytes { st in
            while true {
                let e = Int(slots[s])
                if e < 0 { return -1 }
                if hashes[e] == UInt32(truncatingIfNeeded: h) {
                    let a = offsets[e], b = offsets[e + 1]
                    if b - a == key.count && (key.count == 0 || memoryEqual(st.baseAddress! + a, key.baseAddress!, key.count)) {
                        return e
                    }
                }
                s = (s + 1) & mask
            }
        }
    }

    func find(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { find($0) }
    }

    /// Inserts `key` if absent; returns its entry index and whether it was new.
    @discardableResult
    mutating func insert(_ key: UnsafeRawBufferPointer) -> (index: Int, inserted: Bool) {
        let existing = find(key)
        if existing >= 0 { return (existing, false) }
        if (count + 1) * 2 > slots.count { grow() }
        let h = Self.hash(key)
        let e = count
        storage.append(contentsOf: key)
        offsets.append(storage.count)
        hashes.append(UInt32(truncatingIfNeeded: h))
        place(entry: e, hash: h)
        return (e, true)
    }

    @discardableResult
    mutating func insert(_ bytes: [UInt8]) -> (index: Int, inserted: Bool) {
        bytes.withUnsafeBytes { insert($0) }
    }

    /// The bytes of entry `e`.
    func key(_ e: Int) -> ArraySlice<UInt8> { storage[offsets[e] ..< offsets[e + 1]] }

    private mutating func place(entry e: Int, hash h: UInt64) {
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while slots[s] >= 0 { s = (s + 1) & mask }
        slots[s] = Int32(e)
    }

    private mutating func grow() {
        slots = Array(repeating: -1, count: slots.count * 2)
        let n = count
        for e in 0 ..< n {
            let h = storage.withUnsafeBytes { st in
                Self.hash(UnsafeRawBufferPointer(rebasing: st[offsets[e] ..< offsets[e + 1]]))
            }
            place(entry: e, hash: h)
        }
    }
}

@inline(__always)
private func memoryEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}

/// An open-addressing map from a pair of token ids to a merge (rank and merged token).
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private var shift: UInt64
    private(set) var count = 0

    init(minimumCapacity: Int) {
        var n = 16, bits: UInt64 = 4
        while n < minimumCapacity * 2 { n <<= 1; bits += 1 }
        keys = Array(repeating: .max, count: n)
        values = Array(repeating: 0, count: n)
        shift = 64 - bits
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Keeps the first rank given for a pair (llama.cpp's `bpe_ranks.emplace`).
    mutating func insert(left: Int32, right: Int32, rank: Int32, merged: Int32) {
        precondition(count * 2 < keys.count, "MergeTable sized too small")
        let k = Self.key(left, right)
        var s = Int((k &* 0x9E37_79B9_7F4A_7C15) >> shift)
        let mask = keys.count - 1
        while keys[s] != .max {
            if keys[s] == k { return }
            s = (s + 1) & mask
        }
        keys[s] = k
        values[s] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
        count += 1
    }

    /// (rank, merged token) of the pair, or nil.
    @inline(__always)
    func find(left: Int32, right: Int32) -> (rank: Int32, merged: Int32)? {
        let k = Self.key(left, right)
        var s = Int((k &* 0x9E37_79B9_7F4A_7C15) >> shift)
        let mask = keys.count - 1
        while true {
            let stored = keys[s]
            if stored == k {
                let v = values[s]
                return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v))
            }
            if stored == .max { return nil }
            s = (s + 1) & mask
        }
    }
}
