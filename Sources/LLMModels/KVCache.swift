// Keys and values of past positions for incremental decoding, f32, one buffer per layer that keeps
// attention: a dropped attention layer allocates nothing.

public final class KVCache {
    public let capacity: Int
    /// Tokens already stored.
    public internal(set) var count = 0
    let keys: [UnsafeMutablePointer<Float>?]
    let values: [UnsafeMutablePointer<Float>?]
    let widths: [Int]

    init(config: LlamaConfig, plan: LayerPlan, capacity: Int) {
        self.capacity = capacity
        widths = (0..<config.layerCount).map { plan.attention[$0] ? config.kvHeads[$0] * config.headDim : 0 }
        keys = widths.map { $0 > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: $0 * capacity) : nil }
        values = widths.map { $0 > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: $0 * capacity) : nil }
    }

    deinit {
        keys.forEach { $0?.deallocate() }
        values.forEach { $0?.deallocate() }
    }

    /// Bytes allocated for keys and values.
    public var allocatedBytes: Int { 2 * widths.reduce(0, +) * capacity * MemoryLayout<Float>.size }
    /// Bytes in use for the stored tokens.
    public var usedBytes: Int { 2 * widths.reduce(0, +) * count * MemoryLayout<Float>.size }
}
