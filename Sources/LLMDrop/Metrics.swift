// Importance metrics: which module changes the model least, by four criteria from the literature.
//   cosine         mean cos(X, X + F(Norm X)) per token — the paper's similarity (He et al. 2024, §3);
//                  high = redundant.
//   angular        mean arccos(cos)/π of the same pairs — the angular distance Gromov et al. ("The
//                  Unreasonable Ineffectiveness of the Deeper Layers", 2024) rank layers by; low = redundant.
//   relative-norm  mean ‖F(Norm X)‖ / ‖X‖ — how much a branch adds relative to the residual it joins
//                  (block: ‖out − in‖ / ‖in‖); low = redundant.
//   kl             mean KL(p_model ‖ p_model without the module) of the next-token distributions on the
//                  calibration text — the output-based criterion of BlockPruner (Zhong et al. 2024) and
//                  FinerCut (Zhang et al. 2024); one forward pass per module; low = redundant.
// The first three are per-token functions of the activations at the hook points and come from one
// scoring pass (SimilarityAccumulator); kl runs the model once per module (OutputDivergenceScorer).
import Foundation
import LLMModels
import LLMTensor

public enum ImportanceMetric: String, Sendable, Codable, CaseIterable {
    case cosine, angular
    case relativeNorm = "relative-norm"
    case kl

    /// True when a high value marks a module to drop first (cosine); the others drop their lowest first.
    public var highMeansRedundant: Bool { self == .cosine }

    /// What the value is, for axis labels and tables.
    public var quantity: String {
        switch self {
        case .cosine: return "cosine similarity cos(X, X + F)"
        case .angular: return "angular distance arccos(cos)/π"
        case .relativeNorm: return "relative norm ‖F‖ / ‖X‖"
        case .kl: return "KL divergence without the module (nats)"
        }
    }

    /// One sentence for the report.
    public var summary: String {
        switch self {
        case .cosine: return "mean cosine between the residual stream before and after the module (He et al. 2024); the most similar is dropped first"
        case .angular: return "mean angular distance arccos(cos)/π of the same pairs, as Gromov et al. (2024) rank layers; the smallest is dropped first"
        case .relativeNorm: return "mean ‖module output‖ / ‖residual it is added to‖; the smallest is dropped first"
        case .kl: return "mean KL divergence of the next-token distribution when only that module is removed, on the calibration text (BlockPruner / FinerCut-style); the smallest is dropped first"
        }
    }

    /// arccos(cos)/π in [0, 1], with the cosine clamped to [−1, 1].
    public static func angularDistance(cosine: Double) -> Double {
        Foundation.acos(min(max(cosine, -1), 1)) / Double.pi
    }

    /// ‖branch‖ / ‖residual‖; 0 when both are zero, and a zero residual counts as ratio 0 (no defined direction).
    public static func relativeNorm(_ branch: Double, _ residual: Double) -> Double {
        residual > 0 ? branch / residual : 0
    }

    /// Parses "cosine,angular" or "all".
    public static func list(_ text: String) throws -> [ImportanceMetric] {
        if text == "all" { return allCases }
        var out: [ImportanceMetric] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let m = ImportanceMetric(rawValue: part) else { throw MetricError.unknownMetric(part) }
            if !out.contains(m) { out.append(m) }
        }
        guard !out.isEmpty else { throw MetricError.unknownMetric(text) }
        return out
    }
}

public enum MetricError: Error, Equatable, CustomStringConvertible {
    case unknownMetric(String)

    public var description: String {
        switch self {
        case .unknownMetric(let m):
            return "unknown metric '\(m)'; choose from \(ImportanceMetric.allCases.map(\.rawValue).joined(separator: ", ")) (comma-separated, or all)"
        }
    }
}

/// Per-layer values of one metric; a module the scored model lacks has none (nil).
public struct ModuleScores: Sendable, Codable, Equatable {
    public var metric: ImportanceMetric
    public var attention: [Double?]
    public var mlp: [Double?]
    public var block: [Double?]
    /// Calibration tokens (cosine, angular, relative-norm) or predicted positions (kl) averaged over.
    public var tokens: Int

    public init(metric: ImportanceMetric, attention: [Double?], mlp: [Double?], block: [Double?], tokens: Int) {
        self.metric = metric
        self.attention = attention
        self.mlp = mlp
        self.block = block
        self.tokens = tokens
    }

    /// Cosine scores from the similarity scores (`score`/`drop` files), in their convention.
    public init(_ s: SimilarityScores) {
        self.init(metric: .cosine, attention: s.attention, mlp: s.mlp, block: s.block, tokens: s.tokens)
    }

