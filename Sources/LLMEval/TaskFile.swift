// Evaluation task files: JSONL, one item per line, in the three formats of ../shared/data/README.md
// (docs/tasks.md says how to build them from the published task files):
//   mc          {"id", "context", "choices": [" a", " b", ...], "gold": i}       (PIQA, ARC, HellaSwag)
//   winogrande  {"id", "contexts": [c1, c2], "continuation": " ...", "gold": i}  (lm-eval partial scoring)
//   cloze       {"id", "context", "target": " word"}                             (LAMBADA)
// Every line is checked; a bad one is an error naming `file:line` (strict) or is skipped and counted.
import Foundation
import LLMFormats

public enum TaskFormat: String, CaseIterable, Codable, Sendable {
    case mc, winogrande, cloze
}

/// One evaluation item. Continuations carry their leading space (lm-eval's target delimiter).
public struct TaskItem: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        /// Score each choice after the shared context.
        case multipleChoice(context: String, choices: [String], gold: Int)
        /// Score the shared continuation after each context (WinoGrande "partial" scoring).
        case winogrande(contexts: [String], continuation: String, gold: Int)
        /// The target must be the greedy continuation of the context (LAMBADA).
        case cloze(context: String, target: String)
    }

    /// The item's "id" as text (JSON numbers are written as integers when they are integral).
    public var id: String
    /// 1-based line in its file (0 for items built in code).
    public var line: Int
    public var body: Body

    public init(id: String, line: Int = 0, body: Body) {
        self.id = id
        self.line = line
        self.body = body
    }

    public var format: TaskFormat {
        switch body {
        case .multipleChoice: return .mc
        case .winogrande: return .winogrande
        case .cloze: return .cloze
        }
    }

    /// The index of the correct option (nil for cloze, which has one target).
    public var gold: Int? {
        switch body {
        case .multipleChoice(_, _, let g), .winogrande(_, _, let g): return g
        case .cloze: return nil
        }
    }

    /// The (context, continuation) pairs scored for this item, each context preceded by `prefix`
    /// (the few-shot examples): one per choice (mc), one per context (winogrande), one (cloze).
    public func requests(prefix: String = "") -> [LoglikelihoodRequest] {
        switch body {
        case .multipleChoice(let context, let choices, _):
            return choices.map { LoglikelihoodRequest(context: prefix + context, continuation: $0) }
        case .winogrande(let contexts, let continuation, _):
            return contexts.map { LoglikelihoodRequest(context: prefix + $0, continuation: continuation) }
        case .cloze(let context, let target):
            return [LoglikelihoodRequest(context: prefix + context, continuation: target)]
        }
    }

    /// The item with its answer, as a few-shot example: context + choices[gold] (mc),
    /// contexts[gold] + continuation (winogrande), context + target (cloze).
    public var solved: String {
        switch body {
        case .multipleChoice(let context, let choices, let gold): return context + choices[gold]
        case .winogrande(let contexts, let continuation, let gold): return contexts[gold] + continuation
        case .cloze(let context, let target): return context + target
        }
    }
}

/// Why one line of a task file is not a valid item.
public enum TaskLineError: Error, Equatable, CustomStringConvertible {
    case notUTF8
    case invalidJSON(String)
    case notAnObject
    case missingField(String, format: TaskFormat)
    case wrongType(field: String, expected: String)
    case emptyChoices(field: String)
    case emptyText(field: String, index: Int?)
    case goldOutOfRange(gold: Int, count: Int)
    case unknownFormat

    public var description: String {
        switch self {
        case .notUTF8:
            return "the line is not UTF-8 text; re-save the file as UTF-8"
        case .invalidJSON(let why):
            return "not valid JSON (\(why)); each line must be one JSON object"
        case .notAnObject:
            return "the line is JSON but not an object; each line must be one {...} item"
        case .missingField(let f, let format):
            return "missing field \"\(f)\"; a \(format.rawValue) item needs \(TaskFileParser.fields(format))"
        case .wrongType(let f, let expected):
            return "field \"\(f)\" must be \(expected)"
        case .emptyChoices(let f):
            return "field \"\(f)\" is empty; give at least one option"
        case .emptyText(let f, let i):
            return "\(f)\(i.map { "[\($0)]" } ?? "") is an empty string; every option and target needs text"
        case .goldOutOfRange(let g, let n):
            return "gold \(g) is out of range for \(n) options; gold is the 0-based index of the correct option"
        case .unknownFormat:
            return "cannot tell the format: the object has none of \"choices\" (mc), \"contexts\" (winogrande), \"target\" (cloze); pass --format"
        }
    }
}

