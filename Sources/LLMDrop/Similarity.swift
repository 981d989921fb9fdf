// Redundancy scores of the paper (He et al. 2024, §3): for layer i of a pre-norm transformer,
//   attention  cos(X, X + Attn(Norm₁(X)))        X: residual entering the layer
//   MLP        cos(X', X' + MLP(Norm₂(X')))      X': residual after attention
//   block      cos(layer input, layer output)
// per token over the hidden dimension, averaged over every calibration token (running Float64 sums;
// no hidden state is kept beyond the current call). The no-residual variant (the authors'
// `drop_norm=False`) is cos(Norm(X), F(Norm(X))). Importance = 1 − similarity.
// The same pass also sums two other per-token functions of these activations (Metrics.swift): the
// angular distance arccos(cos)/π of each pair, and the relative norm ‖branch output‖ / ‖residual it
// joins‖ (block: ‖out − in‖ / ‖in‖).
import Foundation
import LLMModels
import LLMTensor

/// Per-layer mean similarities. A sublayer that the scored model did not compute has no score (nil).
public struct SimilarityScores: Sendable, Equatable, Codable {
    public var attention: [Double?]
    public var mlp: [Double?]
    public var block: [Double?]
    public var attentionNoResidual: [Double?]
    public var mlpNoResidual: [Double?]
    /// Calibration tokens averaged over.
    public var tokens: Int

    public init(attention: [Double?], mlp: [Double?], block: [Double?], attentionNoResidual: [Double?],
                mlpNoResidual: [Double?], tokens: Int) {
        self.attention = attention
        self.mlp = mlp
        self.block = block
        self.attentionNoResidual = attentionNoResidual
        self.mlpNoResidual = mlpNoResidual
        self.tokens = tokens
    }

    public var layerCount: Int { attention.count }

    /// These scores with attention/MLP in the chosen convention: residual (the default) or, when
    /// `residual` is false, the no-residual cos(Norm(X), F(Norm(X))) that selection then ranks by.
    public func convention(residual: Bool) -> SimilarityScores {
        guard !residual else { return self }
        return SimilarityScores(attention: attentionNoResidual, mlp: mlpNoResidual, block: block,
                                attentionNoResidual: attentionNoResidual, mlpNoResidual: mlpNoResidual, tokens: tokens)
    }
}

/// A forward observer that accumulates every similarity at once (the hook points do all the work),
/// with the angular distances and relative norms of the same activations.
public final class SimilarityAccumulator: ForwardObserver {
    public let points: Set<HookPoint> = [.blockIn, .attnIn, .attnOut, .attnResidual, .mlpIn, .mlpOut, .blockOut]
    let layers: Int
    let plan: LayerPlan
    // Running sums of per-token cosines.
    var attn, mlp, block, attnNoRes, mlpNoRes: [Double]
    // Running sums of per-token angular distances arccos(cos)/π of the same pairs.
    var attnAngle, mlpAngle, blockAngle, attnNoResAngle, mlpNoResAngle: [Double]
    // Running sums of per-token ‖branch output‖ / ‖residual entering the sublayer‖, and ‖out − in‖ / ‖in‖.
    var attnNorm, mlpNorm, blockNorm: [Double]
    private(set) var tokens = 0
    // Copies of the activations a later hook compares against (valid within one forward call).
    private var blockIn: [Float] = [], residual: [Float] = [], normed: [Float] = []
    /// Per-row norms of the last branch output, and the hook and layer that produced them.
    private var branchNorms: [Double] = []
    private var branchOf: (HookPoint, Int)?

    public init(plan: LayerPlan) {
        self.plan = plan
        layers = plan.layerCount
        attn = Array(repeating: 0, count: layers)
        mlp = attn; block = attn; attnNoRes = attn; mlpNoRes = attn
        attnAngle = attn; mlpAngle = attn; blockAngle = attn; attnNoResAngle = attn; mlpNoResAngle = attn
        attnNorm = attn; mlpNorm = attn; blockNorm = attn
    }

    /// For a pass that starts at layer `start`: the sums of layers 0..<start and the token count taken from
    /// `previous`, a pass over the same rows whose first `start` layers computed the same (nothing is
    /// copied when `start` is 0 or there is no previous pass).
    convenience init(plan: LayerPlan, copyingLayersBelow start: Int, of previous: SimilarityAccumulator?) {
        self.init(plan: plan)
        guard start > 0, let p = previous else { return }
        tokens = p.tokens
        for l in 0..<start {
            (attn[l], mlp[l], block[l], attnNoRes[l], mlpNoRes[l]) = (p.attn[l], p.mlp[l], p.block[l], p.attnNoRes[l], p.mlpNoRes[l])
            (attnAngle[l], mlpAngle[l], blockAngle[l]) = (p.attnAngle[l], p.mlpAngle[l], p.blockAngle[l])
            (attnNoResAngle[l], mlpNoResAngle[l]) = (p.attnNoResAngle[l], p.mlpNoResAngle[l])
            (attnNorm[l], mlpNorm[l], blockNorm[l]) = (p.attnNorm[l], p.mlpNorm[l], p.blockNorm[l])
        }
    }

