// The shared decoder of every supported family: embedding → layers, each an attention branch and an MLP
// branch added to the residual → final norm → head. What a family does differently (biases, Q/K norms,
// post-norms, GeGLU, RoPE pairing, sliding windows, embedding scale, soft-capping) is data resolved in
// ModelConfig from one file per family (Families/); hook points, layer plans, the KV cache, batching
// and threading are written once, here. Reads like the paper's block:
//   h = x + Attn(Norm₁(x));  out = h + MLP(Norm₂(h))      (Gemma: each branch ends in its post-norm)
//
// Shapes use fixed letters: R rows (all tokens of the call), T tokens of one sequence, L keys visible
// to a query tile, D hidden size, H query heads, G key/value heads, Dh head dim, F MLP width, V vocabulary.
//
// Concurrency: forward calls on any models of the process run one at a time (BLAS thread counts are
// process-wide state that attention switches); a model may be shared between threads, and calls from
// several threads queue on one lock.
import Foundation
import LLMFormats
import LLMTensor
import LLMTokenizer

public struct LoadOptions: Sendable {
    /// Threads for kernels and BLAS (≥ 1).
    public var threads: Int
    /// Sublayers to remove at load, on top of what the file lacks.
    public var plan: LayerPlan?
    /// Keep an f32 copy of the weights for prefill when it needs at most this many bytes; larger
    /// models dequantise one matrix at a time into a scratch buffer instead.
    public var float32CacheBudget: Int
    /// Release each layer's weight pages after a forward pass uses them and read the next layer's ahead
    /// (for models larger than the memory budget: resident memory stays near one layer's weights).
    public var releaseLayerPages: Bool
    /// Inputs of quantised products in f32 (default) or 8-bit blocks (opt-in, llama.cpp's numerics).
    public var activations: ActivationPrecision

    public static var defaultFloat32CacheBudget: Int {
        Int(min(ProcessInfo.processInfo.physicalMemory / 4, 8 << 30))
    }

    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, plan: LayerPlan? = nil,
                float32CacheBudget: Int = LoadOptions.defaultFloat32CacheBudget, releaseLayerPages: Bool = false,
                activations: ActivationPrecision = .float32) {
        self.threads = threads
        self.activations = activations
        self.plan = plan
        self.float32CacheBudget = float32CacheBudget
        self.releaseLayerPages = releaseLayerPages
    }
}

/// Which positions get logits: every position (perplexity, multiple choice), the last of each
/// sequence (generation), or none (observers only, e.g. redundancy scoring).
public enum LogitSelection: Sendable {
    case all, last, none
}

struct AttentionWeights {
    let norm: [Float]
    let q, k, v, o: WeightMatrix
    let qBias, kBias, vBias: [Float]?
    let qNorm, kNorm: [Float]?
    let postNorm: [Float]?
    let heads, kvHeads: Int
}

struct MLPWeights {
    let norm: [Float]
    let gate, up, down: WeightMatrix
    let postNorm: [Float]?
}

struct LayerWeights {
    let attention: AttentionWeights?
    let mlp: MLPWeights?

    /// Advises the kernel about the pages of the matrices this layer computes with.
    func advise(_ advice: PageAdvice) {
        for m in [attention?.q, attention?.k, attention?.v, attention?.o, mlp?.gate, mlp?.up, mlp?.down] { m?.advise(advice) }
    }
}

/// The residual stream after the last layer, [R, D], for the head to read in chunks.
public struct HiddenStates: Sendable {
    public let rows: Int
    public let width: Int
    var storage: [Float]
    /// Last row of each sequence of the call, in order.
    public let lastRows: [Int]
}

