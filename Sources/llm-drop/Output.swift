// Output helpers: results go to stdout (text or JSON), progress and logs to stderr.
import Foundation

enum Log {
    static func info(_ message: String) {
        FileHandle.standardError.write(Data("llm-drop: \(message)\n".utf8))
    }
}

enum Format {
    static func seconds(_ d: Duration) -> String { String(format: "%.2f s", d / .seconds(1)) }
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }
    /// Rows of cells as aligned columns (first column left-aligned, the rest right-aligned).
    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.map(\.count).max() ?? 0)).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func count(_ n: Int) -> String {
        n >= 1_000_000_000 ? String(format: "%.2fB", Double(n) / 1e9)
            : n >= 1_000_000 ? String(format: "%.1fM", Double(n) / 1e6) : "\(n)"
    }
}

/// Writes a JSON value to stdout (keys sorted, so output is stable).
func printJSON(_ value: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// A progress bar on stderr with an ETA; redrawn in place on a terminal, a line every 10% otherwise.
final class ProgressBar {
    let label: String
    let total: Int
    private let start = ContinuousClock.now
    private let isTTY = isatty(FileHandle.standardError.fileDescriptor) != 0
    private var lastDecile = -1

    init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
    }

    func update(_ done: Int) {
        let fraction = Double(done) / Double(total)
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        let eta = done > 0 ? elapsed / fraction - elapsed : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "%@ [%@] %d/%d  %.0f%%  elapsed %.0fs  ETA %.0fs", label, bar, done, total, fraction * 100, elapsed, eta)
        if isTTY {
            FileHandle.standardError.write(Data("\r\(line)\(done >= total ? "\n" : "")".utf8))
        } else {
            let decile = Int(fraction * 10)
            if decile != lastDecile || done >= total {
                lastDecile = decile
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            }
        }
    }
}

/// Writes an Encodable value to stdout as JSON (keys sorted).
func printEncodedJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    FileHandle.standardOutput.write(try encoder.encode(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}
