// Runs calibration samples through a model and collects the redundancy scores of every layer.
import LLMModels
import LLMTensor

public struct RedundancyScorer {
    public let model: LanguageModel
    /// Rows (tokens) per batched forward call.
    public let rowsPerBatch: Int

    public init(model: LanguageModel, rowsPerBatch: Int = 1024) {
        self.model = model
        self.rowsPerBatch = max(1, rowsPerBatch)
    }

    /// Similarities of every sublayer the model computes, averaged over all calibration tokens.
    public func score(_ calibration: CalibrationSet, progress: ((Int, Int) -> Void)? = nil) throws -> SimilarityScores {
        let acc = SimilarityAccumulator(plan: model.plan)
        try run(calibration, observer: acc, progress: progress)
        return acc.scores
    }

    /// Mean cos(hᵢ, hᵢ₊ₖ) between the input of block i and the output of block i+k−1, for every i:
    /// how little a run of k consecutive blocks changes the hidden state.
    public func consecutiveSimilarity(_ calibration: CalibrationSet, span k: Int, progress: ((Int, Int) -> Void)? = nil) throws -> [Double] {
        let acc = SpanAccumulator(layers: model.layerCount, span: k)
        try run(calibration, observer: acc, progress: progress)
        return acc.means
    }

    func run(_ calibration: CalibrationSet, observer: ForwardObserver, progress: ((Int, Int) -> Void)?) throws {
        var batch: [[Int]] = [], rows = 0, done = 0
        func flush() throws {
            guard !batch.isEmpty else { return }
            _ = try model.forward(batch, logits: .none, observer: observer)
            done += batch.count
            progress?(done, calibration.samples.count)
            batch = []
            rows = 0
        }
        for s in calibration.samples {
            if rows + s.count > rowsPerBatch { try flush() }
            batch.append(s)
            rows += s.count
        }
        try flush()
    }
}

/// Scores one model under each plan it is given (weights shared, no reload), in one convention: the
/// re-scoring step of iterative selection. The scores of the model's own plan are computed once, so a
/// caller that records them and then drops iteratively pays once.
public final class PlanScorer {
    public let model: LanguageModel
    public let calibration: CalibrationSet
    /// true: cos(X, X + F(Norm X)); false: cos(Norm X, F(Norm X)).
    public let residual: Bool
    /// Rows (tokens) per batched forward call.
    public let rowsPerBatch: Int
    /// Called before each scoring pass with the plan, then with (samples done, samples).
    let progress: ((LayerPlan) -> ((Int, Int) -> Void)?)?
    private var first: SimilarityScores?

    public init(model: LanguageModel, calibration: CalibrationSet, residual: Bool = true, rowsPerBatch: Int = 1024,
                progress: ((LayerPlan) -> ((Int, Int) -> Void)?)? = nil) {
        self.model = model
        self.calibration = calibration
        self.residual = residual
        self.rowsPerBatch = rowsPerBatch
        self.progress = progress
    }

    /// Similarities of `model` with `plan`'s removals (a plan of the model's layers).
    public func scores(_ plan: LayerPlan) throws -> SimilarityScores {
        if plan == model.plan, let first { return first }
        let s = try RedundancyScorer(model: model.removing(plan), rowsPerBatch: rowsPerBatch).score(calibration, progress: progress?(plan)).convention(residual: residual)
        if plan == model.plan { first = s }
        return s
    }
}

/// Accumulates cos(input of block i, output of block i+k−1) per token, keeping only the last k
/// block inputs of the current call.
final class SpanAccumulator: ForwardObserver {
    let points: Set<HookPoint> = [.blockIn, .blockOut]
    let span: Int
    var sums: [Double]
    var tokens = 0
    private var inputs: [Int: [Float]] = [:]

    init(layers: Int, span: Int) {
        self.span = span
        sums = Array(repeating: 0, count: max(0, layers - span + 1))
    }

    func observe(_ point: HookPoint, layer l: Int, values: UnsafePointer<Float>, rows: Int, width: Int) {
        switch point {
        case .blockIn:
            if l == 0 { tokens += rows }
            inputs[l] = Array(UnsafeBufferPointer(start: values, count: rows * width))
            inputs[l - span] = nil
        case .blockOut:
            let first = l + 1 - span
            guard first >= 0, let h = inputs[first] else { return }
            h.withUnsafeBufferPointer { h in
                for r in 0..<rows { sums[first] += Kernels.cosine(h.baseAddress! + r * width, values + r * width, width) }
            }
        default: break
        }
    }

    var means: [Double] { sums.map { $0 / Double(max(tokens, 1)) } }
}
