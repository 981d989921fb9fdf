// A read-only memory map of a whole file: tensor data is used in place, never copied whole.
// (If another process truncates the file while it is mapped, touching the lost pages raises SIGBUS;
// no reader can prevent that, so writers here replace files by rename instead of rewriting them.)
// `advise` lets a reader of a model larger than its memory budget drop the pages of weights it has used
// (they stay in the page cache, but leave the process's resident set) and read ahead those it uses next;
// it only ever acts on ranges inside a live file mapping, never on heap copies or converted tensors.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// What `MappedFile.advise` tells the kernel about a range of mapped file pages.
public enum PageAdvice: Sendable {
    /// Read ahead: the pages are needed soon (MADV_WILLNEED).
    case willNeed
    /// Release: drop the pages from this process (MADV_DONTNEED); reading them again faults them back in
    /// from the page cache or the file.
    case dontNeed
}

public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    /// Base of the mapping; valid for the object's lifetime. Read-only.
    public let base: UnsafeRawPointer
    /// true: `base` is a heap copy made by `init(copying:path:)`, not a mapping.
    private let ownsCopy: Bool

    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw GGUFError.fileNotFound(path: path)
        }
        if isDir.boolValue { throw GGUFError.isDirectory(path: path) }
        // Only regular files: opening a FIFO would block, and a device has no meaningful size.
        var st = stat()
        guard stat(path, &st) == 0 else { throw GGUFError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError.unreadable(path: path, reason: "not a regular file; pass the path of a .gguf file")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GGUFError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fstat(fd, &st) == 0 else { throw GGUFError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size > 0 else { throw GGUFError.notGGUF(path: path) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        self.path = path
        self.size = size
        self.base = UnsafeRawPointer(p)
        self.ownsCopy = false
        let start = UInt(bitPattern: p)
        Self.mappings.withLock { $0[start] = start + UInt(size) }
    }

    /// A heap copy of `bytes` standing in for a file named `path` (for reading files held in memory,
    /// and for fuzzing: the copy is exactly `bytes.count` long, so an overread is caught by a sanitizer).
    public init(copying bytes: UnsafeRawBufferPointer, path: String) throws {
        guard bytes.count > 0 else { throw GGUFError.notGGUF(path: path) }
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 16)
        p.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        self.path = path
        self.size = bytes.count
        self.base = UnsafeRawPointer(p)
        self.ownsCopy = true
    }

    deinit {
        if ownsCopy {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            _ = Self.mappings.withLock { $0.removeValue(forKey: UInt(bitPattern: base)) }
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }

    /// Start → end address of every live file mapping of the process.
    private static let mappings = Mutex<[UInt: UInt]>([:])
    private static let pageSize = UInt(max(4096, sysconf(Int32(_SC_PAGESIZE))))

    /// Advises the kernel about the pages of `count` bytes at `p`, widened to whole pages, when they lie in
    /// a live file mapping; does nothing for any other memory. Returns whether it advised.
    @discardableResult
    public static func advise(_ p: UnsafeRawPointer, count: Int, _ advice: PageAdvice) -> Bool {
        guard count > 0 else { return false }
        let lo = UInt(bitPattern: p), hi = lo + UInt(count)
        let inside = mappings.withLock { m in m.contains { start, end in start <= lo && hi <= end } }
        guard inside else { return false }
        let first = lo / pageSize * pageSize, last = (hi + pageSize - 1) / pageSize * pageSize
        let flag = advice == .willNeed ? MADV_WILLNEED : MADV_DONTNEED
        return madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), flag) == 0
    }
}
