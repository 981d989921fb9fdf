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
        var done = 0
        for batch in Self.batches(calibration.samples, rowsPerBatch: rowsPerBatch) {
            _ = try model.hiddenStates(batch, observer: observer)
            done += batch.count
            progress?(done, calibration.samples.count)
        }
    }

    /// The forward calls of a pass: consecutive samples, at most `rowsPerBatch` rows a call (at least one
    /// sample). Every pass over one calibration set uses the same calls, so a resumed pass
    /// (`ResumableActivations`) sees the rows its stored inputs came from.
    static func batches(_ samples: [[Int]], rowsPerBatch: Int) -> [[[Int]]] {
        var out: [[[Int]]] = [], batch: [[Int]] = [], rows = 0
        for s in samples {
            if rows + s.count > rowsPerBatch && !batch.isEmpty {
                out.append(batch)
                (batch, rows) = ([], 0)
            }
            batch.append(s)
            rows += s.count
        }
        if !batch.isEmpty { out.append(batch) }
        return out
    }
}

/// Activation passes of one model under successive plans (iterative dropping) that reuse what did not
/// change. A plan that first differs from the previous pass's at layer j computes, for every layer before
/// j, exactly what that pass computed: its sums are copied, and the pass restarts at the nearest layer
/// k ≤ j whose input — the residual stream entering it, for every calibration row — was kept. The result
/// equals a pass from the embeddings bit for bit (same calls, same rows, same order).
/// Memory: every kept layer holds calibration tokens × D floats. Layers are kept while `keepBytes`
/// allows, evenly spaced when not all fit; with room for none every pass starts at the embeddings.
final class ResumableActivations {
    let calibration: CalibrationSet
    let batches: [[[Int]]]
    /// Layers whose inputs are kept (ascending, ≥ 1: layer 0's input is the embeddings, cheap to redo).
    let kept: [Int]
    /// The first layer the last pass computed (0: from the embeddings).
    private(set) var lastStart = 0
    private var last: (plan: LayerPlan, accumulator: SimilarityAccumulator)?
    /// Kept layer → its input, one [rows, D] per forward call.
    private var inputs: [Int: [[Float]]] = [:]

    init(calibration: CalibrationSet, rowsPerBatch: Int, layers: Int, hiddenSize: Int, keepBytes: Int) {
        self.calibration = calibration
        batches = RedundancyScorer.batches(calibration.samples, rowsPerBatch: max(1, rowsPerBatch))
        let perLayer = calibration.samples.reduce(0) { $0 + $1.count } * hiddenSize * MemoryLayout<Float>.size
        let n = min(max(layers - 1, 0), perLayer > 0 ? max(keepBytes, 0) / perLayer : 0)
        kept = n == 0 ? [] : (1...n).map { $0 * layers / (n + 1) }
    }

    /// The activation sums of `model` (a `removing` variant of the model every earlier pass ran).
    /// `progress` gets (samples done, samples).
    func pass(_ model: LanguageModel, progress: ((Int, Int) -> Void)?) throws -> SimilarityAccumulator {
        let plan = model.plan, L = plan.layerCount
        var start = 0
        if let last {
            let changed = (0..<L).first { plan.attention[$0] != last.plan.attention[$0] || plan.mlp[$0] != last.plan.mlp[$0] }
            guard let changed else { return last.accumulator }
            start = kept.last { $0 <= changed } ?? 0
        }
        let acc = SimilarityAccumulator(plan: plan, copyingLayersBelow: start, of: last?.accumulator)
        last = nil   // until this pass completes: a pass that throws leaves its layers' inputs half replaced
        inputs = inputs.filter { $0.key <= start }   // the rest are recorded anew; never both at once
        let recorder = InputRecorder(inner: acc, layers: Set(kept.filter { $0 > start }))
        var done = 0
        for (b, batch) in batches.enumerated() {
            if start > 0 {
                _ = try model.hiddenStates(batch, resumingAt: start, input: inputs[start]![b], observer: recorder)
            } else {
                _ = try model.hiddenStates(batch, observer: recorder)
            }
            for (l, x) in recorder.inputs {
                if b == 0 { inputs[l] = [] }
                inputs[l]!.append(x)
            }
            recorder.inputs = [:]
            done += batch.count
            progress?(done, calibration.samples.count)
        }
        last = (plan, acc)
        lastStart = start
        return acc
    }
}

/// Passes activations on to an inner observer and copies the residual stream entering the given layers.
private final class InputRecorder: ForwardObserver {
    let inner: ForwardObserver
    let layers: Set<Int>
    let points: Set<HookPoint>
    /// Layer → its input in the current call.
    var inputs: [Int: [Float]] = [:]

    init(inner: ForwardObserver, layers: Set<Int>) {
        self.inner = inner
        self.layers = layers
        points = inner.points.union([.blockIn])
    }

    func observe(_ point: HookPoint, layer l: Int, values: UnsafePointer<Float>, rows: Int, width: Int) {
        if point == .blockIn && layers.contains(l) { inputs[l] = Array(UnsafeBufferPointer(start: values, count: rows * width)) }
        if inner.points.contains(point) { inner.observe(point, layer: l, values: values, rows: rows, width: width) }
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
    private let passes: ResumableActivations

    /// `keepBytes`: memory for the layer inputs a later plan restarts from (ResumableActivations); 0 runs
    /// every pass from the embeddings.
    public init(model: LanguageModel, calibration: CalibrationSet, residual: Bool = true, rowsPerBatch: Int = 1024,
                keepBytes: Int = 0, progress: ((LayerPlan) -> ((Int, Int) -> Void)?)? = nil) {
        self.model = model
        self.calibration = calibration
        self.residual = residual
        self.rowsPerBatch = rowsPerBatch
        self.progress = progress
        passes = ResumableActivations(calibration: calibration, rowsPerBatch: rowsPerBatch, layers: model.layerCount,
                                      hiddenSize: model.hiddenSize, keepBytes: keepBytes)
    }

    /// The layers whose inputs are kept between passes.
    public var keptLayers: [Int] { passes.kept }
    /// The first layer the last scoring pass computed (0: it started at the embeddings).
    public var lastStartLayer: Int { passes.lastStart }

    /// Similarities of `model` with `plan`'s removals (a plan of the model's layers).
    public func scores(_ plan: LayerPlan) throws -> SimilarityScores {
        if plan == model.plan, let first { return first }
        let variant = try model.removing(plan)
        let s = try passes.pass(variant, progress: progress?(plan)).scores.convention(residual: residual)
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
