// Locations of the real models (fetched by `make test`; a missing one skips the test with a message
// saying how to get it) and of the reference figures and data committed under Tests/Fixtures.
import Foundation
import XCTest

public enum TestPaths {
    /// The repository root (this file is Tests/TestSupport/TestSupport.swift).
    public static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Reference figures and data committed with the tests (Tests/Fixtures/README.md says where each came from).
    public static let fixtures: URL = repoRoot.appendingPathComponent("Tests/Fixtures")

    public static var home: URL {
        if let h = ProcessInfo.processInfo.environment["LLM_DROP_HOME"], !h.isEmpty { return URL(fileURLWithPath: h) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/llm-drop")
    }

    /// The default model (SmolLM2-135M-Instruct Q4_1), fetched by `make test` / `scripts/fetch-models.sh`.
    public static func smollm2() throws -> String {
        try model("SmolLM2-135M-Instruct.Q4_1.gguf", fetch: "smollm2")
    }

    /// Gemma 3 270M Q4_K_M (SentencePiece tokenizer, K-quants).
    public static func gemma3() throws -> String {
        try model("gemma-3-270m-q4_k_m.gguf", fetch: "gemma3")
    }

    static func model(_ file: String, fetch: String) throws -> String {
        let path = home.appendingPathComponent("models").appendingPathComponent(file).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("model \(file) not found at \(path); run `scripts/fetch-models.sh \(fetch)` (make test does this)")
        }
        return path
    }

    /// A committed fixture file; a missing one is a broken checkout, so it fails the test rather than skipping it.
    public static func fixture(_ relative: String) throws -> URL {
        let url = fixtures.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else { throw MissingFixture(path: url.path) }
        return url
    }

    public static func json(_ url: URL) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }
}

public struct MissingFixture: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "test fixture \(path) is missing from the checkout; restore Tests/Fixtures from git" }
}

/// Relative L2 error ‖a − b‖ / ‖b‖ in Float64.
public func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var num = 0.0, den = 0.0
    for i in a.indices {
        let d = Double(a[i]) - Double(b[i])
        num += d * d
        den += Double(b[i]) * Double(b[i])
    }
    return (num / max(den, .leastNormalMagnitude)).squareRoot()
}

/// Reads a child process's stdout and stderr to their ends at once: either pipe may fill (and stall the
/// child) while the other is being read.
public func readBoth(_ out: Pipe, _ err: Pipe) -> (stdout: Data, stderr: Data) {
    nonisolated(unsafe) var o = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { o = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let e = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    return (o, e)
}
