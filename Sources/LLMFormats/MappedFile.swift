// A read-only memory map of a whole file: tensor data is used in place, never copied whole.
// (If another process truncates the file while it is mapped, touching the lost pages raises SIGBUS;
// no reader can prevent that, so writers here replace files by rename instead of rewriting them.)
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

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
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }
}
