// The Llama architecture (pre-norm decoder: RMSNorm → attention with RoPE and grouped-query heads →
// residual → RMSNorm → SwiGLU MLP → residual), loaded from GGUF with strict tensor checks and run on
// CPU. Reads like the paper's block: x ← x + Attn(Norm₁(x)); x ← x + MLP(Norm₂(x)).
//
// Shapes use fixed letters: R rows (all tokens of the call), T tokens of one sequence, L keys visible
// to a query, D hidden size, H query heads, G key/value heads, Dh head dim, F MLP width, V vocabulary.
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

    public static var defaultFloat32CacheBudget: Int {
        Int(min(ProcessInfo.processInfo.physicalMemory / 4, 8 << 30))
    }

    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, plan: LayerPlan? = nil,
                float32CacheBudget: Int = LoadOptions.defaultFloat32CacheBudget) {
        self.threads = threads
        self.plan = plan
        self.float32CacheBudget = float32CacheBudget
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
    let heads, kvHeads: Int
}

struct MLPWeights {
    let norm: [Float]
    let gate, up, down: WeightMatrix
}

struct LayerWeights {
    let attention: AttentionWeights?
    let mlp: MLPWeights?
}

public final class LlamaModel: @unchecked Sendable {
    public let file: GGUFFile
    public let config: LlamaConfig
    /// The sublayers this model computes: what the file has, minus the load-time plan's removals.
    public let plan: LayerPlan
    public let tokenizer: any Tokenizer
    public let pool: ThreadPool
    /// True when prefill uses a cached f32 copy of the weights.
    public let cachesFloat32: Bool
    let layers: [LayerWeights]
    let embedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: [Float]
    /// RoPE inverse frequencies θᵢ = base^(−2i/d) / factorᵢ, i < d/2.
    let inverseFrequencies: [Double]
    /// Largest rows × cols of any matrix without an f32 copy (the dequantisation scratch size).
    let scratchFloats: Int

    public convenience init(path: String, options: LoadOptions = LoadOptions()) throws {
        try self.init(file: GGUFFile(path: path), options: options)
    }

