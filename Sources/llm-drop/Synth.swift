// `llm-drop synth --like NAME --type T --output FILE [--tokenizer-from MODEL] [--seed N]`: a GGUF of exactly a
// named model's shape with seeded random weights (SyntheticModel), for measuring speed and memory at sizes
// that cannot be downloaded. Streamed to disk; refused before writing when the disk cannot hold it.
import ArgumentParser
import Foundation
import LLMFormats
import LLMTensor

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a GGUF with the exact shape of a named model and seeded random weights (for speed and memory measurements).",
        discussion: """
            Shapes: \(SyntheticShapes.names.joined(separator: ", ")). Weights ≈ N(0, 0.02), RMSNorm weights 1; \
            the file is marked general.synthetic = true (`inspect` shows it). Without --tokenizer-from the tokenizer \
            is byte-level (one token per byte), padded with unused tokens to the vocabulary size.
            """)

    @Option(help: "The model whose shape to copy (\(SyntheticShapes.names.joined(separator: ", "))).")
    var like: String

    @Option(help: "Type of the weight matrices: Q4_0, Q4_K, Q8_0, F16, BF16 or F32 (1-D tensors are F32; a matrix whose rows are not whole blocks F16).")
    var type: String = "Q4_0"

    @Option(help: "Copy the tokenizer of this model (GGUF or Hugging Face folder); its vocabulary must fit the shape's, and is padded with unused tokens.")
    var tokenizerFrom: String?

    @Option(help: "The new GGUF file.")
    var output: String

    @Option(help: "Seed of the weights.")
    var seed: UInt64 = 1

    @Option(help: "Threads generating and encoding weights (default: number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @OptionGroup var outputOptions: OutputOptions

    func ggmlType() throws -> GGMLType {
        guard let t = SyntheticModel.types.first(where: { $0.description == type.uppercased() }) else {
            throw SyntheticModelError.unsupportedType(type, supported: SyntheticModel.types.map(\.description))
        }
        return t
    }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func run() throws {
        let start = ContinuousClock.now
        let shape = try SyntheticShapes.named(like)
        let type = try ggmlType()
        let tokenizerSource = try tokenizerFrom.map { try ModelSources.open(path: $0) }
        let model = try SyntheticModel(shape: shape, type: type, seed: seed, tokenizerFrom: tokenizerSource)
        Log.info("writing a synthetic \(shape.name) (\(Format.count(shape.parameterCount)) parameters, \(type)) to \(output)")
        let bar = ProgressBar("synth \(shape.name)", total: 1000)
        let summary = try model.write(to: output, threads: threads, progress: { done, total in bar.update(done * 1000 / max(total, 1)) })
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        Log.info("wrote \(output) in \(String(format: "%.1f s", seconds))")
        if outputOptions.json {
            try printJSON([
                "output": output, "like": shape.name, "type": type.description, "seed": Int(truncatingIfNeeded: seed),
                "bytes": summary.bytes, "tensors": summary.tensors, "parameters": summary.parameters,
                "tokenizer": tokenizerFrom ?? "byte-level", "seconds": seconds,
            ])
        } else {
            print("wrote \(output): synthetic \(shape.name), \(Format.count(summary.parameters)) parameters, \(type), \(Format.bytes(summary.bytes)), \(summary.tensors) tensors, seed \(seed)")
        }
    }
}
