// Choosing what to drop (He et al. 2024, §4): the K modules with the highest similarity (lowest
// importance), one-shot or iteratively (re-scoring after each removal); Joint Layer Drop ranks
// attention and MLP similarities in one list; the consecutive variant removes the run of K blocks whose
// entry and exit hidden states are most similar.
import LLMModels

public enum SelectionError: Error, Equatable, CustomStringConvertible {
    case invalidCount(count: Int, available: Int, target: DropTarget)
    case scoresDoNotMatch(scoreLayers: Int, modelLayers: Int)

    public var description: String {
        switch self {
        case .invalidCount(let k, let n, let t):
            return "--count \(k) is invalid for target \(t.rawValue): the model has \(n) such modules left; pass a count between 1 and \(max(n - 1, 1))"
        case .scoresDoNotMatch(let s, let m):
            return "the scores describe \(s) layers but the model has \(m); score this model with `llm-drop score`"
        }
    }
}

/// One droppable module: an attention or MLP sublayer, or a whole block, of layer `layer`.
public struct Module: Hashable, Sendable {
    public enum Kind: String, Sendable { case attention, mlp, block }
    public let kind: Kind
    public let layer: Int

    public init(kind: Kind, layer: Int) {
        self.kind = kind
        self.layer = layer
    }
}

public enum Selection {
    /// Modules of `target` that `plan` still has, with their similarity, most similar first (ties: attention
    /// before MLP, then lower layer).
    public static func ranking(_ scores: SimilarityScores, target: DropTarget, plan: LayerPlan) -> [(module: Module, similarity: Double)] {
        var candidates: [(Module, Double)] = []
        // Layers the scores or the plan lack have no candidates (oneShot refuses mismatched scores).
        func at(_ v: [Double?], _ l: Int) -> Double? { l < v.count ? v[l] : nil }
        for l in 0..<min(scores.layerCount, plan.layerCount) {
            let hasBlock = plan.attention[l] || plan.mlp[l]
            switch target {
            case .attention:
                if plan.attention[l], let s = at(scores.attention, l) { candidates.append((Module(kind: .attention, layer: l), s)) }
            case .mlp:
                if plan.mlp[l], let s = at(scores.mlp, l) { candidates.append((Module(kind: .mlp, layer: l), s)) }
            case .block:
                if hasBlock, let s = at(scores.block, l) { candidates.append((Module(kind: .block, layer: l), s)) }
            case .joint:
                if plan.attention[l], let s = at(scores.attention, l) { candidates.append((Module(kind: .attention, layer: l), s)) }
                if plan.mlp[l], let s = at(scores.mlp, l) { candidates.append((Module(kind: .mlp, layer: l), s)) }
            }
        }
        return candidates.sorted { a, b in
            if a.1 != b.1 { return a.1 > b.1 }
            if a.0.kind != b.0.kind { return a.0.kind == .attention }
            return a.0.layer < b.0.layer
        }
    }

    /// How many modules of `target` the plan still has.
    public static func available(_ target: DropTarget, plan: LayerPlan) -> Int {
        let attention = plan.attention.filter { $0 }.count, mlp = plan.mlp.filter { $0 }.count
        switch target {
        case .attention: return attention
        case .mlp: return mlp
        case .block: return (0..<plan.layerCount).filter { plan.attention[$0] || plan.mlp[$0] }.count
        case .joint: return attention + mlp
        }
    }

    /// Checks 1 ≤ K < available: dropping every module of a kind is refused.
    public static func validate(count: Int, target: DropTarget, plan: LayerPlan) throws {
        let n = available(target, plan: plan)
        guard count >= 1, count < n else { throw SelectionError.invalidCount(count: count, available: n, target: target) }
    }

    /// `plan` with `module` removed.
    public static func removing(_ module: Module, from plan: LayerPlan) -> LayerPlan {
        var p = plan
        switch module.kind {
        case .attention: p.attention[module.layer] = false
        case .mlp: p.mlp[module.layer] = false
        case .block:
            p.attention[module.layer] = false
            p.mlp[module.layer] = false
        }
        return p
    }

    /// One-shot: the K most similar modules of `target` under `scores`.
    public static func oneShot(_ scores: SimilarityScores, target: DropTarget, count: Int, plan: LayerPlan) throws -> LayerPlan {
        try validate(count: count, target: target, plan: plan)
        guard [scores.mlp.count, scores.block.count, plan.layerCount].allSatisfy({ $0 == scores.layerCount }) else {
            throw SelectionError.scoresDoNotMatch(scoreLayers: scores.layerCount, modelLayers: plan.layerCount)
        }
        return ranking(scores, target: target, plan: plan).prefix(count).reduce(plan) { removing($1.module, from: $0) }
    }

    /// Iterative: remove the most similar module, re-score the model without it, repeat K times.
    /// `score` scores a model carrying the given plan.
    public static func iterative(target: DropTarget, count: Int, plan: LayerPlan,
                                 score: (LayerPlan) throws -> SimilarityScores,
                                 onStep: ((Int, Module, Double) -> Void)? = nil) throws -> LayerPlan {
        try validate(count: count, target: target, plan: plan)
        var current = plan
        for step in 1...count {
            guard let best = ranking(try score(current), target: target, plan: current).first else { break }
            current = removing(best.module, from: current)
            onStep?(step, best.module, best.similarity)
        }
        return current
    }

    /// Consecutive: the start i of the K-block run with the highest cos(hᵢ, hᵢ₊ₖ), from
    /// `RedundancyScorer.consecutiveSimilarity(span: K)`, among runs whose blocks the plan still has.
    /// Ties: the earliest run.
    public static func consecutive(spanSimilarity: [Double], count: Int, plan: LayerPlan) throws -> LayerPlan {
        try validate(count: count, target: .block, plan: plan)
        let present = { (l: Int) in plan.attention[l] || plan.mlp[l] }
        let starts = spanSimilarity.indices.filter { i in (i..<i + count).allSatisfy { $0 < plan.layerCount && present($0) } }
        guard let start = starts.max(by: { spanSimilarity[$0] < spanSimilarity[$1] || (spanSimilarity[$0] == spanSimilarity[$1] && $0 > $1) }) else {
            throw SelectionError.invalidCount(count: count, available: plan.layerCount, target: .block)
        }
        return try plan.removing(blocks: Array(start..<start + count))
    }
}