public final class LanguageModel: @unchecked Sendable {
    /// Where the weights and hyper-parameters come from (a GGUF file today).
    public let source: any ModelSource
    public let config: ModelConfig
    /// The sublayers this model computes: what the file has, minus the load-time plan's removals.
    public let plan: LayerPlan
    public let tokenizer: any Tokenizer
    public let pool: ThreadPool
    /// True when prefill uses a cached f32 copy of the weights.
    public let cachesFloat32: Bool
    /// Weight pages are released after each layer (LoadOptions.releaseLayerPages).
    public let releasesLayerPages: Bool
    /// How the inputs of quantised products are represented (LoadOptions.activations).
    public let activations: ActivationPrecision
    let layers: [LayerWeights]
    let embedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: [Float]
    let rope: RopeTables
    /// Largest rows × cols of any matrix without an f32 copy (the dequantisation scratch size).
    let scratchFloats: Int

    /// Rows of logits the head computes at a time: a [rows × V] block is never materialised whole
    /// (with a 262,144-token vocabulary, 1024 rows would be 1 GiB).
    public static let logitChunkRows = 64
    /// Forward calls of every model run one at a time: BLAS thread counts are process-wide.
    private static let forwardLock = NSLock()

    /// Runs `body` as this model's forward work: one model at a time, with BLAS single-threaded. The
    /// pool splits every product itself (WeightMatrix.apply, attention by heads): BLAS's own threads
    /// would spin between calls, competing with the pool's workers for the cores. Something else (a
    /// rate measurement) may have left BLAS at another count, and a product split over BLAS's threads
    /// sums in another order, so it is set before every call.
    private func exclusively<R>(_ body: () throws -> R) rethrows -> R {
        try Self.forwardLock.withLock {
            BLAS.setThreads(1)
            return try body()
        }
    }
    /// Told (layer, layers) as a forward call of any model starts each layer — for a progress display of
    /// long batched passes, where one call may hold every sample. Forward calls run one at a time, so
    /// one process-wide hook sees one pass; set it before passes start (it is read without a lock).
    public nonisolated(unsafe) static var layerProgress: ((_ layer: Int, _ layers: Int) -> Void)?

    public convenience init(path: String, options: LoadOptions = LoadOptions()) throws {
        try self.init(source: ModelSources.open(path: path), options: options)
    }