    public init(file: GGUFFile, options: LoadOptions = LoadOptions()) throws {
        precondition(options.threads >= 1, "thread count is validated by the caller")
        self.file = file
        let config = try LlamaConfig(LlamaMetadata(file))
        self.config = config
        pool = ThreadPool(threads: options.threads)
        BLAS.setThreads(options.threads)
        tokenizer = try loadTokenizer(from: file)

        var loader = TensorLoader(file: file)
        let filePlan = try FilePlan.read(file: file, config: config)
        var plan = filePlan
        if let p = options.plan {
            guard p.layerCount == config.layerCount else {
                throw ModelError.invalidPlan("it describes \(p.layerCount) layers but the model has \(config.layerCount)")
            }
            plan = plan.intersected(with: p)
        }
        self.plan = plan

        let D = config.hiddenSize, Dh = config.headDim
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
                    down: try loader.matrix(.ffnDown(l), rows: D, cols: F))
                if plan.mlp[l] { mlp = weights }
            }
            layers.append(LayerWeights(attention: attention, mlp: mlp))
        }
        self.layers = layers

        let half = config.rope.dimensions / 2
        var factors = Array(repeating: 1.0, count: half)
        if file.tensor(named: TensorRole.ropeFrequencies.ggufName) != nil {
            factors = try loader.vector(.ropeFrequencies, count: half).map(Double.init)
        }
        inverseFrequencies = (0..<half).map { i in
            1 / Foundation.pow(config.rope.base, Double(2 * i) / Double(config.rope.dimensions)) / factors[i]
        }
        try loader.checkAllUsed()

        // Only the matrices this plan computes are cached or need scratch.
        var used = [embedding] + (config.tiedEmbeddings ? [] : [output])
        for layer in layers {
            if let a = layer.attention { used += [a.q, a.k, a.v, a.o] }
            if let m = layer.mlp { used += [m.gate, m.up, m.down] }
        }
        let total = used.reduce(0) { $0 + $1.float32Bytes }
        cachesFloat32 = total <= options.float32CacheBudget
        if cachesFloat32 {
            for m in used { m.cacheFloat32(pool: pool) }
            scratchFloats = 0
        } else {
            scratchFloats = used.map { $0.rows * $0.cols }.max() ?? 0
        }
    }

    /// The same model with more sublayers removed, sharing all weights (no reload): how iterative
    /// dropping re-scores a model after each removal.
    public func removing(_ removals: LayerPlan) throws -> LlamaModel {
        guard removals.layerCount == config.layerCount else {
            throw ModelError.invalidPlan("it describes \(removals.layerCount) layers but the model has \(config.layerCount)")
        }
        return LlamaModel(base: self, plan: plan.intersected(with: removals))
    }

    private init(base: LlamaModel, plan: LayerPlan) {
        file = base.file
        config = base.config
        self.plan = plan
        tokenizer = base.tokenizer
        pool = base.pool
        cachesFloat32 = base.cachesFloat32
        layers = base.layers.enumerated().map { l, layer in
            LayerWeights(attention: plan.attention[l] ? layer.attention : nil, mlp: plan.mlp[l] ? layer.mlp : nil)
        }
        embedding = base.embedding
        output = base.output
        outputNorm = base.outputNorm
        inverseFrequencies = base.inverseFrequencies
        scratchFloats = base.scratchFloats
    }

    public var vocabularySize: Int { config.vocabularySize }
    public var hiddenSize: Int { config.hiddenSize }
    public var layerCount: Int { config.layerCount }

    /// KV-cache bytes per token for this model's plan.
    public var kvCacheBytesPerToken: Int { config.kvCacheBytesPerToken(plan: plan) }

    /// Runs whole sequences independently (no cache) in one batched pass and returns logits for the
    /// selected positions: `.all` → [Σ Tₛ, V] in sequence order; `.last` → [S, V]; `.none` → [0, V].
    public func forward(_ sequences: [[Int]], logits: LogitSelection = .all, observer: ForwardObserver? = nil) throws -> Matrix {
        var segments: [Segment] = []
        var row = 0
        for s in sequences {
            guard !s.isEmpty else { continue }
            segments.append(Segment(row: row, count: s.count, position: 0))
            row += s.count
        }
        return try run(tokens: sequences.flatMap { $0 }, segments: segments, cache: nil, logits: logits, observer: observer)
    }

    /// A fresh KV cache able to hold `capacity` tokens (the context length at most).
    public func makeCache(capacity: Int) throws -> KVCache {
        guard capacity <= config.contextLength else { throw ModelError.contextOverflow(tokens: capacity, contextLength: config.contextLength) }
        return KVCache(config: config, plan: plan, capacity: capacity)
    }

    /// Appends `tokens` to a cached sequence and returns logits for the selected positions.
    public func forward(appending tokens: [Int], to cache: KVCache, logits: LogitSelection = .last, observer: ForwardObserver? = nil) throws -> Matrix {
        guard cache.count + tokens.count <= cache.capacity else {
            throw ModelError.contextOverflow(tokens: cache.count + tokens.count, contextLength: cache.capacity)
        }
        let segments = tokens.isEmpty ? [] : [Segment(row: 0, count: tokens.count, position: cache.count)]
        let out = try run(tokens: tokens, segments: segments, cache: cache, logits: logits, observer: observer)
        cache.count += tokens.count
        return out
    }

    struct Segment {
        /// First row of this sequence in the batch, token count, position of its first token.
        let row: Int, count: Int, position: Int
    }

    private func run(tokens: [Int], segments: [Segment], cache: KVCache?, logits: LogitSelection, observer: ForwardObserver?) throws -> Matrix {
        let V = config.vocabularySize
        for t in tokens where !(0..<V).contains(t) { throw ModelError.tokenOutOfRange(token: t, vocabularySize: V) }
        for s in segments where s.position + s.count > config.contextLength {
            throw ModelError.contextOverflow(tokens: s.position + s.count, contextLength: config.contextLength)
        }
        let R = tokens.count
        guard R > 0 else { return Matrix(rows: 0, cols: V) }
        let ws = Workspace(model: self, rows: R, segments: segments, cache: cache)
        defer { ws.deallocate() }
        let D = config.hiddenSize
        let x = ws.x

        // x: [R, D] ← token embeddings
        for (r, t) in tokens.enumerated() { embedding.row(t, into: x + r * D) }
        ropeTables(ws, segments)

        func observe(_ p: HookPoint, _ l: Int, _ v: UnsafeMutablePointer<Float>, width: Int = D) {
            if let o = observer, o.points.contains(p) { o.observe(p, layer: l, values: v, rows: R, width: width) }
        }

        for (l, layer) in layers.enumerated() {
            observe(.blockIn, l, x)
            if let a = layer.attention {
                Kernels.rmsNorm(x, a.norm, ws.xn, rows: R, dim: D, eps: config.normEpsilon)   // xn = Norm₁(x)
                observe(.attnIn, l, ws.xn)
                attention(a, layer: l, ws, segments, cache)                                  // proj = Attn(xn)
                observe(.attnOut, l, ws.proj)
                Kernels.add(x, ws.proj, R * D)                                               // x += proj
            }
            observe(.attnResidual, l, x)
            if let m = layer.mlp {
                Kernels.rmsNorm(x, m.norm, ws.xn, rows: R, dim: D, eps: config.normEpsilon)   // xn = Norm₂(x)
                observe(.mlpIn, l, ws.xn)
                let F = m.gate.rows
                m.gate.apply(ws.xn, m: R, ws.gate, scratch: ws.weights, pool: pool)          // gate: [R, F]
                m.up.apply(ws.xn, m: R, ws.up, scratch: ws.weights, pool: pool)              // up: [R, F]
                Kernels.siluMul(ws.gate, ws.up, R * F)                                       // gate = silu(gate) ⊙ up
                m.down.apply(ws.gate, m: R, ws.proj, scratch: ws.weights, pool: pool)        // proj: [R, D]
                observe(.mlpOut, l, ws.proj)
                Kernels.add(x, ws.proj, R * D)                                               // x += proj
            }
            observe(.blockOut, l, x)
        }

        let rows: [Int]
        switch logits {
        case .none: return Matrix(rows: 0, cols: V)
        case .all: rows = Array(0..<R)
        case .last: rows = segments.map { $0.row + $0.count - 1 }
        }
        // Gather the selected rows, normalise, project onto the vocabulary: [rows, V].
        for (i, r) in rows.enumerated() { (ws.xn + i * D).update(from: x + r * D, count: D) }
        Kernels.rmsNorm(ws.xn, outputNorm, x, rows: rows.count, dim: D, eps: config.normEpsilon)
        var out = Matrix(rows: rows.count, cols: V)
        out.storage.withUnsafeMutableBufferPointer { o in
            output.apply(x, m: rows.count, o.baseAddress!, scratch: ws.weights, pool: pool)
        }
        return out
    }

    /// cos/sin of every row's RoPE angles: [R, d/2] each.
    private func ropeTables(_ ws: Workspace, _ segments: [Segment]) {
        let half = inverseFrequencies.count
        for s in segments {
            for t in 0..<s.count {
                let pos = Double(s.position + t) / config.rope.linearFactor
                let r = s.row + t
                for i in 0..<half {
                    let angle = pos * inverseFrequencies[i]
                    ws.cos[r * half + i] = Float(Foundation.cos(angle))
                    ws.sin[r * half + i] = Float(Foundation.sin(angle))
                }
            }
        }
    }

    /// proj = Attn(xn) for one layer: Q/K/V projections, RoPE, causal softmax(QKᵀ/√Dh)·V per head
    /// (query head h reads key/value head h / (H/G)), output projection.
    private func attention(_ a: AttentionWeights, layer l: Int, _ ws: Workspace, _ segments: [Segment], _ cache: KVCache?) {
        let R = ws.rows, Dh = config.headDim
        let (H, G) = (a.heads, a.kvHeads)
        let qw = H * Dh, kw = G * Dh
        let half = inverseFrequencies.count
        a.q.apply(ws.xn, m: R, ws.q, scratch: ws.weights, pool: pool)   // q: [R, H·Dh]
        a.k.apply(ws.xn, m: R, ws.k, scratch: ws.weights, pool: pool)   // k: [R, G·Dh]
        a.v.apply(ws.xn, m: R, ws.v, scratch: ws.weights, pool: pool)   // v: [R, G·Dh]
        Kernels.rope(ws.q, rows: R, heads: H, headDim: Dh, cos: ws.cos, sin: ws.sin, halfDims: half)
        Kernels.rope(ws.k, rows: R, heads: G, headDim: Dh, cos: ws.cos, sin: ws.sin, halfDims: half)

        let scale = 1 / Float(Dh).squareRoot()
        for s in segments {
            // Keys/values visible to this sequence: the cache (after appending), or its own rows.
            let keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>
            if let cache, let ck = cache.keys[l], let cv = cache.values[l] {
                (ck + s.position * kw).update(from: ws.k + s.row * kw, count: s.count * kw)
                (cv + s.position * kw).update(from: ws.v + s.row * kw, count: s.count * kw)
                (keys, values) = (ck, cv)
            } else {
                (keys, values) = (ws.k + s.row * kw, ws.v + s.row * kw)
            }
            let start = cache == nil ? 0 : s.position   // position of this call's first query among the keys
            // Queries go in tiles so that each tile only multiplies against the keys it can see.
            // Heads run in parallel on the pool with single-threaded BLAS calls: these products are
            // too small for BLAS's own threads to pay.
            BLAS.setThreads(1)
            defer { BLAS.setThreads(pool.threads) }
            for t0 in stride(from: 0, to: s.count, by: Workspace.queryTile) {
                let T = min(s.count - t0, Workspace.queryTile), L = start + t0 + T
                let q = ws.q + (s.row + t0) * qw, out = ws.attn + (s.row + t0) * qw
                pool.forEachChunk(H) { heads in
                    for h in heads {
                        let g = h / (H / G), scores = ws.scores + h * ws.scoresPerHead
                        // scores: [T, L] = q_h · k_gᵀ / √Dh
                        BLAS.gemm(q + h * Dh, lda: qw, keys + g * Dh, ldb: kw, transB: true,
                                  scores, ldc: L, m: T, n: L, k: Dh, alpha: scale)
                        for t in 0..<T {
                            let row = scores + t * L, visible = start + t0 + t + 1
                            Kernels.softmax(row, visible)
                            (row + visible).update(repeating: 0, count: L - visible)
                        }
                        // out_h: [T, Dh] = scores · v_g
                        BLAS.gemm(scores, lda: L, values + g * Dh, ldb: kw, out + h * Dh, ldc: qw, m: T, n: Dh, k: L)
                    }
                }
            }
        }
        a.o.apply(ws.attn, m: R, ws.proj, scratch: ws.weights, pool: pool)  // proj: [R, D]
    }
}

