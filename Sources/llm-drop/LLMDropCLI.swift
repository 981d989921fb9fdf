// The `llm-drop` command: lists the subcommands; each lives in its own file.
import ArgumentParser

@main
struct LLMDropCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm-drop",
        abstract: "Find and remove redundant attention, MLP and block layers of transformer language models.",
        discussion: """
            Method: "What Matters in Transformers? Not All Attention is Needed" (He et al., 2024). \
            MODEL is a GGUF file of a Llama-architecture model.
            """,
        subcommands: [Inspect.self, Tokenize.self, Generate.self, Perplexity.self]
    )
}