    public init(source: any ModelSource, options: LoadOptions = LoadOptions()) throws {
        guard options.threads >= 1 else { throw ModelError.invalidOption("the thread count must be at least 1, not \(options.threads)") }
        guard options.float32CacheBudget >= 0 else { throw ModelError.invalidOption("the f32 cache budget must not be negative") }
        self.source = source
        releasesLayerPages = options.releaseLayerPages
        activations = options.activations
        let config = try ModelConfig(source: source)
        self.config = config
        pool = try ThreadPool(threads: options.threads)
        tokenizer = try loadTokenizer(from: source)

        var loader = TensorLoader(source: source)
        let filePlan = try FilePlan.read(source: source, config: config)
        var plan = filePlan
        if let p = options.plan {
            guard p.layerCount == config.layerCount else {
                throw ModelError.invalidPlan("it describes \(p.layerCount) layers but the model has \(config.layerCount)")
            }
            plan = plan.intersected(with: p)
        }
        self.plan = plan

        let D = config.hiddenSize, Dh = config.headDim, traits = config.traits
        embedding = try loader.matrix(.tokenEmbedding, rows: config.vocabularySize, cols: D)
        outputNorm = try loader.vector(.outputNorm, count: D)
        output = config.tiedEmbeddings ? embedding : try loader.matrix(.output, rows: config.vocabularySize, cols: D)

        var layers: [LayerWeights] = []
        for l in 0..<config.layerCount {
            var attention: AttentionWeights?
            if filePlan.attention[l] {
                let (H, G) = (config.heads[l], config.kvHeads[l])
                let weights = AttentionWeights(
                    norm: try loader.vector(.attnNorm(l), count: D),
                    q: try loader.matrix(.attnQ(l), rows: H * Dh, cols: D),
                    k: try loader.matrix(.attnK(l), rows: G * Dh, cols: D),
                    v: try loader.matrix(.attnV(l), rows: G * Dh, cols: D),
                    o: try loader.matrix(.attnOutput(l), rows: D, cols: H * Dh),
                    qBias: try loader.vector(.attnQBias(l), count: H * Dh, if: traits.qkvBias),
                    kBias: try loader.vector(.attnKBias(l), count: G * Dh, if: traits.qkvBias),
                    vBias: try loader.vector(.attnVBias(l), count: G * Dh, if: traits.qkvBias),
                    qNorm: try loader.vector(.attnQNorm(l), count: Dh, if: traits.qkNorm),
                    kNorm: try loader.vector(.attnKNorm(l), count: Dh, if: traits.qkNorm),
                    postNorm: try loader.vector(.attnPostNorm(l), count: D, if: traits.postNorms),
                    heads: H, kvHeads: G)
                if plan.attention[l] { attention = weights }
            } else if config.heads[l] > 0 {
                // llama.cpp's "linear attention" form of a removed layer-0 attention: norm and a zero
                // output projection stay in the file; nothing is computed.
                loader.ignore([.attnNorm(l), .attnOutput(l)])
            }
            var mlp: MLPWeights?
            if config.hasMLP(l) {
                let F = config.ffnLength[l]
                let weights = MLPWeights(
                    norm: try loader.vector(.ffnNorm(l), count: D),
                    gate: try loader.matrix(.ffnGate(l), rows: F, cols: D),
                    up: try loader.matrix(.ffnUp(l), rows: F, cols: D),
                    down: try loader.matrix(.ffnDown(l), rows: D, cols: F),
                    postNorm: try loader.vector(.ffnPostNorm(l), count: D, if: traits.postNorms))
                if plan.mlp[l] { mlp = weights }
            }
            layers.append(LayerWeights(attention: attention, mlp: mlp))
        }
        self.layers = layers

        let half = config.rope.dimensions / 2
        var factors = Array(repeating: 1.0, count: half)
        if source.tensor(named: TensorRole.ropeFrequencies.ggufName) != nil {
            factors = try loader.vector(.ropeFrequencies, count: half).map(Double.init)
        }
        rope = RopeTables(config: config, factors: factors)
        try loader.checkAllUsed()

        // The products' matrices (an untied embedding is only ever read a row at a time).
        var used = [output]
        for layer in layers {
            if let a = layer.attention { used += [a.q, a.k, a.v, a.o] }
            if let m = layer.mlp { used += [m.gate, m.up, m.down] }
        }
        // Resident weights decode from their faster exact re-encodings (streamed ones are read once a pass).
        // Interleaved ones serve every product, decoding and prefill alike, so their stored pages leave the
        // resident set as soon as the copy exists (row lookups fault single pages back in).
        if !releasesLayerPages {
            for m in used {
                m.prepareProducts(for: options.activations, pool: pool)
                if m.isInterleaved { m.advise(.dontNeed) }
            }
        }
        // Only the matrices this plan computes with f32 weights (SGEMM) are cached or need scratch.
        let float32Users = used.filter { !$0.usesInt8(options.activations) && !$0.isInterleaved }
        cachesFloat32 = !float32Users.isEmpty && float32Users.reduce(0) { $0 + $1.float32Bytes } <= options.float32CacheBudget
        scratchFloats = cachesFloat32 ? 0 : float32Users.map { $0.rows * $0.cols }.max() ?? 0
        if cachesFloat32 {
            for m in float32Users { m.cacheFloat32(pool: pool) }
        }
    }

    /// The same model with more sublayers removed, sharing all weights (no reload): how iterative
    /// dropping re-scores a model after each removal.
    public func removing(_ removals: LayerPlan) throws -> LanguageModel {
        guard removals.layerCount == config.layerCount else {
            throw ModelError.invalidPlan("it describes \(removals.layerCount) layers but the model has \(config.layerCount)")
        }
        return LanguageModel(base: self, plan: plan.intersected(with: removals), activations: activations)
    }

    /// The same model computing its quantised products with `activations`, sharing all weights: how
    /// `kld --activations int8` compares 8-bit activations with f32 on one load.
    public func computing(with activations: ActivationPrecision) throws -> LanguageModel {
        guard activations == .int8 || self.activations == .float32 else {
            throw ModelError.invalidOption("a model loaded with 8-bit activations has no f32 weights for prefill; load it with f32 activations")
        }
        return LanguageModel(base: self, plan: plan, activations: activations)
    }

