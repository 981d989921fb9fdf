// Keys and values of past positions for incremental decoding, f32, one buffer per layer that keeps
// attention: a dropped attention layer allocates nothing, and a sliding-window layer keeps only its
// window (a ring: position p lives in row p mod window). A cache belongs to the model (weights and
// plan) that made it; any other model refuses it.

public final class KVCache {
    public let capacity: Int
    /// Tokens already stored.
    public internal(set) var count = 0
    let keys: [UnsafeMutablePointer<Float>?]
    let values: [UnsafeMutablePointer<Float>?]
    /// Floats per row (KV heads × head dim) of each layer; 0 where the layer has no attention.
    let widths: [Int]
    /// Rows each layer stores: `capacity`, or the window on a sliding layer whose window is shorter.
    let rows: [Int]
    /// Identifies the weights and the plan of the model that made this cache.
    let owner: ObjectIdentifier
    let plan: LayerPlan

    init(config: ModelConfig, plan: LayerPlan, capacity: Int, owner: ObjectIdentifier) {
        self.capacity = capacity
        self.owner = owner
        self.plan = plan
        let widths = (0..<config.layerCount).map { plan.attention[$0] ? config.kvHeads[$0] * config.headDim : 0 }
        let rows = (0..<config.layerCount).map { config.isSliding($0) ? min(capacity, config.slidingWindow[$0]) : capacity }
        keys = widths.indices.map { widths[$0] > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: widths[$0] * rows[$0]) : nil }
        values = widths.indices.map { widths[$0] > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: widths[$0] * rows[$0]) : nil }
        self.widths = widths
        self.rows = rows
    }

    deinit {
        keys.forEach { $0?.deallocate() }
        values.forEach { $0?.deallocate() }
    }

    /// True when layer l keeps a ring of its window rather than every position.
    func isRing(_ l: Int) -> Bool { rows[l] < capacity }

    /// Bytes allocated for keys and values.
    public var allocatedBytes: Int { 2 * zip(widths, rows).reduce(0) { $0 + $1.0 * $1.1 } * MemoryLayout<Float>.size }
    /// Bytes in use for the stored tokens.
    public var usedBytes: Int { 2 * zip(widths, rows).reduce(0) { $0 + $1.0 * min($1.1, count) } * MemoryLayout<Float>.size }
}
