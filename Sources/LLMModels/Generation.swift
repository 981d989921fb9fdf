// Text generation with a KV cache: greedy by default, or temperature / nucleus (top-p) sampling from
// a seeded generator so that runs repeat exactly.
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
        let m = logits.max() ?? 0
        var probs = logits.map { Double(Foundation.exp(($0 - m) / options.temperature)) }
        let total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        var order = Array(probs.indices)
        if options.topP < 1 {
            order.sort { probs[$0] > probs[$1] }
            var mass = 0.0, keep = 0
            while keep < order.count && mass < Double(options.topP) { mass += probs[order[keep]]; keep += 1 }
            order = Array(order.prefix(max(keep, 1)))
        }
        let kept = order.reduce(0) { $0 + probs[$1] }
        var u = Double.random(in: 0..<1, using: &rng) * kept
        for i in order {
            u -= probs[i]
            if u < 0 { return i }
        }
        return order.last!
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
}