    private init(base: LanguageModel, plan: LayerPlan, activations: ActivationPrecision) {
        source = base.source
        config = base.config
        self.plan = plan
        tokenizer = base.tokenizer
        pool = base.pool
        cachesFloat32 = base.cachesFloat32
        releasesLayerPages = base.releasesLayerPages
        self.activations = activations
        layers = base.layers.enumerated().map { l, layer in
            LayerWeights(attention: plan.attention[l] ? layer.attention : nil, mlp: plan.mlp[l] ? layer.mlp : nil)
        }
        embedding = base.embedding
        output = base.output
        outputNorm = base.outputNorm
        rope = base.rope
        scratchFloats = base.scratchFloats
    }

    public var vocabularySize: Int { config.vocabularySize }
    public var hiddenSize: Int { config.hiddenSize }
    public var layerCount: Int { config.layerCount }

    /// KV-cache bytes per token for this model's plan (before any sliding window fills).
    public var kvCacheBytesPerToken: Int { config.kvCacheBytesPerToken(plan: plan) }

    /// Identifies the weights, shared by every `removing` variant of one load.
    var weightsID: ObjectIdentifier { ObjectIdentifier(embedding) }

    // MARK: - Whole sequences

    /// Runs whole sequences independently (no cache) in one batched pass and returns logits for the
    /// selected positions: `.all` → [Σ Tₛ, V] in sequence order; `.last` → [S, V]; `.none` → [0, V].
    /// Prefer `forward(_:logits:observer:consume:)` for many rows of a large vocabulary.
    public func forward(_ sequences: [[Int]], logits: LogitSelection = .all, observer: ForwardObserver? = nil) throws -> Matrix {
        let h = try hiddenStates(sequences, observer: observer)
        let rows = selectedRows(h, logits)
        var out = Matrix(rows: rows.count, cols: config.vocabularySize)
        let V = config.vocabularySize
        try out.storage.withUnsafeMutableBufferPointer { o in
            try self.logits(h, rows: rows) { first, chunk, n in
                (o.baseAddress! + first * V).update(from: chunk, count: n * V)
            }
        }
        return out
    }

    /// Runs whole sequences and hands the logits of the selected positions to `consume` in chunks of at
    /// most `logitChunkRows` rows: `consume(index of the chunk's first selected row, [n, V], n)`.
    public func forward(_ sequences: [[Int]], logits: LogitSelection, observer: ForwardObserver? = nil,
                        consume: (Int, UnsafePointer<Float>, Int) throws -> Void) throws {
        let h = try hiddenStates(sequences, observer: observer)
        try self.logits(h, rows: selectedRows(h, logits), consume)
    }

    /// Runs whole sequences and hands the logits of the given rows (indices into the concatenated
    /// sequences) to `consume` in chunks, as above.
    public func forward(_ sequences: [[Int]], rows: [Int], observer: ForwardObserver? = nil,
                        consume: (Int, UnsafePointer<Float>, Int) throws -> Void) throws {
        try self.logits(hiddenStates(sequences, observer: observer), rows: rows, consume)
    }

    /// The residual stream after the last layer for whole sequences (no cache), batched.
    public func hiddenStates(_ sequences: [[Int]], observer: ForwardObserver? = nil) throws -> HiddenStates {
        let (segments, _) = Self.wholeSequences(sequences)
        return try run(tokens: sequences.flatMap { $0 }, segments: segments, observer: observer)
    }

    /// Segments of whole sequences (no cache) laid one after another, skipping empty ones, and their rows.
    private static func wholeSequences(_ sequences: [[Int]]) -> ([Segment], rows: Int) {
        var segments: [Segment] = []
        var row = 0
        for s in sequences where !s.isEmpty {
            segments.append(Segment(row: row, count: s.count, position: 0))
            row += s.count
        }
        return (segments, row)
    }

