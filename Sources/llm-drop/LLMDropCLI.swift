// The `llm-drop` command: lists the subcommands; each lives in its own file.
import ArgumentParser
import Foundation
import LLMTensor

@main
struct LLMDropCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm-drop",
        abstract: "Find and remove redundant attention, MLP and block layers of transformer language models.",
        discussion: """
            Method: "What Matters in Transformers? Not All Attention is Needed" (He et al., 2024). \
            MODEL is a GGUF file of a Llama-architecture model.
            """,
        subcommands: [Inspect.self, Tokenize.self, Generate.self, Perplexity.self, Bench.self, Score.self, Drop.self, KLD.self, RunAll.self, Eval.self]
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
        main(nil)
    }
}
