// Crash-safe output files: everything is written to a temporary file beside the destination, flushed to
// disk (fsync) and renamed over it, so the destination holds either its previous contents or the new
// ones — after a crash, SIGKILL, full disk or interrupt alike. Temporary files are named
// `.NAME.tmp-PID-RANDOM`: one left by a killed process (its PID gone) is removed by the next write to
// the same destination, and `removeAllInProgress` (called by the CLI's interrupt handler) removes those
// of this process.
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A new file beside `finalPath` that becomes `finalPath` on `commit` and vanishes on `discard`.
public final class AtomicOutput {
    public let finalPath: String
    let folder: String
    public private(set) var tempPath: String
    private var fd: Int32

    /// Temporary files of this process not yet committed or discarded.
    private static let inProgress = Mutex<Set<String>>([])

    public init(finalPath: String) throws {
        let folder: String, base: String
        if let slash = finalPath.lastIndex(of: "/") {
            folder = slash == finalPath.startIndex ? "/" : String(finalPath[..<slash])
            base = String(finalPath[finalPath.index(after: slash)...])
        } else {
            (folder, base) = (".", finalPath)
        }
        (self.finalPath, self.folder, tempPath, fd) = (finalPath, folder, "", -1)
        Self.removeStale(folder: folder, base: base)
        // O_EXCL with a random name: never reuses another writer's file; mode 0666 minus the umask.
        var err: Int32 = 0
        for _ in 0..<16 {
            let candidate = (folder.hasSuffix("/") ? folder : folder + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
            fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 {
                tempPath = candidate
                Self.inProgress.withLock { _ = $0.insert(candidate) }
                return
            }
            err = errno
            if err != EEXIST { break }
        }
        throw GGUFError.writeFailed(path: finalPath, reason: "cannot create a temporary file in '\(folder)': \(Self.message(err))")
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        let out = try AtomicOutput(finalPath: path)
        do {
            try data.withUnsafeBytes { try out.write($0) }
            try out.commit()
        } catch {
            out.discard()
            throw error
        }
    }

    public func write(_ data: UnsafeRawBufferPointer) throws {
        guard var p = data.baseAddress else { return }
        var left = data.count
        while left > 0 {
            #if canImport(Glibc)
            let n = Glibc.write(fd, p, min(left, 1 << 30))
            #else
            let n = Darwin.write(fd, p, min(left, 1 << 30))
            #endif
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n == 0 ? "no bytes written" : Self.message(errno)
                let hint = errno == ENOSPC || errno == EFBIG || errno == EDQUOT ? "; free some space or write elsewhere" : ""
                throw GGUFError.writeFailed(path: finalPath, reason: "writing '\(tempPath)' failed: \(reason)\(hint)")
            }
            p += n
            left -= n
        }
    }

    /// Flushes the data to disk, closes the file and renames it over `finalPath`.
    public func commit() throws {
        guard fsync(fd) == 0 else {
            throw GGUFError.writeFailed(path: finalPath, reason: "flushing '\(tempPath)' to disk failed: \(Self.message(errno))")
        }
        let rc = close(fd)
        fd = -1
        guard rc == 0 else {
            throw GGUFError.writeFailed(path: finalPath, reason: "closing '\(tempPath)' failed: \(Self.message(errno))")
        }
        guard rename(tempPath, finalPath) == 0 else {
            throw GGUFError.writeFailed(path: finalPath, reason: "renaming '\(tempPath)' over it failed: \(Self.message(errno))")
        }
        Self.inProgress.withLock { _ = $0.remove(tempPath) }
        // Make the rename itself durable; a folder that cannot be synced is not an error.
        let dirFD = open(folder, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    /// Closes (if still open) and removes the temporary file.
    public func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(tempPath)
        Self.inProgress.withLock { _ = $0.remove(tempPath) }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Unlinks every temporary file this process has open (for an interrupt handler; async-signal
    /// safety is not needed there, the handler runs on a dispatch queue).
    public static func removeAllInProgress() {
        inProgress.withLock { paths in
            for p in paths { unlink(p) }
            paths.removeAll()
        }
    }

    /// Removes `.BASE.tmp-PID-*` files in `folder` whose writing process no longer exists.
    static func removeStale(folder: String, base: String) {
        let prefix = ".\(base).tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            if pid == getpid() { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink((folder.hasSuffix("/") ? folder : folder + "/") + name) }
        }
    }

    static func message(_ err: Int32) -> String { String(cString: strerror(err)) }
}
