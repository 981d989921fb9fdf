// A read-only memory map of a whole file: tensor data is used in place, never copied whole.
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

    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw GGUFError.fileNotFound(path: path)
        }
        if isDir.boolValue { throw GGUFError.isDirectory(path: path) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size > 0 else { throw GGUFError.notGGUF(path: path) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        self.path = path
        self.size = size
        self.base = UnsafeRawPointer(p)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), size)
    }
}