    public var layerCount: Int { attention.count }

    /// The values as `Selection` ranks them (highest first): the value itself for cosine, its negation
    /// for metrics whose lowest value marks the module to drop.
    public var selectionScores: SimilarityScores {
        let sign = metric.highMeansRedundant ? 1.0 : -1.0
        func f(_ v: [Double?]) -> [Double?] { v.map { $0.map { sign * $0 } } }
        return SimilarityScores(attention: f(attention), mlp: f(mlp), block: f(block), attentionNoResidual: f(attention),
                                mlpNoResidual: f(mlp), tokens: tokens)
    }

    /// Modules of `target` the plan still has, the one to drop first first, with their metric values.
    public func ranking(target: DropTarget, plan: LayerPlan) -> [(module: Module, value: Double)] {
        let sign = metric.highMeansRedundant ? 1.0 : -1.0
        return Selection.ranking(selectionScores, target: target, plan: plan).map { ($0.module, sign * $0.similarity) }
    }

    /// The value of one module, if scored.
    public func value(_ m: Module) -> Double? {
        switch m.kind {
        case .attention: return attention[m.layer]
        case .mlp: return mlp[m.layer]
        case .block: return block[m.layer]
        }
    }
}

extension Module.Kind {
    /// The module kinds a target ranks.
    public static func ranked(by target: DropTarget) -> Set<Module.Kind> {
        switch target {
        case .attention: return [.attention]
        case .mlp: return [.mlp]
        case .block: return [.block]
        case .joint: return [.attention, .mlp]
        }
    }
}

/// The kl metric: for every module of the requested kinds, the mean KL divergence between the model's
/// next-token distribution and the distribution of the same model without that one module, over every
/// calibration position that predicts a next token. The model's own distributions are computed once
/// per batch and kept (as probabilities and Σ p·log p) while each module's variant runs; a batch holds
/// at most `referenceBudget` bytes of them.
public struct OutputDivergenceScorer {
    public let model: LanguageModel
    /// Rows (tokens) per batched forward call.
    public let rowsPerBatch: Int
    /// Bytes of reference probabilities kept per batch (rows × vocabulary × 4).
    public let referenceBudget: Int

    public init(model: LanguageModel, rowsPerBatch: Int = 1024, referenceBudget: Int = 256 << 20) {
        self.model = model
        self.rowsPerBatch = max(1, rowsPerBatch)
        self.referenceBudget = max(1, referenceBudget)
    }

    /// The modules of `kinds` that `model.plan` has, and the plan without each.
    public func candidates(kinds: Set<Module.Kind>) -> [(module: Module, plan: LayerPlan)] {
        let plan = model.plan
        var out: [(Module, LayerPlan)] = []
        for l in 0..<plan.layerCount {
            if kinds.contains(.attention) && plan.attention[l] { out.append((Module(kind: .attention, layer: l), Selection.removing(Module(kind: .attention, layer: l), from: plan))) }
            if kinds.contains(.mlp) && plan.mlp[l] { out.append((Module(kind: .mlp, layer: l), Selection.removing(Module(kind: .mlp, layer: l), from: plan))) }
            if kinds.contains(.block) && (plan.attention[l] || plan.mlp[l]) {
                out.append((Module(kind: .block, layer: l), Selection.removing(Module(kind: .block, layer: l), from: plan)))
            }
        }
        return out
    }

