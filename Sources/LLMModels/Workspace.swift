// Per-call scratch of the decoder and its RoPE tables: buffers are allocated once per forward call
// (none inside the token loop).
import Foundation
import LLMTensor

/// Scratch buffers of one forward call.
final class Workspace {
    /// Queries per attention tile.
    static let queryTile = 128
    let rows: Int
    /// Floats of attention scratch each thread owns (one query tile × one key block, TiledAttention).
    let scoresPerThread: Int
    let x, xn, proj, q, k, v, attn, gate, up, scores: UnsafeMutablePointer<Float>
    /// Keys/values of a sliding layer's window gathered from its ring cache, then this call's rows.
    let ringK, ringV: UnsafeMutablePointer<Float>
    /// cos/sin of every row's RoPE angles, one [R, d/2] table per distinct (base, factor) of the model.
    let cos, sin: [UnsafeMutablePointer<Float>]
    let weights: UnsafeMutablePointer<Float>?
    private var all: [UnsafeMutablePointer<Float>] = []

    init(model: LanguageModel, rows R: Int, segments: [LanguageModel.Segment]) {
        let c = model.config
        rows = R
        let maxQ = (c.heads.max() ?? 0) * c.headDim, maxKV = (c.kvHeads.max() ?? 0) * c.headDim
        let maxF = c.ffnLength.max() ?? 0
        let maxT = segments.map(\.count).max() ?? 0
        let maxRing = segments.compactMap { s in s.cache.map { cache in (0..<c.layerCount).filter(cache.isRing).map { cache.rows[$0] }.max() ?? 0 } }.max() ?? 0
        var all: [UnsafeMutablePointer<Float>] = []
        func buf(_ n: Int, zeroed: Bool = true) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            if zeroed { p.initialize(repeating: 0, count: max(n, 1)) }
            all.append(p)
            return p
        }
        let D = c.hiddenSize
        x = buf(R * D); xn = buf(R * D); proj = buf(R * D)
        q = buf(R * maxQ); k = buf(R * maxKV); v = buf(R * maxKV); attn = buf(R * maxQ)
        gate = buf(R * maxF); up = buf(R * maxF)
        scoresPerThread = TiledAttention.scratchFloats(queries: min(maxT, Self.queryTile))
        scores = buf(model.pool.threads * scoresPerThread)
        let ringRows = maxRing > 0 ? maxRing - 1 + maxT : 0
        ringK = buf(ringRows * maxKV, zeroed: false); ringV = buf(ringRows * maxKV, zeroed: false)
        let half = c.rope.dimensions / 2
        cos = model.rope.variants.map { _ in buf(R * half) }
        sin = model.rope.variants.map { _ in buf(R * half) }
        weights = model.scratchFloats > 0 ? buf(model.scratchFloats, zeroed: false) : nil
        self.all = all
    }

    func deallocate() { all.forEach { $0.deallocate() } }
}

/// RoPE of a model: the distinct (base, linear factor) pairs its layers use, each with its inverse
/// frequencies θᵢ = base^(−2i/d) / factorᵢ (i < d/2), and which pair each layer reads.
struct RopeTables: Sendable {
    struct Variant: Sendable, Equatable {
        let base: Double
        let linearFactor: Double
    }
    let style: RopeStyle
    let headDim: Int
    let variants: [Variant]
    let inverseFrequencies: [[Double]]
    /// variants[variantOfLayer[l]] is layer l's.
    let variantOfLayer: [Int]

    init(config: ModelConfig, factors: [Double]) {
        style = config.rope.style
        headDim = config.headDim
        var variants: [Variant] = []
        var of: [Int] = []
        for l in 0..<config.layerCount {
            let v = Variant(base: config.rope.base[l], linearFactor: config.rope.linearFactor[l])
            if let i = variants.firstIndex(of: v) { of.append(i) } else { of.append(variants.count); variants.append(v) }
        }
        self.variants = variants
        variantOfLayer = of
        let d = config.rope.dimensions
        inverseFrequencies = variants.map { v in
            (0..<d / 2).map { i in 1 / Foundation.pow(v.base, Double(2 * i) / Double(d)) / factors[i] }
        }
    }

    /// Fills every variant's cos/sin tables for the call's rows.
    func fill(_ ws: Workspace, _ segments: [LanguageModel.Segment]) {
        for (vi, variant) in variants.enumerated() {
            let inv = inverseFrequencies[vi], half = inv.count
            let cos = ws.cos[vi], sin = ws.sin[vi]
            for s in segments {
                for t in 0..<s.count {
                    let pos = Double(s.position + t) / variant.linearFactor
                    let r = s.row + t
                    for i in 0..<half {
                        let angle = pos * inv[i]
                        cos[r * half + i] = Float(Foundation.cos(angle))
                        sin[r * half + i] = Float(Foundation.sin(angle))
                    }
                }
            }
        }
    }

    /// Rotates q: [R, H·Dh] and k: [R, G·Dh] with layer l's tables, in the model's pairing.
    func apply(layer l: Int, _ ws: Workspace, q: UnsafeMutablePointer<Float>, heads: Int, k: UnsafeMutablePointer<Float>, kvHeads: Int) {
        let vi = variantOfLayer[l], half = inverseFrequencies[vi].count
        let cos = ws.cos[vi], sin = ws.sin[vi]
        switch style {
        case .adjacent:
            Kernels.rope(q, rows: ws.rows, heads: heads, headDim: headDim, cos: cos, sin: sin, halfDims: half)
            Kernels.rope(k, rows: ws.rows, heads: kvHeads, headDim: headDim, cos: cos, sin: sin, halfDims: half)
        case .neox:
            Kernels.ropeNeox(q, rows: ws.rows, heads: heads, headDim: headDim, cos: cos, sin: sin, halfDims: half)
            Kernels.ropeNeox(k, rows: ws.rows, heads: kvHeads, headDim: headDim, cos: cos, sin: sin, halfDims: half)
        }
    }
}
