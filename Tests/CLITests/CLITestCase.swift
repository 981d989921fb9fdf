// What every command-line test needs: a temporary folder per test, the llm-drop binary built beside
// the test bundle, a run that collects stdout and stderr together (read concurrently, so a chatty
// stderr cannot fill its pipe and stall the child), and the checks for JSON output and for failures.
import Foundation
import TestSupport
import XCTest

class CLITestCase: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    struct Run { let status: Int32; let stdout: String; let stderr: String }

    /// The llm-drop binary built beside this test bundle (skips the test when there is none).
    func binary() throws -> URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("llm-drop")
        let exe = FileManager.default.isExecutableFile(atPath: beside.path) ? beside : Bundle.main.bundleURL.appendingPathComponent("llm-drop")
        guard FileManager.default.isExecutableFile(atPath: exe.path) else { throw XCTSkip("llm-drop binary not found beside the tests (\(exe.path))") }
        return exe
    }

    func run(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let (o, e) = readBoth(out, err)
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func json(_ r: Run) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
    }

    func json(_ args: [String]) throws -> [String: Any] { try json(run(args)) }

    /// A failure: non-zero exit, a sentence containing `phrase`, no crash report.
    @discardableResult
    func assertFails(_ args: [String], mentioning phrase: String, file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        let r = try run(args)
        XCTAssertNotEqual(r.status, 0, "\(args) should fail", file: file, line: line)
        XCTAssertLessThan(r.status, 128, "\(args) crashed (signal)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(phrase), "\(args): stderr was \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("Stack dump"), r.stderr, file: file, line: line)
        return r
    }
}
