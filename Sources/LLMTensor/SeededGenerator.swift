// SplitMix64 (Steele, Lea, Flood 2014): the one seedable generator of the package. Its sequence is
// fixed by the seed on every platform, unlike the standard library's generator and `random(in:)`.

public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (n > 0), by Lemire's multiply-and-reject.
    public mutating func next(below n: UInt64) -> UInt64 {
        precondition(n > 0)
        let threshold = (0 &- n) % n
        while true {
            let m = next().multipliedFullWidth(by: n)
            if m.low >= threshold { return m.high }
        }
    }
}