    /// Scores every module of `kinds` (others stay nil). `progress` gets (forward passes done, total).
    public func score(_ calibration: CalibrationSet, kinds: Set<Module.Kind>, progress: ((Int, Int) -> Void)? = nil) throws -> ModuleScores {
        let modules = candidates(kinds: kinds)
        // Removing a block whose other sublayer is already gone removes the same thing as removing the
        // sublayer: one forward per distinct plan.
        var distinct: [LayerPlan] = []
        let variantOf: [Int] = modules.map { m in
            if let i = distinct.firstIndex(of: m.plan) { return i }
            distinct.append(m.plan)
            return distinct.count - 1
        }
        let V = model.vocabularySize
        let maxRows = max(1, min(rowsPerBatch, referenceBudget / (V * MemoryLayout<Float>.size)))
        let samples = calibration.samples.filter { $0.count >= 2 }
        // Batches of whole samples with at most maxRows predicted positions (at least one sample).
        var batches: [[[Int]]] = []
        var current: [[Int]] = [], rows = 0
        for s in samples {
            if !current.isEmpty && rows + s.count - 1 > maxRows { batches.append(current); current = []; rows = 0 }
            current.append(s)
            rows += s.count - 1
        }
        if !current.isEmpty { batches.append(current) }

        let variants = try distinct.map { try model.removing($0) }
        var sums = [Double](repeating: 0, count: distinct.count)
        var positions = 0
        let total = batches.count * (distinct.count + 1)
        var done = 0
        for batch in batches {
            var rowIndex: [Int] = [], offset = 0
            for s in batch {
                for t in 0..<(s.count - 1) { rowIndex.append(offset + t) }
                offset += s.count
            }
            let n = rowIndex.count
            positions += n
            // Reference: p = softmax(logits) per row and Σ p·log p, in f32 / Float64.
            var p = [Float](repeating: 0, count: n * V)
            var negEntropy = [Double](repeating: 0, count: n)
            let h = try model.hiddenStates(batch)
            try p.withUnsafeMutableBufferPointer { pb in
                try negEntropy.withUnsafeMutableBufferPointer { eb in
                    try model.logits(h, rows: rowIndex) { first, chunk, count in
                        let pp = pb.baseAddress!, ep = eb.baseAddress!
                        model.pool.forEachChunk(count) { range in
                            for i in range {
                                ep[first + i] = Self.probabilities(chunk + i * V, V, into: pp + (first + i) * V)
                            }
                        }
                    }
                }
            }
            done += 1
            progress?(done, total)
            for (v, variant) in variants.enumerated() {
                let hq = try variant.hiddenStates(batch)
                var klSum = 0.0
                try p.withUnsafeBufferPointer { pb in
                    try variant.logits(hq, rows: rowIndex) { first, chunk, count in
                        var partial = [Double](repeating: 0, count: count)
                        partial.withUnsafeMutableBufferPointer { out in
                            let o = out.baseAddress!, pp = pb.baseAddress!
                            model.pool.forEachChunk(count) { range in
                                for i in range {
                                    o[i] = Self.divergence(p: pp + (first + i) * V, negEntropy: negEntropy[first + i], logits: chunk + i * V, V)
                                }
                            }
                        }
                        klSum += partial.reduce(0, +)
                    }
                }
                sums[v] += klSum
                done += 1
                progress?(done, total)
            }
        }
        let n = Double(max(positions, 1))
        var attention = [Double?](repeating: nil, count: model.layerCount), mlp = attention, block = attention
        for (i, m) in modules.enumerated() {
            let value = sums[variantOf[i]] / n
            switch m.module.kind {
            case .attention: attention[m.module.layer] = value
            case .mlp: mlp[m.module.layer] = value
            case .block: block[m.module.layer] = value
            }
        }
        return ModuleScores(metric: .kl, attention: attention, mlp: mlp, block: block, tokens: positions)
    }

    /// Writes softmax(logits) to `p` and returns Σ p·log p (Float64).
    static func probabilities(_ logits: UnsafePointer<Float>, _ V: Int, into p: UnsafeMutablePointer<Float>) -> Double {
        let lse = Kernels.logSumExp(logits, V)
        var s = 0.0
        for i in 0..<V {
            let lp = Double(logits[i]) - lse
            let pi = Foundation.exp(lp)
            p[i] = Float(pi)
            s += pi * lp
        }
        return s
    }

    /// KL(p ‖ softmax(logits)) = Σ p·log p − Σ p·logits + logsumexp(logits) · Σ p, at least 0.
    static func divergence(p: UnsafePointer<Float>, negEntropy: Double, logits: UnsafePointer<Float>, _ V: Int) -> Double {
        let lse = Kernels.logSumExp(logits, V)
        var dot = 0.0, mass = 0.0
        for i in 0..<V {
            dot += Double(p[i]) * Double(logits[i])
            mass += Double(p[i])
        }
        return max(negEntropy - dot + lse * mass, 0)
    }

    /// KL(p ‖ q) of two rows of logits (Float64): the definition, for tests and small callers.
    public static func divergence(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        let lseA = a.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, a.count) }
        let lseB = b.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, b.count) }
        var kl = 0.0
        for i in a.indices {
            let la = Double(a[i]) - lseA, lb = Double(b[i]) - lseB
            kl += Foundation.exp(la) * (la - lb)
        }
        return max(kl, 0)
    }
}

