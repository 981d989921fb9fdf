// A dense row-major f32 matrix: the unit of activations and logits passed between targets.

public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var storage: [Float]

    public init(rows: Int, cols: Int, storage: [Float]) {
        precondition(storage.count == rows * cols)
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    public init(rows: Int, cols: Int) {
        self.init(rows: rows, cols: cols, storage: Array(repeating: 0, count: rows * cols))
    }

    public func row(_ r: Int) -> ArraySlice<Float> { storage[r * cols..<(r + 1) * cols] }
}