/// Scratch buffers of one forward call, allocated once per call (none inside the token loop).
final class Workspace {
    /// Queries per attention tile.
    static let queryTile = 128
    let rows: Int
    /// Floats of attention scores each head owns (one query tile × all visible keys).
    let scoresPerHead: Int
    let x, xn, proj, q, k, v, attn, gate, up, scores, cos, sin: UnsafeMutablePointer<Float>
    let weights: UnsafeMutablePointer<Float>?
    private var all: [UnsafeMutablePointer<Float>] = []

    init(model: LlamaModel, rows R: Int, segments: [LlamaModel.Segment], cache: KVCache?) {
        let c = model.config
        rows = R
        let maxQ = (c.heads.max() ?? 0) * c.headDim, maxKV = (c.kvHeads.max() ?? 0) * c.headDim
        let maxF = c.ffnLength.max() ?? 0
        let maxT = segments.map(\.count).max() ?? 0
        let maxL = segments.map { (cache == nil ? 0 : $0.position) + $0.count }.max() ?? 0
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
        scoresPerHead = min(maxT, Self.queryTile) * maxL
        scores = buf((c.heads.max() ?? 1) * scoresPerHead)
        cos = buf(R * model.inverseFrequencies.count); sin = buf(R * model.inverseFrequencies.count)
        weights = model.scratchFloats > 0 ? buf(model.scratchFloats, zeroed: false) : nil
        self.all = all
    }

    func deallocate() { all.forEach { $0.deallocate() } }
}
