// Strict weight loading (after mlx-swift-lm's `verify: [.all]` and candle's `UnexpectedShape`): every
// required tensor present with the exact shape, and no tensor in the file left unexplained.
import LLMFormats
import LLMTensor

struct TensorLoader {
    let source: any ModelSource
    private var used: Set<String> = []

    init(source: any ModelSource) { self.source = source }

    private mutating func info(_ role: TensorRole, shape: [Int]) throws -> TensorInfo {
        let name = role.ggufName
        guard let info = source.tensor(named: name) else { throw ModelError.missingTensor(name) }
        // A trailing dimension of 1 is the same shape (some converters store vectors as [n, 1]).
        var actual = info.shape
        while actual.count > shape.count, actual.last == 1 { actual.removeLast() }
        guard actual == shape else { throw ModelError.unexpectedShape(tensor: name, expected: shape, actual: info.shape) }
        used.insert(name)
        return info
    }

    /// A matrix with `rows` output features of `cols` inputs: ggml shape [cols, rows].
    mutating func matrix(_ role: TensorRole, rows: Int, cols: Int) throws -> WeightMatrix {
        let i = try info(role, shape: [cols, rows])
        return WeightMatrix(name: i.name, type: i.type, rows: rows, cols: cols, data: source.data(for: i))
    }

    /// A vector of `count` values (norm weights, RoPE factors), decoded to f32.
    mutating func vector(_ role: TensorRole, count: Int) throws -> [Float] {
        let i = try info(role, shape: [count])
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { Dequant.reference(i.type, source.data(for: i), $0.baseAddress!, count: count) }
        return out
    }

    /// A vector the family requires when `required`, else nil (and the file must not carry it either:
    /// `checkAllUsed` then names it).
    mutating func vector(_ role: TensorRole, count: Int, if required: Bool) throws -> [Float]? {
        required ? try vector(role, count: count) : nil
    }

    /// Marks tensors the file may carry that this model does not compute with.
    mutating func ignore(_ roles: [TensorRole]) {
        for r in roles where source.tensor(named: r.ggufName) != nil { used.insert(r.ggufName) }
    }

    func checkAllUsed() throws {
        let extra = source.tensors.map(\.name).filter { !used.contains($0) }
        guard extra.isEmpty else { throw ModelError.unexpectedTensors(extra) }
    }
}

/// The sublayers a file itself has: attention where its layer has heads and KV heads, an MLP where
/// its width is non-zero and LLMDrop's metadata does not mark it dropped (written MLP drops keep a
/// zero FFN so llama.cpp can run them; it adds exactly 0, so skipping it changes nothing).
public enum FilePlan {
    public static let droppedMLPKey = "llmdrop.dropped_mlp"

    static func read(source: any ModelSource, config: ModelConfig) throws -> LayerPlan {
        var plan = try LayerPlan(attention: (0..<config.layerCount).map(config.hasAttention),
                                 mlp: (0..<config.layerCount).map(config.hasMLP))
        if let v = source[droppedMLPKey] {
            guard let list = v.ints, list.allSatisfy({ (0..<config.layerCount).contains($0) }) else {
                throw ModelError.invalidMetadata(key: droppedMLPKey, reason: "expected layer indices in 0..<\(config.layerCount), found \(v.summary)")
            }
            for l in list { plan.mlp[l] = false }
        }
        return plan
    }
}
