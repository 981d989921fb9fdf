// Crash-safe output files: everything is written to a temporary file beside the destination, flushed to
// disk (fsync) and renamed over it, so the destination holds either its previous contents or the new
// ones — after a crash, SIGKILL, full disk or interrupt alike. Temporary files are named
// `.NAME.tmp-PID-RANDOM`: one left by a killed process (its PID gone) is removed by the next write to
// the same destination, and `removeAllInProgress` (called by the CLI's interrupt handler) removes those
// of this process.
// Output folders (`AtomicFolder`, a Hugging Face checkpoint) work the same way: a temporary folder
// `.NAME.tmp-PID-RANDOM` beside the destination is filled (each file through `AtomicOutput`), synced and
// renamed to NAME at the end; a folder already at NAME is first renamed aside (`.NAME.old-PID-RANDOM`)
// and removed after the swap. Stale temporary and set-aside folders are cleaned up like stale files.
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

    /// Writes one tensor's bytes as its source hands them over (in one piece or consecutive pieces), which
    /// must come to exactly `byteCount` — the GGUF and safetensors writers' shared contract with their sources.
    func writeTensor(_ name: String, byteCount: Int, _ withBytes: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        var written = 0
        try withBytes { piece in
            guard written + piece.count <= byteCount else {
                throw GGUFError.tensorDataSize(tensor: name, expected: byteCount, actual: written + piece.count)
            }
            try write(piece)
            written += piece.count
        }
        guard written == byteCount else { throw GGUFError.tensorDataSize(tensor: name, expected: byteCount, actual: written) }
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
            for p in paths where unlink(p) != 0 { try? FileManager.default.removeItem(atPath: p) }   // a folder
            paths.removeAll()
        }
    }

    static func track(_ path: String) { inProgress.withLock { _ = $0.insert(path) } }
    static func untrack(_ path: String) { inProgress.withLock { _ = $0.remove(path) } }

    /// Removes `.BASE.tmp-PID-*` (and `.BASE.old-PID-*`) files and folders in `folder` whose writing
    /// process no longer exists.
    static func removeStale(folder: String, base: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for kind in ["tmp", "old"] {
            let prefix = ".\(base).\(kind)-"
            for name in names where name.hasPrefix(prefix) {
                let rest = name.dropFirst(prefix.count)
                guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
                if pid == getpid() { continue }
                if kill(pid, 0) != 0 && errno == ESRCH {
                    let path = (folder.hasSuffix("/") ? folder : folder + "/") + name
                    if unlink(path) != 0 { try? FileManager.default.removeItem(atPath: path) }
                }
            }
        }
    }

    /// The folder and last component of a path.
    static func split(_ path: String) -> (folder: String, base: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        return (slash == path.startIndex ? "/" : String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    static func message(_ err: Int32) -> String { String(cString: strerror(err)) }
}

public enum OutputFolderError: Error, Equatable, CustomStringConvertible {
    /// The destination exists and is a file (or something else that is not a folder).
    case notAFolder(path: String)
    /// The destination is a non-empty folder that is not a model checkpoint: it is not replaced.
    case notReplaceable(path: String)
    /// The destination is, or is inside, or contains the model being read.
    case overlapsInput(output: String, input: String)
    case cannotCreate(path: String, reason: String)

    public var description: String {
        switch self {
        case .notAFolder(let p):
            return "the output '\(p)' exists and is not a folder; a Hugging Face checkpoint is a folder — pass a new path (or remove the file)"
        case .notReplaceable(let p):
            return "the output folder '\(p)' exists, is not empty and holds no config.json, so it is not replaced; pass a new or empty folder"
        case .overlapsInput(let o, let i):
            return "the output '\(o)' overlaps the input model '\(i)' (the same path, inside it, or holding it); write the output elsewhere"
        case .cannotCreate(let p, let r):
            return "cannot create the output folder '\(p)': \(r); check that its parent folder exists and is writable"
        }
    }

    /// Throws unless `output` (a folder to be written whole) and `input` (a file or folder being read)
    /// are apart: neither is the other or inside the other (paths resolved, symbolic links followed).
    public static func checkApart(output: String, input: String) throws {
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        let o = resolved(output), i = resolved(input)
        func inside(_ a: String, _ b: String) -> Bool { a == b || a.hasPrefix(b.hasSuffix("/") ? b : b + "/") }
        if inside(o, i) || inside(i, o) { throw OutputFolderError.overlapsInput(output: output, input: input) }
    }
}

/// A new folder beside `finalPath` that becomes `finalPath` on `commit` and vanishes on `discard`. Its
/// files are written with `AtomicOutput` (`path(for:)` names them), so each is whole and on disk before
/// the folder is renamed.
public final class AtomicFolder {
    public let finalPath: String
    /// The temporary folder being filled.
    public let tempPath: String
    let parent: String
    let base: String

    /// Refuses a destination that is a file, or a non-empty folder without config.json (a checkpoint
    /// written earlier may be replaced).
    public init(finalPath: String) throws {
        var path = finalPath
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        (parent, base) = AtomicOutput.split(path)
        self.finalPath = path
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw OutputFolderError.notAFolder(path: finalPath) }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            guard names.isEmpty || names.contains("config.json") else { throw OutputFolderError.notReplaceable(path: finalPath) }
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
            throw OutputFolderError.cannotCreate(path: finalPath, reason: "the folder '\(parent)' does not exist")
        }
        AtomicOutput.removeStale(folder: parent, base: base)
        var err: Int32 = 0
        for _ in 0..<16 {
            let candidate = (parent.hasSuffix("/") ? parent : parent + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
            if mkdir(candidate, 0o777) == 0 {
                tempPath = candidate
                AtomicOutput.track(candidate)
                return
            }
            err = errno
            if err != EEXIST { break }
        }
        throw OutputFolderError.cannotCreate(path: finalPath, reason: AtomicOutput.message(err))
    }

    /// Where a file of the folder is written while it is being filled.
    public func path(for name: String) -> String { (tempPath as NSString).appendingPathComponent(name) }

    /// Writes `data` as the file `name` of the folder.
    public func write(_ data: Data, as name: String) throws { try AtomicOutput.write(data, to: path(for: name)) }

    /// Syncs the folder and renames it to `finalPath` (a folder already there is set aside and removed).
    public func commit() throws {
        func sync(_ p: String) {
            let fd = open(p, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { _ = fsync(fd); close(fd) }
        }
        sync(tempPath)
        var aside: String?
        var st = stat()
        if lstat(finalPath, &st) == 0 {
            let old = (parent.hasSuffix("/") ? parent : parent + "/") + ".\(base).old-\(getpid())-\(UInt32.random(in: 0 ... .max))"
            guard rename(finalPath, old) == 0 else {
                throw GGUFError.writeFailed(path: finalPath, reason: "moving the existing folder aside failed: \(AtomicOutput.message(errno))")
            }
            aside = old
        }
        guard rename(tempPath, finalPath) == 0 else {
            let reason = AtomicOutput.message(errno)
            if let aside { _ = rename(aside, finalPath) }
            throw GGUFError.writeFailed(path: finalPath, reason: "renaming '\(tempPath)' to it failed: \(reason)")
        }
        AtomicOutput.untrack(tempPath)
        sync(parent)
        if let aside { try? FileManager.default.removeItem(atPath: aside) }
    }

    /// Removes the temporary folder and everything in it.
    public func discard() {
        try? FileManager.default.removeItem(atPath: tempPath)
        AtomicOutput.untrack(tempPath)
    }
}
