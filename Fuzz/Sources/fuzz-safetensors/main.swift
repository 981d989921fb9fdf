// safetensors reader: arbitrary bytes → SafetensorsFile(bytes:). A file that reads must keep every
// promise the reader makes — each tensor's bytes inside the file, dtype × shape = byte length, the
// tensors covering the data buffer exactly in order — and reading its bytes must stay inside the
// input (the sanitizer checks every read against the exact size of the copy). Any error other than
// SafetensorsError is a bug.
import FuzzSupport
import LLMFormats

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file: SafetensorsFile
    do {
        file = try SafetensorsFile(bytes: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz.safetensors")
    } catch is SafetensorsError {
        return 0
    } catch {
        fuzzFail("SafetensorsFile threw a non-SafetensorsError: \(error)")
    }
    fuzzCheck(file.fileSize == size, "fileSize \(file.fileSize) for \(size) input bytes")
    fuzzCheck(size >= 8, "a file of \(size) bytes read")
    let headerLength = Int(UnsafeRawPointer(data!).loadUnaligned(as: UInt64.self).littleEndian)
    var cursor = 8 + headerLength
    var touched: UInt8 = 0
    for t in file.tensors {
        fuzzCheck(t.fileOffset == cursor, "tensor '\(t.name)' starts at \(t.fileOffset), not at \(cursor) where the previous one ended")
        fuzzCheck(t.elementCount * t.dtype.size == t.byteCount, "byte count of '\(t.name)'")
        fuzzCheck(t.shape.allSatisfy { $0 >= 0 }, "shape \(t.shape)")
        fuzzCheck(file.tensor(named: t.name) == t, "tensor(named:) of '\(t.name)'")
        cursor = t.fileOffset + t.byteCount
        let bytes = file.bytes(for: t)
        if bytes.count > 0 { touched &+= bytes[0] &+ bytes[bytes.count - 1] }
    }
    fuzzCheck(cursor == size, "the tensors end at \(cursor) of \(size)")
    for (k, v) in file.metadata { blackHole((k, v)) }
    blackHole(touched)
    return 0
}

fuzzMain(fuzzOne)
