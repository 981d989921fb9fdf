// decode-speed MODEL [TOKENS] [THREADS]: loads a GGUF file or Hugging Face folder through LLMDropKit,
// greedily decodes TOKENS tokens (default 64) after a short prompt and prints one JSON line: the kernel
// set in use, the decode speed and the generated text.
import Foundation
import LLMFormats
import LLMModels
import LLMTensor

let args = CommandLine.arguments
guard args.count >= 2, args.count <= 4 else {
    FileHandle.standardError.write(Data("usage: decode-speed MODEL [TOKENS] [THREADS]\n".utf8))
    exit(2)
}
let tokens = args.count > 2 ? Int(args[2]) ?? 0 : 64
let threads = args.count > 3 ? Int(args[3]) ?? 0 : ProcessInfo.processInfo.activeProcessorCount
guard tokens > 0, threads > 0 else {
    FileHandle.standardError.write(Data("decode-speed: TOKENS and THREADS must be positive integers\n".utf8))
    exit(2)
}
do {
    let model = try LanguageModel(source: try ModelSources.open(path: args[1]), options: LoadOptions(threads: threads))
    let prompt = model.tokenizer.encode("The capital of France is", addSpecialTokens: true)
    let result = try Generator(model: model).generate(prompt: prompt, maxTokens: tokens, stopAtEOS: false)
    let report: [String: Any] = [
        "kernels": KernelSet.active,
        "threads": threads,
        "tokens": result.generated.count,
        "decode_tokens_per_second": Double(result.generated.count - 1) / result.decodeSeconds,
        "text": model.tokenizer.decode(result.generated, special: false),
    ]
    print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("decode-speed: \(error)\n".utf8))
    exit(1)
}
