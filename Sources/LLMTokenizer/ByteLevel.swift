// GPT-2's reversible byte ↔ Unicode mapping (`bytes_to_unicode` in openai/gpt-2 `encoder.py`):
// printable Latin-1 bytes stand for themselves, the other 68 bytes (controls, space, 0x7F–0xA0, 0xAD)
// become U+0100, U+0101, … in byte order. Byte-level BPE vocabularies are written in this alphabet.

enum ByteLevel {
    /// The code point standing for each byte.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0 ..< 256 {
            let printable = (0x21 ... 0x7E).contains(b) || (0xA1 ... 0xAC).contains(b) || (0xAE ... 0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each code point stands for (-1: none), indexed by code point below 324.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for b in 0 ..< 256 { table[Int(byteToScalar[b])] = Int16(b) }
        return table
    }()

    /// UTF-8 of the code point standing for each byte (1 or 2 bytes).
    static let encodedUTF8: [[UInt8]] = byteToScalar.map { Array(String(Unicode.Scalar($0)!).utf8) }

    /// The raw bytes a byte-level token string stands for. A code point outside the alphabet
    /// (never in a well-formed vocabulary) is kept as its own UTF-8.
    static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            let v = Int(s.value)
            if v < scalarToByte.count, scalarToByte[v] >= 0 {
                out.append(UInt8(scalarToByte[v]))
            } else {
                out.append(contentsOf: String(s).utf8)
            }
        }
        return out
    }
}
