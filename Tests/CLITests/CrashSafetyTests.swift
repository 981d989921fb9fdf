// Outputs survive crashes: a child `llm-drop drop --output` killed (SIGKILL) at moments spread over its run leaves the
// destination with its previous contents or the whole new file, never a partial one, and the next run
// removes the killed run's temporary file; a file-size limit (a full disk) gives a clear error and
// removes the temporary file; Ctrl-C (SIGINT) stops a long job within a second with a message and no
// partial output.
import Foundation
import LLMFormats
import TestSupport
import XCTest

final class CrashSafetyTests: CLITestCase {
    func start(_ args: [String], shell: String? = nil) throws -> (Process, Pipe) {
        let p = Process()
        if let shell {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", shell + " \"$0\" \"$@\"", try binary().path] + args
        } else {
            p.executableURL = try binary()
            p.arguments = args
        }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return (p, err)
    }

    func finish(_ p: Process, _ err: Pipe) -> (status: Int32, reason: Process.TerminationReason, stderr: String) {
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, p.terminationReason, String(decoding: e, as: UTF8.self))
    }

    func temporaryFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
    }

    /// Scores of the real model, so that `drop` spends its time writing the pruned file.
    func scores(_ model: String) throws -> String {
        let path = dir.appendingPathComponent("scores.json").path
        let (p, err) = try start(["score", model, "--calibration", TestPaths.fixture("data/c4_demo.json").path,
                                  "--samples", "2", "--seq-len", "32", "--output", path, "--threads", "2"])
        let r = finish(p, err)
        XCTAssertEqual(r.status, 0, r.stderr)
        return path
    }

    func testKilledWriterLeavesPreviousFileOrWholeNewOne() throws {
        let model = try TestPaths.smollm2()
        let scores = try scores(model)
        let out = dir.appendingPathComponent("pruned.gguf")
        let args = ["drop", model, "--target", "attention", "--count", "4", "--scores", scores, "--output", out.path, "--threads", "2"]
        // A complete run gives the expected file.
        let (p0, e0) = try start(args)
        XCTAssertEqual(finish(p0, e0).status, 0)
        let expected = try Data(contentsOf: out)
        let previous = Data("previous contents".utf8)
        var outcomes: [String: Int] = [:]
        // Moments spread over start-up, scoring lookup and the writing of ~90 MB.
        for delay: UInt32 in [40_000, 120_000, 250_000, 400_000, 600_000, 900_000] {
            try previous.write(to: out)
            let (p, err) = try start(args)
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            _ = finish(p, err)
            let now = try Data(contentsOf: out)
            XCTAssertTrue(now == previous || now == expected, "destination is neither the previous nor the new file (\(now.count) bytes)")
            outcomes[now == previous ? "previous" : "new", default: 0] += 1
            if try !temporaryFiles().isEmpty { outcomes["temporary file left", default: 0] += 1 }
        }
        print("SIGKILL outcomes: \(outcomes)")
        // The next run cleans up what the killed ones left.
        let (p1, e1) = try start(args)
        XCTAssertEqual(finish(p1, e1).status, 0)
        XCTAssertEqual(try temporaryFiles(), [])
        XCTAssertEqual(try Data(contentsOf: out), expected)
    }

    func testFileSizeLimitGivesClearErrorAndNoTemporaryFile() throws {
        let model = try TestPaths.smollm2()
        let scores = try scores(model)
        let out = dir.appendingPathComponent("pruned.gguf")
        // ulimit -f counts 512- or 1024-byte blocks: either way far below the ~90 MB file.
        let (p, err) = try start(["drop", model, "--target", "attention", "--count", "4", "--scores", scores, "--output", out.path],
                                 shell: "ulimit -f 2000; exec")
        let r = finish(p, err)
        XCTAssertEqual(r.reason, .exit, "killed by a signal: \(r.stderr)")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("free some space or write elsewhere"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        XCTAssertEqual(try temporaryFiles(), [])
    }

    func testInterruptStopsWithinASecondWithoutPartialOutput() throws {
        let model = try TestPaths.smollm2()
        let out = dir.appendingPathComponent("scores.json")
        let (p, err) = try start(["score", model, "--calibration", "self", "--samples", "64", "--seq-len", "128", "--output", out.path, "--threads", "2"])
        sleep(2)
        XCTAssertTrue(p.isRunning, "the job should still be running")
        let sent = Date()
        kill(p.processIdentifier, SIGINT)
        let r = finish(p, err)
        let elapsed = Date().timeIntervalSince(sent)
        // A second on a normal build; `make sanitize-*` runs the binary 10–20× slower (its steps between
        // interrupt checks with it), so there the bound is stretched, not dropped.
        let sanitized = ["ASAN_OPTIONS", "TSAN_OPTIONS"].contains { ProcessInfo.processInfo.environment[$0] != nil }
        XCTAssertLessThan(elapsed, sanitized ? 10 : 1, "took \(elapsed) s to stop")
        XCTAssertEqual(r.status, 130)
        XCTAssertTrue(r.stderr.contains("interrupted"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        XCTAssertEqual(try temporaryFiles(), [])
    }
}