/// A bad line: where it is and why.
public struct TaskLineProblem: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var reason: TaskLineError

    public var description: String { "\(path):\(line): \(reason)" }
}

public enum TaskFileError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case unreadable(String, String)
    case empty(String)
    /// `--strict`: the first bad line.
    case invalidLine(TaskLineProblem)
    /// Every line was bad (the first problem is shown).
    case noValidItems(path: String, skipped: Int, first: TaskLineProblem)
    case formatMismatch(path: String, expected: TaskFormat, found: TaskFormat)

    public var description: String {
        switch self {
        case .notFound(let p):
            return "task file '\(p)' does not exist; pass --task with a JSONL task file (see docs/tasks.md)"
        case .unreadable(let p, let why):
            return "cannot read task file '\(p)': \(why)"
        case .empty(let p):
            return "task file '\(p)' has no items; it must hold one JSON object per line (see docs/tasks.md)"
        case .invalidLine(let problem):
            return "\(problem) (--strict stops at the first bad line; leave it out to skip bad lines)"
        case .noValidItems(let p, let n, let first):
            return "task file '\(p)' has no valid item (\(n) bad line\(n == 1 ? "" : "s"), the first: \(first)); check --format and docs/tasks.md"
        case .formatMismatch(let p, let expected, let found):
            return "'\(p)' is a \(found.rawValue) file but \(expected.rawValue) items are needed; few-shot examples must come from a file of the task's format"
        }
    }
}

/// The valid items of a task file and the lines that were skipped.
public struct TaskFile: Sendable {
    public let path: String
    public let format: TaskFormat
    public let items: [TaskItem]
    /// Lines skipped because they are not valid items (always empty with `strict`).
    public let problems: [TaskLineProblem]

    /// Reads `path`. `format` nil: taken from the first JSON object's fields. `strict`: the first bad
    /// line throws `TaskFileError.invalidLine`; otherwise bad lines are skipped and listed in `problems`.
    /// `limit`: keep the first `limit` valid items (lines after them are not parsed).
    public init(path: String, format: TaskFormat? = nil, strict: Bool = false, limit: Int? = nil) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw TaskFileError.notFound(path)
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TaskFileError.unreadable(path, error.localizedDescription)
        }
        try self.init(data: data, path: path, format: format, strict: strict, limit: limit)
    }

    /// Parses JSONL bytes; `path` only names the source in messages.
    public init(data: Data, path: String, format: TaskFormat? = nil, strict: Bool = false, limit: Int? = nil) throws {
        var parser = TaskFileParser(path: path, format: format)
        var items: [TaskItem] = []
        var problems: [TaskLineProblem] = []
        var sawLine = false
        for (number, bytes) in TaskFileParser.lines(data) {
            if let limit, items.count >= limit { break }
            guard !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { continue }
            sawLine = true
            do {
                items.append(try parser.item(bytes, line: number))
            } catch {
                let problem = TaskLineProblem(path: path, line: number, reason: error)
                if strict { throw TaskFileError.invalidLine(problem) }
                problems.append(problem)
            }
        }
        guard sawLine else { throw TaskFileError.empty(path) }
        if items.isEmpty, let first = problems.first {
            throw TaskFileError.noValidItems(path: path, skipped: problems.count, first: first)
        }
        self.path = path
        self.format = parser.format ?? format ?? .mc
        self.items = items
        self.problems = problems
    }

    /// A short task name for reports: the folder for the shared layout (`piqa/mc.jsonl` → "piqa"),
    /// otherwise the file name without its extension.
    public static func name(of path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        if ["mc", "cloze", "test", "valid", "validation", "dev"].contains(stem) {
            let folder = url.deletingLastPathComponent().lastPathComponent
            if !folder.isEmpty && folder != "/" && folder != "." { return folder }
        }
        return stem
    }
}

/// Line splitting and per-line decoding.
struct TaskFileParser {
    let path: String
    /// Fixed by the caller or by the first JSON object seen.
    private(set) var format: TaskFormat?

    init(path: String, format: TaskFormat?) {
        self.path = path
        self.format = format
    }

