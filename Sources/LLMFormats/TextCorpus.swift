// Text datasets for perplexity and calibration: plain text, a JSON array of {"text": ...} (the C4
// sample format of the LLM-Drop code) or JSONL with a "text" field.
import Foundation

public enum TextCorpusError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case unreadable(String, String)
    case empty(String)
    case malformed(path: String, line: Int?, reason: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "text file '\(p)' does not exist; check the path"
        case .unreadable(let p, let r): return "cannot read text file '\(p)': \(r)"
        case .empty(let p): return "text file '\(p)' contains no text; pass a file with at least one non-empty document"
        case .malformed(let p, let line, let r):
            return "'\(p)'\(line.map { ":\($0)" } ?? "") is not valid: \(r); use plain text, a JSON array of {\"text\": ...} or JSONL with a \"text\" field"
        }
    }
}

public enum TextCorpus {
    /// The documents of `path`, in file order, empty ones dropped.
    public static func documents(at path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw TextCorpusError.notFound(path)
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TextCorpusError.unreadable(path, error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TextCorpusError.malformed(path: path, line: nil, reason: "it is not UTF-8 text")
        }
        let docs: [String]
        let head = text.drop(while: { $0.isWhitespace }).first
        if head == "[" {
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
                throw TextCorpusError.malformed(path: path, line: nil, reason: "it starts with '[' but is not a JSON array")
            }
            docs = try array.enumerated().map { i, item in
                guard let t = (item as? [String: Any])?["text"] as? String else {
                    throw TextCorpusError.malformed(path: path, line: nil, reason: "element \(i) has no \"text\" string")
                }
                return t
            }
        } else if head == "{" {
            docs = try text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, line in
                guard !line.allSatisfy(\.isWhitespace) else { return nil }
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let t = obj["text"] as? String else {
                    throw TextCorpusError.malformed(path: path, line: i + 1, reason: "the line is not a JSON object with a \"text\" string")
                }
                return t
            }
        } else {
            docs = [text]
        }
        let nonEmpty = docs.filter { !$0.isEmpty }
        guard !nonEmpty.isEmpty else { throw TextCorpusError.empty(path) }
        return nonEmpty
    }
}
