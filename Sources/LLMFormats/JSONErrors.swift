// Turns Foundation's JSON decoding errors into one sentence naming the field (a dotted path such as
// `scores.attention[3]`) and what was wrong, for messages that users read. A Swift `DecodingError`
// description names internal types and coding paths; this names what is in the user's file.
import Foundation

public enum JSONErrors {
    /// The reason `error` (thrown while decoding JSON) gives, naming the field it concerns.
    public static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return parseReason(error) }
        switch e {
        case .keyNotFound(let key, let ctx):
            return "field '\(path(ctx.codingPath + [key]))' is missing"
        case .typeMismatch(let type, let ctx):
            return "field '\(path(ctx.codingPath))' should be \(name(of: type))"
        case .valueNotFound(let type, let ctx):
            return "field '\(path(ctx.codingPath))' is null; it should be \(name(of: type))"
        case .dataCorrupted(let ctx):
            if let underlying = ctx.underlyingError { return parseReason(underlying) }
            return ctx.codingPath.isEmpty ? ctx.debugDescription : "field '\(path(ctx.codingPath))': \(ctx.debugDescription)"
        @unknown default:
            return "it could not be decoded"
        }
    }

    /// `a.b[2].c` for a coding path.
    public static func path(_ keys: [CodingKey]) -> String {
        guard !keys.isEmpty else { return "(top level)" }
        var out = ""
        for k in keys {
            if let i = k.intValue { out += "[\(i)]" } else { out += out.isEmpty ? k.stringValue : ".\(k.stringValue)" }
        }
        return out
    }

    static func parseReason(_ error: Error) -> String { "it is not valid JSON (\(parseDetail(error)))" }

    /// Foundation's parse errors carry their reason in the user info; keep the message short.
    public static func parseDetail(_ error: Error) -> String {
        let ns = error as NSError
        if let d = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return d }
        return "unparseable"
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int32.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is [Int].Type: return "a list of integers"
        case is [Bool].Type: return "a list of booleans"
        default:
            let n = "\(type)"
            if n.hasPrefix("Array") || n.hasPrefix("[") { return "a list" }
            if n.hasPrefix("Dictionary") { return "an object" }
            return "a valid value"
        }
    }
}
