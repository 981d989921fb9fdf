// A dense row-major f32 matrix: the unit of activations and logits passed between targets.

/// A size or count given by a caller that cannot describe a tensor (or a thread pool).
public struct ShapeError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var storage: [Float]

    public init(rows: Int, cols: Int, storage: [Float]) throws(ShapeError) {
        guard rows >= 0, cols >= 0, storage.count == rows * cols else {
            throw ShapeError("a \(rows) × \(cols) matrix needs \(max(rows, 0) * max(cols, 0)) values, not \(storage.count)")
        }
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// A zero matrix; negative sizes count as 0.
    public init(rows: Int, cols: Int) {
        self.rows = max(rows, 0)
        self.cols = max(cols, 0)
        storage = Array(repeating: 0, count: self.rows * self.cols)
    }

    public func row(_ r: Int) -> ArraySlice<Float> { storage[r * cols..<(r + 1) * cols] }
}