/// Scores one model under any plan with any metric, weights shared: the scoring step of one-shot and
/// iterative selection for every metric. One activation pass per plan serves cosine, angular and
/// relative-norm; kl runs its own passes for the module kinds asked for. Results are kept per plan.
public final class MetricScorer {
    public let model: LanguageModel
    public let calibration: CalibrationSet
    /// The samples the kl metric runs on (a prefix of `calibration`'s).
    public let klCalibration: CalibrationSet
    /// Attention and MLP cosine/angular in the residual convention (true) or cos(Norm X, F(Norm X)).
    public let residual: Bool
    /// Rows (tokens) per batched forward call of the activation passes.
    public let rowsPerBatch: Int
    /// Called before each pass with what it computes ("activations" or "kl") and the plan; returns a
    /// (done, total) callback.
    let progress: ((String, LayerPlan) -> ((Int, Int) -> Void)?)?
    private var activations: [String: SimilarityAccumulator] = [:]
    private var kl: [String: ModuleScores] = [:]
    private let passes: ResumableActivations

    /// `keepBytes`: memory for the layer inputs the activation pass of a later plan restarts from
    /// (ResumableActivations); 0 runs every pass from the embeddings.
    public init(model: LanguageModel, calibration: CalibrationSet, residual: Bool = true, klSamples: Int? = nil,
                rowsPerBatch: Int = 1024, keepBytes: Int = 0, progress: ((String, LayerPlan) -> ((Int, Int) -> Void)?)? = nil) {
        self.model = model
        self.rowsPerBatch = rowsPerBatch
        self.calibration = calibration
        passes = ResumableActivations(calibration: calibration, rowsPerBatch: rowsPerBatch, layers: model.layerCount,
                                      hiddenSize: model.hiddenSize, keepBytes: keepBytes)
        var k = calibration
        if let n = klSamples, n < k.samples.count { k.samples = Array(k.samples.prefix(max(n, 1))) }
        klCalibration = k
        self.residual = residual
        self.progress = progress
    }

    /// The layers whose inputs are kept between activation passes.
    public var keptLayers: [Int] { passes.kept }

    static func key(_ p: LayerPlan) -> String {
        String(p.attention.map { $0 ? "1" : "0" }) + "/" + String(p.mlp.map { $0 ? "1" : "0" })
    }

    /// `metric`'s values for `model` with `plan`'s removals, for the modules of `kinds` (kl computes
    /// only those; the activation metrics have every module).
    public func scores(_ metric: ImportanceMetric, plan: LayerPlan, kinds: Set<Module.Kind> = [.attention, .mlp, .block]) throws -> ModuleScores {
        let variant = try model.removing(plan)
        let key = Self.key(variant.plan)
        if metric != .kl {
            if let acc = activations[key] { return acc.moduleScores(metric, residual: residual)! }
            let acc = try passes.pass(variant, progress: progress?("activations", variant.plan))
            activations[key] = acc
            return acc.moduleScores(metric, residual: residual)!
        }
        var known = kl[key]
        let have: Set<Module.Kind> = known.map { s in
            Set([Module.Kind.attention, .mlp, .block].filter { k in
                (0..<s.layerCount).contains { l in s.value(Module(kind: k, layer: l)) != nil }
            })
        } ?? []
        let missing = kinds.subtracting(have)
        if !missing.isEmpty {
            let s = try OutputDivergenceScorer(model: variant).score(klCalibration, kinds: missing, progress: progress?("kl", variant.plan))
            if var k = known {
                for l in 0..<k.layerCount {
                    k.attention[l] = k.attention[l] ?? s.attention[l]
                    k.mlp[l] = k.mlp[l] ?? s.mlp[l]
                    k.block[l] = k.block[l] ?? s.block[l]
                }
                known = k
            } else {
                known = s
            }
            kl[key] = known
        }
        return known!
    }

    /// The order in which `target`'s modules are dropped, up to `count`: one-shot (the ranking of one
    /// scoring of `plan`) or iterative (re-scored after each removal). Each entry has the module's
    /// metric value when it was chosen.
    public func order(_ metric: ImportanceMetric, target: DropTarget, count: Int, plan: LayerPlan, iterative: Bool,
                      onStep: ((Int, Module, Double) -> Void)? = nil) throws -> [(module: Module, value: Double)] {
        let kinds = Module.Kind.ranked(by: target)
        guard count > 0 else { return [] }
        if !iterative {
            return Array(try scores(metric, plan: plan, kinds: kinds).ranking(target: target, plan: plan).prefix(count))
        }
        var steps: [(Module, Double)] = []
        _ = try Selection.iterative(target: target, count: count, plan: plan,
                                    score: { try self.scores(metric, plan: $0, kinds: kinds).selectionScores }) { step, module, s in
            let value = metric.highMeansRedundant ? s : -s
            steps.append((module, value))
            onStep?(step, module, value)
        }
        return steps
    }
}