    public func observe(_ point: HookPoint, layer l: Int, values: UnsafePointer<Float>, rows: Int, width: Int) {
        switch point {
        case .blockIn:
            copy(values, rows * width, into: &blockIn)
            if l == 0 { tokens += rows }
        case .attnIn, .mlpIn:
            copy(values, rows * width, into: &normed)
        case .attnOut:
            add(pairs(normed, values, rows: rows, width: width), to: &attnNoRes, &attnNoResAngle, l)
            branch(point, l, values, rows: rows, width: width)
        case .mlpOut:
            add(pairs(normed, values, rows: rows, width: width), to: &mlpNoRes, &mlpNoResAngle, l)
            branch(point, l, values, rows: rows, width: width)
        case .attnResidual:
            add(pairs(blockIn, values, rows: rows, width: width), to: &attn, &attnAngle, l)
            if let (p, bl) = branchOf, p == .attnOut, bl == l { attnNorm[l] += ratios(branchNorms, over: blockIn, rows: rows, width: width) }
            copy(values, rows * width, into: &residual)
        case .blockOut:
            add(pairs(residual, values, rows: rows, width: width), to: &mlp, &mlpAngle, l)
            add(pairs(blockIn, values, rows: rows, width: width), to: &block, &blockAngle, l)
            if let (p, bl) = branchOf, p == .mlpOut, bl == l { mlpNorm[l] += ratios(branchNorms, over: residual, rows: rows, width: width) }
            blockNorm[l] += changeRatios(blockIn, values, rows: rows, width: width)
            branchOf = nil
        }
    }

    private func copy(_ src: UnsafePointer<Float>, _ n: Int, into dst: inout [Float]) {
        if dst.count != n { dst = Array(repeating: 0, count: n) }
        dst.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: src, count: n) }
    }

    private func add(_ sums: (cosine: Double, angle: Double), to cosines: inout [Double], _ angles: inout [Double], _ l: Int) {
        cosines[l] += sums.cosine
        angles[l] += sums.angle
    }

    /// Sums over rows of cos(aᵣ, bᵣ) and of arccos(cos(aᵣ, bᵣ))/π.
    private func pairs(_ a: [Float], _ b: UnsafePointer<Float>, rows: Int, width: Int) -> (cosine: Double, angle: Double) {
        a.withUnsafeBufferPointer { a in
            var c = 0.0, angle = 0.0
            for r in 0..<rows {
                let cos = Kernels.cosine(a.baseAddress! + r * width, b + r * width, width)
                c += cos
                angle += ImportanceMetric.angularDistance(cosine: cos)
            }
            return (c, angle)
        }
    }

    private func branch(_ point: HookPoint, _ l: Int, _ values: UnsafePointer<Float>, rows: Int, width: Int) {
        branchNorms = (0..<rows).map { Self.norm(values + $0 * width, width) }
        branchOf = (point, l)
    }

    /// Σᵣ numeratorᵣ / ‖denominatorᵣ‖.
    private func ratios(_ numerators: [Double], over d: [Float], rows: Int, width: Int) -> Double {
        d.withUnsafeBufferPointer { d in
            (0..<rows).reduce(0.0) { $0 + ImportanceMetric.relativeNorm(numerators[$1], Self.norm(d.baseAddress! + $1 * width, width)) }
        }
    }

    /// Σᵣ ‖bᵣ − aᵣ‖ / ‖aᵣ‖.
    private func changeRatios(_ a: [Float], _ b: UnsafePointer<Float>, rows: Int, width: Int) -> Double {
        a.withUnsafeBufferPointer { a in
            (0..<rows).reduce(0.0) { acc, r in
                let x = a.baseAddress! + r * width, y = b + r * width
                var d = 0.0
                for i in 0..<width { let t = Double(y[i]) - Double(x[i]); d += t * t }
                return acc + ImportanceMetric.relativeNorm(d.squareRoot(), Self.norm(x, width))
            }
        }
    }

    static func norm(_ v: UnsafePointer<Float>, _ n: Int) -> Double {
        var s = 0.0
        for i in 0..<n { s += Double(v[i]) * Double(v[i]) }
        return s.squareRoot()
    }

    /// The means so far; sublayers the plan lacks have no score.
    public var scores: SimilarityScores {
        SimilarityScores(
            attention: mean(attn, attentionPresent),
            mlp: mean(mlp, mlpPresent),
            block: mean(block, blockPresent),
            attentionNoResidual: mean(attnNoRes, attentionPresent),
            mlpNoResidual: mean(mlpNoRes, mlpPresent),
            tokens: tokens)
    }

    /// The means of an activation metric (cosine, angular or relative-norm); attention and MLP in the
    /// residual convention, or cos(Norm X, F(Norm X)) (and its angle) when `residual` is false.
    /// Nil for `kl`, which needs forward passes of its own (`OutputDivergenceScorer`).
    public func moduleScores(_ metric: ImportanceMetric, residual: Bool = true) -> ModuleScores? {
        let sums: (attention: [Double], mlp: [Double], block: [Double])
        switch metric {
        case .cosine: sums = residual ? (attn, mlp, block) : (attnNoRes, mlpNoRes, block)
        case .angular: sums = residual ? (attnAngle, mlpAngle, blockAngle) : (attnNoResAngle, mlpNoResAngle, blockAngle)
        case .relativeNorm: sums = (attnNorm, mlpNorm, blockNorm)
        case .kl: return nil
        }
        return ModuleScores(metric: metric, attention: mean(sums.attention, attentionPresent), mlp: mean(sums.mlp, mlpPresent),
                            block: mean(sums.block, blockPresent), tokens: tokens)
    }

    private func attentionPresent(_ l: Int) -> Bool { plan.attention[l] }
    private func mlpPresent(_ l: Int) -> Bool { plan.mlp[l] }
    private func blockPresent(_ l: Int) -> Bool { plan.attention[l] || plan.mlp[l] }

    private func mean(_ sums: [Double], _ present: (Int) -> Bool) -> [Double?] {
        let n = Double(max(tokens, 1))
        return (0..<layers).map { present($0) ? sums[$0] / n : nil }
    }
}
