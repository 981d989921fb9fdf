// `llm-drop tokenize MODEL TEXT`: the token ids the model's tokenizer gives.
import ArgumentParser
import LLMFormats
import LLMTokenizer

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text.")

    @Argument(help: "A GGUF model file, or a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json).")
    var model: String

    @Argument(help: "The text to tokenize.")
    var text: String

    @Flag(help: "Add no BOS/EOS even where the model adds them by default.")
    var noSpecial = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let tokenizer = try loadTokenizer(from: ModelSources.open(path: model))
        let ids = tokenizer.encode(text, addSpecialTokens: !noSpecial)
        if output.json {
            try printJSON(["ids": ids])
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}
