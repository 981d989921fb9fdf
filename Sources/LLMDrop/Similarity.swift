// Redundancy scores of the paper (He et al. 2024, §3): for layer i of a pre-norm transformer,
//   attention  cos(X, X + Attn(Norm₁(X)))        X: residual entering the layer
//   MLP        cos(X', X' + MLP(Norm₂(X')))      X': residual after attention
//   block      cos(layer input, layer output)
// per token over the hidden dimension, averaged over every calibration token (running Float64 sums;
// no hidden state is kept beyond the current call). The no-residual variant (the authors'
// `drop_norm=False`) is cos(Norm(X), F(Norm(X))). Importance = 1 − similarity.
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

/// A forward observer that accumulates every similarity at once (the hook points do all the work).
public final class SimilarityAccumulator: ForwardObserver {
    public let points: Set<HookPoint> = [.blockIn, .attnIn, .attnOut, .attnResidual, .mlpIn, .mlpOut, .blockOut]
    let layers: Int
    let plan: LayerPlan
    // Running sums of per-token cosines.
    var attn, mlp, block, attnNoRes, mlpNoRes: [Double]
    private(set) var tokens = 0
    // Copies of the activations a later hook compares against (valid within one forward call).
    private var blockIn: [Float] = [], residual: [Float] = [], normed: [Float] = []

    public init(plan: LayerPlan) {
        self.plan = plan
        layers = plan.layerCount
        attn = Array(repeating: 0, count: layers)
        mlp = attn; block = attn; attnNoRes = attn; mlpNoRes = attn
    }

    public func observe(_ point: HookPoint, layer l: Int, values: UnsafePointer<Float>, rows: Int, width: Int) {
        switch point {
        case .blockIn:
            copy(values, rows * width, into: &blockIn)
            if l == 0 { tokens += rows }
        case .attnIn, .mlpIn:
            copy(values, rows * width, into: &normed)
        case .attnOut:
            attnNoRes[l] += sumOfCosines(normed, values, rows: rows, width: width)
        case .mlpOut:
            mlpNoRes[l] += sumOfCosines(normed, values, rows: rows, width: width)
        case .attnResidual:
            attn[l] += sumOfCosines(blockIn, values, rows: rows, width: width)
            copy(values, rows * width, into: &residual)
        case .blockOut:
            mlp[l] += sumOfCosines(residual, values, rows: rows, width: width)
            block[l] += sumOfCosines(blockIn, values, rows: rows, width: width)
        }
    }

    private func copy(_ src: UnsafePointer<Float>, _ n: Int, into dst: inout [Float]) {
        if dst.count != n { dst = Array(repeating: 0, count: n) }
        dst.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: src, count: n) }
    }

    private func sumOfCosines(_ a: [Float], _ b: UnsafePointer<Float>, rows: Int, width: Int) -> Double {
        a.withUnsafeBufferPointer { a in
            (0..<rows).reduce(0.0) { $0 + Kernels.cosine(a.baseAddress! + $1 * width, b + $1 * width, width) }
        }
    }

    /// The means so far; sublayers the plan lacks have no score.
    public var scores: SimilarityScores {
        let n = Double(max(tokens, 1))
        func mean(_ sums: [Double], _ present: (Int) -> Bool) -> [Double?] {
            (0..<layers).map { present($0) ? sums[$0] / n : nil }
        }
        return SimilarityScores(
            attention: mean(attn) { self.plan.attention[$0] },
            mlp: mean(mlp) { self.plan.mlp[$0] },
            block: mean(block) { self.plan.attention[$0] || self.plan.mlp[$0] },
            attentionNoResidual: mean(attnNoRes) { self.plan.attention[$0] },
            mlpNoResidual: mean(mlpNoRes) { self.plan.mlp[$0] },
            tokens: tokens)
    }
}