    /// Continues whole sequences from the residual stream entering layer `first` — `input`, [R, D] for the
    /// rows of `sequences` concatenated, as a call of the same rows left it there (`.blockIn` of layer
    /// `first`) — through layers first..<L. When layers 0..<first compute what they computed for that
    /// call, the result equals the whole call's bit for bit: the later layers see the same rows in the same
    /// order. Iterative dropping re-scores from the first layer a removal changed this way.
    public func hiddenStates(_ sequences: [[Int]], resumingAt first: Int, input: [Float], observer: ForwardObserver? = nil) throws -> HiddenStates {
        guard (0...config.layerCount).contains(first) else {
            throw ModelError.invalidOption("layer \(first) is outside the model's \(config.layerCount) layers")
        }
        let (segments, row) = Self.wholeSequences(sequences)
        guard input.count == row * config.hiddenSize else {
            throw ModelError.invalidOption("the residual stream to resume from has \(input.count) values, not \(row) rows × \(config.hiddenSize)")
        }
        return try input.withUnsafeBufferPointer { x in
            try run(tokens: sequences.flatMap { $0 }, segments: segments, observer: observer, first: first, input: x.baseAddress)
        }
    }

    /// Logits of `rows` of `h`, `logitChunkRows` at a time (see `forward(_:logits:observer:consume:)`).
    public func logits(_ h: HiddenStates, rows: [Int], _ consume: (Int, UnsafePointer<Float>, Int) throws -> Void) throws {
        guard !rows.isEmpty else { return }
        for r in rows where !(0..<h.rows).contains(r) { throw ModelError.invalidOption("logit row \(r) is outside the \(h.rows) rows of the call") }
        let D = config.hiddenSize, V = config.vocabularySize
        let chunk = min(rows.count, Self.logitChunkRows)
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: chunk * D)
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: chunk * D)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: chunk * V)
        let scratch = scratchFloats > 0 && chunk > WeightMatrix.quantizedMaxRows ? UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats) : nil
        defer { gathered.deallocate(); normed.deallocate(); out.deallocate(); scratch?.deallocate() }
        for first in stride(from: 0, to: rows.count, by: chunk) {
            let n = min(chunk, rows.count - first)
            h.storage.withUnsafeBufferPointer { x in
                for i in 0..<n { (gathered + i * D).update(from: x.baseAddress! + rows[first + i] * D, count: D) }
            }
            exclusively {
                Kernels.rmsNorm(gathered, outputNorm, normed, rows: n, dim: D, eps: config.normEpsilon)
                output.apply(normed, m: n, out, scratch: scratch, pool: pool, activations: activations)                    // out: [n, V]
            }
            if let cap = config.traits.logitSoftCap { Kernels.softCap(out, cap: cap, n * V) }
            try consume(first, out, n)
        }
        if releasesLayerPages { output.advise(.dontNeed) }
    }

    private func selectedRows(_ h: HiddenStates, _ selection: LogitSelection) -> [Int] {
        switch selection {
        case .none: return []
        case .all: return Array(0..<h.rows)
        case .last: return h.lastRows
        }
    }

    // MARK: - Incremental decoding

    /// A fresh KV cache able to hold `capacity` tokens (the context length at most), for this model only.
    public func makeCache(capacity: Int) throws -> KVCache {
        guard capacity <= config.contextLength else { throw ModelError.contextOverflow(tokens: capacity, contextLength: config.contextLength) }
        guard capacity >= 0 else { throw ModelError.invalidOption("a KV cache capacity must not be negative") }
        return KVCache(config: config, plan: plan, capacity: capacity, owner: weightsID)
    }

    /// Tokens per pass when a long prompt is appended to a cache.
    public static let prefillChunk = 512

    /// Appends `tokens` to a cached sequence and returns logits for the selected positions. A long
    /// prompt (without observer or all-position logits) goes through in passes of `prefillChunk`
    /// tokens, so activations stay those of one chunk however long the prompt.
    public func forward(appending tokens: [Int], to cache: KVCache, logits: LogitSelection = .last, observer: ForwardObserver? = nil) throws -> Matrix {
        guard cache.count + tokens.count <= cache.capacity else {   // before any chunk changes the cache
            throw ModelError.contextOverflow(tokens: cache.count + tokens.count, contextLength: cache.capacity)
        }
        var start = 0
        if logits != .all && observer == nil {
            while tokens.count - start > Self.prefillChunk {
                _ = try forward(appending: [Array(tokens[start..<start + Self.prefillChunk])], to: [cache], logits: .none)
                start += Self.prefillChunk
            }
        }
        return try forward(appending: [Array(tokens[start...])], to: [cache], logits: logits, observer: observer)
    }

    /// Appends tokens to several cached sequences in one batched pass — one matrix product per weight
    /// for all of them (batched generation) — and returns logits for the selected positions, sequence
    /// after sequence (`.last`: one row per sequence that got tokens).
    public func forward(appending tokens: [[Int]], to caches: [KVCache], logits: LogitSelection = .last, observer: ForwardObserver? = nil) throws -> Matrix {
        guard tokens.count == caches.count else { throw ModelError.invalidOption("\(tokens.count) token lists for \(caches.count) caches") }
        guard Set(caches.map { ObjectIdentifier($0) }).count == caches.count else { throw ModelError.invalidOption("a cache appears twice in one call") }
        var segments: [Segment] = []
        var row = 0
        for (t, cache) in zip(tokens, caches) {
            guard cache.owner == weightsID, cache.plan == plan else { throw ModelError.foreignCache }
            guard cache.count + t.count <= cache.capacity else {
                throw ModelError.contextOverflow(tokens: cache.count + t.count, contextLength: cache.capacity)
            }
            guard !t.isEmpty else { continue }
            segments.append(Segment(row: row, count: t.count, position: cache.count, cache: cache))
            row += t.count
        }
        let h = try run(tokens: tokens.flatMap { $0 }, segments: segments, observer: observer)
        for (t, cache) in zip(tokens, caches) { cache.count += t.count }
        let rows = selectedRows(h, logits)
        var out = Matrix(rows: rows.count, cols: config.vocabularySize)
        let V = config.vocabularySize
        try out.storage.withUnsafeMutableBufferPointer { o in
            try self.logits(h, rows: rows) { first, chunk, n in (o.baseAddress! + first * V).update(from: chunk, count: n * V) }
        }
        return out
    }

    // MARK: - The layers

    struct Segment {
        /// First row of this sequence in the batch, token count, position of its first token.
        let row: Int, count: Int, position: Int
        /// The sequence's KV cache; nil for a whole sequence run on its own.
        var cache: KVCache? = nil
    }

    /// Runs layers first..<L on the embeddings of `tokens` (first = 0) or on `input`, the residual stream
    /// entering layer `first`.
    private func run(tokens: [Int], segments: [Segment], observer: ForwardObserver?, first: Int = 0,
                     input: UnsafePointer<Float>? = nil) throws -> HiddenStates {
        let V = config.vocabularySize, D = config.hiddenSize
        for t in tokens where !(0..<V).contains(t) { throw ModelError.tokenOutOfRange(token: t, vocabularySize: V) }
        for s in segments where s.position + s.count > config.contextLength {
            throw ModelError.contextOverflow(tokens: s.position + s.count, contextLength: config.contextLength)
        }
        let R = tokens.count
        let lastRows = segments.map { $0.row + $0.count - 1 }
        guard R > 0 else { return HiddenStates(rows: 0, width: D, storage: [], lastRows: []) }
        return exclusively {
            let ws = Workspace(model: self, rows: R, segments: segments)
            defer { ws.deallocate() }
            let x = ws.x

            if let input {
                x.update(from: input, count: R * D)                                            // x: [R, D] ← layer `first`'s input
                if releasesLayerPages, first < layers.count { layers[first].advise(.willNeed) }
            } else {
                // x: [R, D] ← token embeddings (× √D for Gemma)
                for (r, t) in tokens.enumerated() { embedding.row(t, into: x + r * D) }
                if releasesLayerPages { embedding.advise(.dontNeed); layers.first?.advise(.willNeed) }
                if config.traits.embeddingScale != 1 { Kernels.scale(x, config.traits.embeddingScale, R * D) }
            }
            rope.fill(ws, segments)

            func observe(_ p: HookPoint, _ l: Int, _ v: UnsafeMutablePointer<Float>) {
                if let o = observer, o.points.contains(p) { o.observe(p, layer: l, values: v, rows: R, width: D) }
            }
            let eps = config.normEpsilon
            for (l, layer) in layers.enumerated() where l >= first {
                Self.layerProgress?(l, layers.count)
                if releasesLayerPages, l + 1 < layers.count { layers[l + 1].advise(.willNeed) }   // read ahead while computing
                defer { if releasesLayerPages { layer.advise(.dontNeed) } }
                observe(.blockIn, l, x)
                if let a = layer.attention {
                    Kernels.rmsNorm(x, a.norm, ws.xn, rows: R, dim: D, eps: eps)               // xn = Norm₁(x)
                    observe(.attnIn, l, ws.xn)
                    attention(a, layer: l, ws, segments)                                       // proj = Attn(xn)
                    if let p = a.postNorm { Kernels.rmsNorm(ws.proj, p, ws.proj, rows: R, dim: D, eps: eps) }
                    observe(.attnOut, l, ws.proj)
                    Kernels.add(x, ws.proj, R * D)                                             // x += proj
                }
                observe(.attnResidual, l, x)
                if let m = layer.mlp {
                    Kernels.rmsNorm(x, m.norm, ws.xn, rows: R, dim: D, eps: eps)               // xn = Norm₂(x)
                    observe(.mlpIn, l, ws.xn)
                    let F = m.gate.rows
                    m.gate.apply(ws.xn, m: R, ws.gate, scratch: ws.weights, pool: pool, activations: activations)        // gate: [R, F]
                    m.up.apply(ws.xn, m: R, ws.up, scratch: ws.weights, pool: pool, activations: activations)            // up: [R, F]
                    switch config.traits.activation {                                          // gate = act(gate) ⊙ up
                    case .silu: Kernels.siluMul(ws.gate, ws.up, R * F)
                    case .geluTanh: Kernels.geluTanhMul(ws.gate, ws.up, R * F)
                    }
                    m.down.apply(ws.gate, m: R, ws.proj, scratch: ws.weights, pool: pool, activations: activations)      // proj: [R, D]
                    if let p = m.postNorm { Kernels.rmsNorm(ws.proj, p, ws.proj, rows: R, dim: D, eps: eps) }
                    observe(.mlpOut, l, ws.proj)
                    Kernels.add(x, ws.proj, R * D)                                             // x += proj
                }
                observe(.blockOut, l, x)
            }
            return HiddenStates(rows: R, width: D, storage: Array(UnsafeBufferPointer(start: x, count: R * D)), lastRows: lastRows)
        }
    }

    /// proj = Attn(xn) for one layer: Q/K/V projections (+ biases), Q/K norms, RoPE, causal (and
    /// windowed) softmax(QKᵀ·scale)·V per head (query head h reads key/value head h / (H/G)), output projection.
    private func attention(_ a: AttentionWeights, layer l: Int, _ ws: Workspace, _ segments: [Segment]) {
        let R = ws.rows, Dh = config.headDim
        let (H, G) = (a.heads, a.kvHeads)
        let qw = H * Dh, kw = G * Dh
        a.q.apply(ws.xn, m: R, ws.q, scratch: ws.weights, pool: pool, activations: activations)   // q: [R, H·Dh]
        a.k.apply(ws.xn, m: R, ws.k, scratch: ws.weights, pool: pool, activations: activations)   // k: [R, G·Dh]
        a.v.apply(ws.xn, m: R, ws.v, scratch: ws.weights, pool: pool, activations: activations)   // v: [R, G·Dh]
        if let b = a.qBias { Kernels.addBias(ws.q, b, rows: R, dim: qw) }
        if let b = a.kBias { Kernels.addBias(ws.k, b, rows: R, dim: kw) }
        if let b = a.vBias { Kernels.addBias(ws.v, b, rows: R, dim: kw) }
        if let n = a.qNorm { Kernels.rmsNorm(ws.q, n, ws.q, rows: R * H, dim: Dh, eps: config.normEpsilon) }
        if let n = a.kNorm { Kernels.rmsNorm(ws.k, n, ws.k, rows: R * G, dim: Dh, eps: config.normEpsilon) }
        rope.apply(layer: l, ws, q: ws.q, heads: H, k: ws.k, kvHeads: G)

        let scale = config.traits.attentionScale ?? 1 / Float(Dh).squareRoot()
        let window = config.slidingWindow[l]
        for s in segments {
            // keys/values: a buffer whose row j holds position keyStart + j.
            let keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, keyStart: Int
            let newK = ws.k + s.row * kw, newV = ws.v + s.row * kw
            if let cache = s.cache, let ck = cache.keys[l], let cv = cache.values[l] {
                if cache.isRing(l) {
                    // The window's earlier positions from the ring, then this call's rows, in order.
                    let W = cache.rows[l]
                    keyStart = max(0, s.position - (W - 1))
                    let old = s.position - keyStart
                    for j in 0..<old {
                        let slot = (keyStart + j) % W
                        (ws.ringK + j * kw).update(from: ck + slot * kw, count: kw)
                        (ws.ringV + j * kw).update(from: cv + slot * kw, count: kw)
                    }
                    (ws.ringK + old * kw).update(from: newK, count: s.count * kw)
                    (ws.ringV + old * kw).update(from: newV, count: s.count * kw)
                    for p in max(s.position, s.position + s.count - W)..<(s.position + s.count) {
                        (ck + (p % W) * kw).update(from: newK + (p - s.position) * kw, count: kw)
                        (cv + (p % W) * kw).update(from: newV + (p - s.position) * kw, count: kw)
                    }
                    (keys, values) = (ws.ringK, ws.ringV)
                } else {
                    (ck + s.position * kw).update(from: newK, count: s.count * kw)
                    (cv + s.position * kw).update(from: newV, count: s.count * kw)
                    (keys, values, keyStart) = (ck, cv, 0)
                }
            } else {
                (keys, values, keyStart) = (newK, newV, s.position)
            }
            // Queries go in tiles, keys in blocks (TiledAttention), so scratch stays one tile × one
            // block per thread. Heads run in parallel on the pool, each product a single-threaded
            // BLAS call; a decoding step's heads that share a key/value head read its cache once.
            for t0 in stride(from: 0, to: s.count, by: Workspace.queryTile) {
                let T = min(s.count - t0, Workspace.queryTile)
                let q = ws.q + (s.row + t0) * qw, out = ws.attn + (s.row + t0) * qw
                pool.forEachChunk(H, indexed: { slot, heads in
                    if T == 1 {
                        var h = heads.lowerBound
                        while h < heads.upperBound {
                            let g = h / (H / G), end = min(heads.upperBound, (g + 1) * (H / G))
                            TiledAttention.decode(q: q + h * Dh, heads: end - h, k: keys + g * Dh, v: values + g * Dh, ldkv: kw,
                                                  out: out + h * Dh, dim: Dh, position: s.position + t0 - keyStart, window: window,
                                                  scale: scale, scratch: ws.scores + slot * ws.scoresPerThread)
                            h = end
                        }
                        return
                    }
                    for h in heads {
                        let g = h / (H / G)   // query head h reads key/value head g
                        TiledAttention.run(q: q + h * Dh, ldq: qw, k: keys + g * Dh, v: values + g * Dh, ldkv: kw,
                                           out: out + h * Dh, ldo: qw, queries: T, dim: Dh,
                                           first: s.position + t0 - keyStart, window: window, scale: scale,
                                           scratch: ws.scores + slot * ws.scoresPerThread)
                    }
                })
            }
        }
        a.o.apply(ws.attn, m: R, ws.proj, scratch: ws.weights, pool: pool, activations: activations)  // proj: [R, D]
    }
}
