// The `llm-drop` command: lists the subcommands; each lives in its own file.
import ArgumentParser
import Foundation
import LLMFormats
import LLMModels
import LLMTensor

@main
struct LLMDropCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm-drop",
        abstract: "Find and remove redundant attention, MLP and block layers of transformer language models.",
        discussion: """
            Method: "What Matters in Transformers? Not All Attention is Needed" (He et al., 2024). \
            MODEL is a GGUF file of a supported family: Llama (also SmolLM, Mistral), Gemma 3, Qwen2/Qwen2.5, Qwen3.
            """,
        subcommands: [Inspect.self, Tokenize.self, Generate.self, Perplexity.self, Bench.self, Score.self, Drop.self, Convert.self, KLD.self, Needle.self, Sweep.self, RunAll.self, Eval.self, Synth.self]
    )

    /// Restarts once with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to generic kernels (see
    /// `BLAS.betterCoreType`); everything else is argument parsing as usual.
    static func main() {
        if let core = BLAS.betterCoreType {
            setenv("OPENBLAS_CORETYPE", core, 1)
            let args = CommandLine.arguments.map { strdup($0) } + [nil]
            execv("/proc/self/exe", args)
            // execv returned: keep going with the slower kernels.
        }
        Interrupts.install()
        LanguageModel.layerProgress = { layer, layers in ProgressBar.pass?.layer(layer, of: layers) }
        main(nil)
    }
}

/// Ctrl-C or a termination request stops any job at once — a forward pass of a large model can take
/// longer than a user should wait — with a message; the temporary files of outputs being written are
/// removed, so no partial output remains (finished outputs were renamed into place whole). A write
/// beyond the file-size limit fails with an error instead of killing the process (SIGXFSZ ignored).
enum Interrupts {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    static func install() {
        signal(SIGXFSZ, SIG_IGN)
        for (sig, name) in [(SIGINT, "interrupted"), (SIGTERM, "terminated")] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                AtomicOutput.removeAllInProgress()
                FileHandle.standardError.write(Data("\nllm-drop: \(name); stopped, no partial output left\n".utf8))
                _exit(128 + sig)
            }
            source.resume()
            sources.append(source)
        }
    }
}
