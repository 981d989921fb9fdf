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

/// A progress bar on stderr with an ETA; redrawn in place on a terminal, a line every 10% otherwise. The bar
/// of a batched pass (`layers: true`) also shows the layer its forward call has reached ("layer 12/32"): a
/// big model may run every sample in one call, whose layers are then the only progress there is (on a
/// terminal redrawn at most ten times a second, otherwise a line at most every 10 s).
final class ProgressBar {
    let label: String
    let total: Int
    private let start = ContinuousClock.now
    private let isTTY = isatty(FileHandle.standardError.fileDescriptor) != 0
    private var lastDecile = -1
    private var done = 0
    private var layer: (index: Int, count: Int)?
    private var lastLayerDraw = ContinuousClock.now

    /// The bar of the batched pass in progress, which `LanguageModel.layerProgress` tells of each layer.
    nonisolated(unsafe) static weak var pass: ProgressBar?

    init(_ label: String, total: Int, layers: Bool = false) {
        self.label = label
        self.total = max(total, 1)
        if layers { Self.pass = self }
    }

    func update(_ done: Int) {
        self.done = done
        draw(everyDecile: true)
        if done >= total && Self.pass === self { Self.pass = nil }
    }

    /// The forward call in progress started layer `index` (0-based) of `count`.
    func layer(_ index: Int, of count: Int) {
        layer = (index, count)
        let now = ContinuousClock.now
        guard now - lastLayerDraw >= (isTTY ? .milliseconds(100) : .seconds(10)) else { return }
        lastLayerDraw = now
        draw(everyDecile: false)
    }

    private func draw(everyDecile: Bool) {
        let fraction = Double(done) / Double(total)
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        // Unknown until a call has finished (the first may hold every sample).
        let eta = done > 0 ? String(format: "%.0fs", elapsed / fraction - elapsed) : "?"
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let at = done < total ? layer.map { "  layer \($0.index + 1)/\($0.count)" } ?? "" : ""
        let line = String(format: "%@ [%@] %d/%d  %.0f%%%@  elapsed %.0fs  ETA %@", label, bar, done, total, fraction * 100, at, elapsed, eta)
        if isTTY {
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K\(done >= total ? "\n" : "")".utf8))
        } else {
            let decile = Int(fraction * 10)
            if !everyDecile || decile != lastDecile || done >= total {
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
