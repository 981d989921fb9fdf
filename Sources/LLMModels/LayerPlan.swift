// Which sublayers of each transformer layer exist. A dropped attention sublayer contributes nothing
// (the residual passes through) and has no KV cache; a dropped MLP likewise; a block with both dropped
// is skipped.

public struct LayerPlan: Sendable, Equatable, Codable {
    /// attention[l]: layer l computes attention.
    public var attention: [Bool]
    /// mlp[l]: layer l computes its MLP.
    public var mlp: [Bool]

    /// Throws when the two lists describe different numbers of layers.
    public init(attention: [Bool], mlp: [Bool]) throws {
        guard attention.count == mlp.count else {
            throw ModelError.invalidPlan("it lists attention for \(attention.count) layers but MLPs for \(mlp.count)")
        }
        self.init(checked: attention, mlp)
    }

    private init(checked attention: [Bool], _ mlp: [Bool]) {
        self.attention = attention
        self.mlp = mlp
    }

    enum CodingKeys: String, CodingKey { case attention, mlp }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(attention: c.decode([Bool].self, forKey: .attention), mlp: c.decode([Bool].self, forKey: .mlp))
    }

    /// Every sublayer present.
    public static func full(layers: Int) -> LayerPlan {
        LayerPlan(checked: Array(repeating: true, count: max(layers, 0)), Array(repeating: true, count: max(layers, 0)))
    }

    public var layerCount: Int { attention.count }
    public var droppedAttention: [Int] { attention.indices.filter { !attention[$0] && mlp[$0] } }
    public var droppedMLP: [Int] { mlp.indices.filter { !mlp[$0] && attention[$0] } }
    /// Layers with both sublayers gone.
    public var droppedBlocks: [Int] { attention.indices.filter { !attention[$0] && !mlp[$0] } }

    /// This plan with `other`'s removals added (a sublayer exists only if both keep it).
    public func intersected(with other: LayerPlan) -> LayerPlan {
        LayerPlan(checked: zip(attention, other.attention).map { $0 && $1 }, zip(mlp, other.mlp).map { $0 && $1 })
    }

    /// Removes the listed sublayers and blocks (0-based indices); throws on an index out of range.
    public func removing(attention a: [Int] = [], mlp m: [Int] = [], blocks b: [Int] = []) throws -> LayerPlan {
        var p = self
        for (list, what) in [(a, "attention"), (m, "MLP"), (b, "block")] {
            for i in list where !(0..<layerCount).contains(i) {
                throw ModelError.invalidPlan("\(what) layer \(i) is out of range; the model has layers 0...\(layerCount - 1)")
            }
        }
        for i in a + b { p.attention[i] = false }
        for i in m + b { p.mlp[i] = false }
        return p
    }
}
