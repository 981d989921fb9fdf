// `llm-drop generate MODEL --prompt TEXT`: greedy (default) or sampled continuation, streamed to stdout.
import ArgumentParser
import Foundation
import LLMModels
import LLMTokenizer

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a prompt (greedy by default), streaming the text.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The prompt text.")
    var prompt: String

    @Option(help: "Tokens to generate (0 generates nothing).")
    var maxTokens = 64

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(help: "Nucleus sampling: keep the most likely tokens up to this probability mass.")
    var topP: Float = 1

    @Option(help: "Seed of the sampler.")
    var seed: UInt64 = 0

    @Option(help: "Report the K largest logits at the last prompt position.")
    var topLogits = 0

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be 0 or more (got \(maxTokens))") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be 0 (greedy) or positive (got \(temperature))") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1] (got \(topP))") }
        guard topLogits >= 0 else { throw ValidationError("--top-logits must be 0 or more (got \(topLogits))") }
    }

    func run() throws {
        let model = try modelOptions.load()
        let ids = model.tokenizer.encode(prompt, addSpecialTokens: true)
        guard ids.count + maxTokens <= model.config.contextLength else {
            throw ModelError.contextOverflow(tokens: ids.count + maxTokens, contextLength: model.config.contextLength)
        }
        let generator = Generator(model: model, sampling: SamplingOptions(temperature: temperature, topP: topP, seed: seed))
        var decoder = StreamingDecoder(tokenizer: model.tokenizer)
        var text = ""
        let result = try generator.generate(prompt: ids, maxTokens: maxTokens) { id in
            let piece = decoder.push(id)
            text += piece
            if !output.json {
                FileHandle.standardOutput.write(Data(piece.utf8))
            }
        }
        let tail = decoder.finish()
        text += tail
        let top = Self.top(result.promptLogits, k: min(topLogits, model.vocabularySize))
        let decodeRate = result.generated.count > 1 ? Double(result.generated.count - 1) / result.decodeSeconds : 0
        if output.json {
            try printJSON([
                "prompt_ids": ids,
                "top_logits": top.map { ["id": $0.id, "logit": Double($0.logit)] },
                "text": text,
                "generated_ids": result.generated,
                "prefill_tokens_per_second": Double(ids.count) / result.prefillSeconds,
                "decode_tokens_per_second": decodeRate,
            ])
        } else {
            // Same unbuffered handle as the streamed pieces, so the text ends before the log line.
            FileHandle.standardOutput.write(Data((tail + "\n").utf8))
            for t in top {
                let piece = model.tokenizer.decode([t.id], special: true)
                print(String(format: "%8d  %10.4f  %@", t.id, t.logit, piece.debugDescription))
            }
        }
        Log.info(String(format: "prompt %d tokens, prefill %.1f tok/s; generated %d tokens, decode %.1f tok/s",
                        ids.count, Double(ids.count) / result.prefillSeconds, result.generated.count, decodeRate))
    }

    static func top(_ logits: [Float], k: Int) -> [(id: Int, logit: Float)] {
        guard k > 0 else { return [] }
        return logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            .prefix(k).map { ($0, logits[$0]) }
    }
}
