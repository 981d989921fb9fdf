// Text generation with a KV cache: greedy by default, or temperature / nucleus (top-p) sampling from
// a seeded generator so that runs repeat exactly. Several sequences decode together: one batched
// forward pass per step for all of them, each with its own cache, sampler and stopping.
import LLMTensor
import Foundation

public struct SamplingOptions: Sendable {
    /// 0 = greedy (argmax).
    public var temperature: Float
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches topP.
    public var topP: Float
    public var seed: UInt64

    public init(temperature: Float = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
    }
}

public struct Sampler {
    public let options: SamplingOptions
    private var rng: SeededGenerator

    public init(_ options: SamplingOptions) {
        self.options = options
        rng = SeededGenerator(seed: options.seed)
    }

    public mutating func sample(_ logits: ArraySlice<Float>) -> Int {
        let base = logits.startIndex
        if options.temperature <= 0 {
            var best = base
            for i in logits.indices where logits[i] > logits[best] { best = i }
            return best - base
        }
        // p = e^((x − max) / T), normalised by their sum in index order: the draw depends on every bit.
        let n = logits.count
        var probs = [Double](repeating: 0, count: n), total = 0.0
        logits.withUnsafeBufferPointer { x in
            let m = n > 0 ? Kernels.maximum(x.baseAddress!, n) : 0
            for i in 0..<n {
                probs[i] = Double(Foundation.exp((x[i] - m) / options.temperature))
                total += probs[i]
            }
        }
        for i in 0..<n { probs[i] /= total }
        guard options.topP < 1 else { return draw(probs, from: 0..<n) }
        var order = Array(probs.indices)
        order.sort { probs[$0] > probs[$1] }
        var mass = 0.0, keep = 0
        while keep < order.count && mass < Double(options.topP) { mass += probs[order[keep]]; keep += 1 }
        return draw(probs, from: order.prefix(max(keep, 1)))
    }

    /// One token of `kept`, with probability proportional to probs (u ∈ [0, Σ kept) walked down in order).
    private mutating func draw<C: BidirectionalCollection<Int>>(_ probs: [Double], from kept: C) -> Int {
        let mass = kept.reduce(0) { $0 + probs[$1] }
        var u = Double.random(in: 0..<1, using: &rng) * mass
        for i in kept {
            u -= probs[i]
            if u < 0 { return i }
        }
        return kept.last!
    }
}

public struct GenerationResult: Sendable {
    public var promptTokens: [Int]
    public var generated: [Int]
    /// Logits at the last prompt position.
    public var promptLogits: [Float]
    public var prefillSeconds: Double
    public var decodeSeconds: Double
}

public struct Generator {
    public let model: LanguageModel
    public var sampling: SamplingOptions

    public init(model: LanguageModel, sampling: SamplingOptions = SamplingOptions()) {
        self.model = model
        self.sampling = sampling
    }

    /// Prefills `prompt`, then generates up to `maxTokens` tokens, stopping early at EOS when
    /// `stopAtEOS`. `onToken` sees each new token as it is produced (for streaming).
    public func generate(prompt: [Int], maxTokens: Int, stopAtEOS: Bool = true,
                         onToken: (Int) -> Void = { _ in }) throws -> GenerationResult {
        guard !prompt.isEmpty else { throw ModelError.emptyPrompt }
        let capacity = prompt.count + maxTokens
        let cache = try model.makeCache(capacity: capacity)
        let clock = ContinuousClock()
        var sampler = Sampler(sampling)
        let t0 = clock.now
        var logits = try model.forward(appending: prompt, to: cache, logits: .last).storage
        let promptLogits = logits
        let t1 = clock.now
        var out: [Int] = []
        while out.count < maxTokens {
            let next = sampler.sample(logits[...])
            out.append(next)
            onToken(next)
            if stopAtEOS, next == model.tokenizer.eosID { break }
            if out.count == maxTokens { break }
            logits = try model.forward(appending: [next], to: cache, logits: .last).storage
        }
        let t2 = clock.now
        return GenerationResult(promptTokens: prompt, generated: out, promptLogits: promptLogits,
                                prefillSeconds: (t1 - t0) / .seconds(1), decodeSeconds: (t2 - t1) / .seconds(1))
    }

    /// Generates from several prompts at once: all prompts prefill in one batched pass, then every step
    /// decodes the unfinished sequences together. Sequence i samples with this generator's options and
    /// seed `seeds[i]` (default: the options' seed + i). `onStep` sees (tokens generated so far, maxTokens).
    public func generate(prompts: [[Int]], maxTokens: Int, seeds: [UInt64]? = nil, stopAtEOS: Bool = true,
                         onStep: (Int, Int) -> Void = { _, _ in }) throws -> [GenerationResult] {
        guard !prompts.isEmpty else { return [] }
        guard prompts.allSatisfy({ !$0.isEmpty }) else { throw ModelError.emptyPrompt }
        let seeds = seeds ?? prompts.indices.map { sampling.seed &+ UInt64($0) }
        guard seeds.count == prompts.count else { throw ModelError.invalidOption("\(seeds.count) seeds for \(prompts.count) prompts") }
        let caches = try prompts.map { try model.makeCache(capacity: $0.count + maxTokens) }
        var samplers = seeds.map { Sampler(SamplingOptions(temperature: sampling.temperature, topP: sampling.topP, seed: $0)) }
        let clock = ContinuousClock()
        let t0 = clock.now
        var logits = try model.forward(appending: prompts, to: caches, logits: .last)
        let promptLogits = (0..<prompts.count).map { Array(logits.row($0)) }
        let t1 = clock.now
        var out = [[Int]](repeating: [], count: prompts.count)
        var active = Array(prompts.indices)   // sequence of each row of `logits`
        var step = 0
        while !active.isEmpty && step < maxTokens {
            // Each sequence draws from its own sampler, so the rows can sample on the pool's threads.
            var next = [Int](repeating: 0, count: active.count)
            samplers.withUnsafeMutableBufferPointer { s in
                next.withUnsafeMutableBufferPointer { drawn in
                    model.pool.forEachChunk(active.count) { rows in
                        for row in rows { drawn[row] = s[active[row]].sample(logits.row(row)) }
                    }
                }
            }
            for (row, i) in active.enumerated() { out[i].append(next[row]) }
            step += 1
            onStep(step, maxTokens)
            let keep = active.indices.filter { !(stopAtEOS && next[$0] == model.tokenizer.eosID) && step < maxTokens }
            active = keep.map { active[$0] }
            guard !active.isEmpty else { break }
            logits = try model.forward(appending: keep.map { [next[$0]] }, to: active.map { caches[$0] }, logits: .last)
        }
        let t2 = clock.now
        return prompts.indices.map {
            GenerationResult(promptTokens: prompts[$0], generated: out[$0], promptLogits: promptLogits[$0],
                             prefillSeconds: (t1 - t0) / .seconds(1), decodeSeconds: (t2 - t1) / .seconds(1))
        }
    }
}