    static func fields(_ format: TaskFormat) -> String {
        switch format {
        case .mc: return "\"id\", \"context\", \"choices\" and \"gold\""
        case .winogrande: return "\"id\", \"contexts\", \"continuation\" and \"gold\""
        case .cloze: return "\"id\", \"context\" and \"target\""
        }
    }

    /// (1-based line number, bytes without the newline) for every line of `data`.
    static func lines(_ data: Data) -> [(Int, Data)] {
        var out: [(Int, Data)] = []
        var start = data.startIndex
        var number = 1
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            out.append((number, data[start..<end]))
            number += 1
            start = end < data.endIndex ? data.index(after: end) : end
        }
        return out
    }

    mutating func item(_ bytes: Data, line: Int) throws(TaskLineError) -> TaskItem {
        guard String(data: bytes, encoding: .utf8) != nil else { throw .notUTF8 }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed]) } catch {
            throw .invalidJSON(JSONErrors.parseDetail(error))
        }
        guard let object = json as? [String: Any] else { throw .notAnObject }
        let format: TaskFormat
        if let f = self.format {
            format = f
        } else {
            if object["choices"] != nil { format = .mc }
            else if object["contexts"] != nil { format = .winogrande }
            else if object["target"] != nil { format = .cloze }
            else { throw .unknownFormat }
            self.format = format
        }
        let fields = Fields(object: object, format: format)
        let id = try fields.id()
        switch format {
        case .mc:
            let context = try fields.string("context")
            let choices = try fields.strings("choices")
            let gold = try fields.gold(count: choices.count)
            return TaskItem(id: id, line: line, body: .multipleChoice(context: context, choices: choices, gold: gold))
        case .winogrande:
            let contexts = try fields.strings("contexts", allowEmptyText: true)
            let continuation = try fields.string("continuation", nonEmpty: true)
            let gold = try fields.gold(count: contexts.count)
            return TaskItem(id: id, line: line, body: .winogrande(contexts: contexts, continuation: continuation, gold: gold))
        case .cloze:
            let context = try fields.string("context")
            let target = try fields.string("target", nonEmpty: true)
            return TaskItem(id: id, line: line, body: .cloze(context: context, target: target))
        }
    }

    struct Fields {
        let object: [String: Any]
        let format: TaskFormat

        func value(_ key: String) throws(TaskLineError) -> Any {
            guard let v = object[key], !(v is NSNull) else { throw .missingField(key, format: format) }
            return v
        }

        func id() throws(TaskLineError) -> String {
            let v = try value("id")
            if let s = v as? String { return s }
            if let n = v as? NSNumber, !Self.isBool(n) {
                let d = n.doubleValue
                if d.rounded() == d, abs(d) < 1e15 { return String(Int64(d)) }
                return n.stringValue
            }
            throw .wrongType(field: "id", expected: "a string or a number")
        }

        func string(_ key: String, nonEmpty: Bool = false) throws(TaskLineError) -> String {
            guard let s = try value(key) as? String else { throw .wrongType(field: key, expected: "a string") }
            if nonEmpty && s.isEmpty { throw .emptyText(field: key, index: nil) }
            return s
        }

        func strings(_ key: String, allowEmptyText: Bool = false) throws(TaskLineError) -> [String] {
            guard let a = try value(key) as? [Any] else { throw .wrongType(field: key, expected: "an array of strings") }
            guard !a.isEmpty else { throw .emptyChoices(field: key) }
            var out: [String] = []
            for (i, v) in a.enumerated() {
                guard let s = v as? String else { throw .wrongType(field: "\(key)[\(i)]", expected: "a string") }
                if !allowEmptyText && s.isEmpty { throw .emptyText(field: key, index: i) }
                out.append(s)
            }
            return out
        }

        func gold(count: Int) throws(TaskLineError) -> Int {
            let v = try value("gold")
            guard let n = v as? NSNumber, !Self.isBool(n), n.doubleValue.rounded() == n.doubleValue,
                  abs(n.doubleValue) < 1e15 else {
                throw .wrongType(field: "gold", expected: "an integer (the 0-based index of the correct option)")
            }
            let g = Int(n.doubleValue)
            guard (0..<count).contains(g) else { throw .goldOutOfRange(gold: g, count: count) }
            return g
        }

        /// JSON true/false arrive as NSNumber of C type `char`; keep them out of numeric fields.
        static func isBool(_ n: NSNumber) -> Bool {
            String(cString: n.objCType) == "c"
        }
    }
}
