// What every fuzz target shares: the libFuzzer driver call, property checks that crash loudly (so
// libFuzzer saves the input), inputs written to a file for readers that take a path, and the real
// models' tokenizers, loaded once per process.
import CFuzzDriver
import Foundation
import LLMFormats
import LLMTokenizer

/// libFuzzer's callback type: `LLVMFuzzerTestOneInput`.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer with the process's arguments and `body` as the target; exits with its status.
/// (SwiftPM renames an executable's `main` on Linux, so libFuzzer's own `main` is never linked in.)
public func fuzzMain(_ body: FuzzTarget) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, body))
}

/// A property the code under test promises does not hold: report it and abort, which libFuzzer
/// records as a crash (the input is saved as `crash-…`).
public func fuzzFail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    FileHandle.standardError.write(Data("\n==FUZZ== property violated at \(file):\(line): \(message)\n".utf8))
    abort()
}

@inline(__always)
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fuzzFail(message(), file: file, line: line) }
}

/// Keeps a computed value alive so the optimiser cannot drop the reads that made it.
@inline(never)
public func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

/// The input bytes as `Data` (a copy).
public func inputData(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Data {
    guard let data, size > 0 else { return Data() }
    return Data(bytes: data, count: size)
}

/// A file of this process that holds the current input, for readers that only take a path; in
/// /dev/shm when it exists (no disk writes), rewritten for every input.
public enum InputFile {
    private static let folder: String = {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDir), isDir.boolValue,
           access("/dev/shm", W_OK) == 0 {
            return "/dev/shm"
        }
        return NSTemporaryDirectory()
    }()

    /// Writes the input to this process's file named `name` and returns its path.
    public static func write(_ data: UnsafePointer<UInt8>?, _ size: Int, name: String) -> String {
        let path = "\(folder)/llmdrop-fuzz-\(getpid())-\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fuzzFail("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var done = 0
        while done < size, let data {
            let n = Foundation.write(fd, data + done, size - done)
            guard n > 0 else { fuzzFail("cannot write \(path): \(String(cString: strerror(errno)))") }
            done += n
        }
        return path
    }
}

/// The tokenizers of the two real models (scripts/fetch-models.sh smollm2 gemma3), loaded once.
/// The folder is $LLM_DROP_HOME/models (default ~/.cache/llm-drop/models).
public enum RealTokenizers {
    public static let modelFolder: String = {
        let env = ProcessInfo.processInfo.environment
        let home = env["LLM_DROP_HOME"] ?? (NSHomeDirectory() + "/.cache/llm-drop")
        return home + "/models"
    }()

    /// SmolLM2-135M-Instruct: byte-level BPE, "smollm" pre-tokenizer.
    public static let smollm2: any Tokenizer = load("SmolLM2-135M-Instruct.Q4_1.gguf")
    /// Gemma 3 270M: SentencePiece, 262k tokens, byte fallback.
    public static let gemma3: any Tokenizer = load("gemma-3-270m-q4_k_m.gguf")

    private static func load(_ name: String) -> any Tokenizer {
        let path = modelFolder + "/" + name
        do {
            return try loadTokenizer(from: GGUFFile(path: path))
        } catch {
            FileHandle.standardError.write(Data("fuzz: cannot load the tokenizer of \(path): \(error); run scripts/fetch-models.sh smollm2 gemma3\n".utf8))
            exit(2)
        }
    }
}
