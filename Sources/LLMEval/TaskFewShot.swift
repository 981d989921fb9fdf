// Few-shot prompts as lm-evaluation-harness builds them: K solved examples joined with the
// fewshot_delimiter "\n\n", then "\n\n", then the item's own context (the target delimiter " " is
// already part of every choice/continuation/target). Examples are drawn without replacement from a
// pool, skipping any example with the item's id. The draw for item i depends only on (seed, i), so a
// run is reproducible and does not depend on --limit or batching. (lm-eval draws from one shared
// Python `random.Random(seed)`; its exact sequence is not reproduced here.)
import Foundation
import LLMTensor

public enum FewShotError: Error, Equatable, CustomStringConvertible {
    /// `itemID` nil: the pool is smaller than `shots`; otherwise too few examples remain without that item.
    case notEnoughExamples(pool: Int, shots: Int, itemID: String?)
    case negativeShots(Int)

    public var description: String {
        switch self {
        case .notEnoughExamples(let pool, let shots, let id):
            return "the few-shot file has \(pool) usable example\(pool == 1 ? "" : "s")\(id.map { " for item \($0)" } ?? "") but --shots is \(shots); pass a smaller --shots or a larger --fewshot-from file"
        case .negativeShots(let k):
            return "--shots must be 0 or more (got \(k))"
        }
    }
}

public struct FewShotSampler: Sendable {
    public let pool: [TaskItem]
    public let shots: Int
    public let seed: UInt64

    /// lm-eval's fewshot_delimiter.
    public static let delimiter = "\n\n"
    public static let defaultSeed: UInt64 = 1234

    public init(pool: [TaskItem], shots: Int, seed: UInt64 = FewShotSampler.defaultSeed) throws {
        guard shots >= 0 else { throw FewShotError.negativeShots(shots) }
        guard pool.count >= shots else { throw FewShotError.notEnoughExamples(pool: pool.count, shots: shots, itemID: nil) }
        self.pool = pool
        self.shots = shots
        self.seed = seed
    }

    /// The examples for the item at position `index` of the evaluation (in draw order).
    public func examples(for item: TaskItem, index: Int) throws -> [TaskItem] {
        guard shots > 0 else { return [] }
        var rng = SeededGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
        // A partial Fisher–Yates shuffle over pool indices with the swaps kept sparse: O(shots) per
        // item however large the pool. The item's own id is passed over, not counted.
        var swapped: [Int: Int] = [:]
        var picked: [TaskItem] = []
        var drawn = 0
        while picked.count < shots && drawn < pool.count {
            let j = drawn + Int(rng.next(below: UInt64(pool.count - drawn)))
            let chosen = swapped[j] ?? j
            swapped[j] = swapped[drawn] ?? drawn
            drawn += 1
            if pool[chosen].id != item.id { picked.append(pool[chosen]) }
        }
        guard picked.count == shots else {
            throw FewShotError.notEnoughExamples(pool: picked.count, shots: shots, itemID: item.id)
        }
        return picked
    }

    /// The text placed before the item's context(s): "" for zero shots, else the solved examples
    /// joined with "\n\n" and followed by "\n\n".
    public func prefix(for item: TaskItem, index: Int) throws -> String {
        let ex = try examples(for: item, index: index)
        guard !ex.isEmpty else { return "" }
        return ex.map(\.solved).joined(separator: Self.delimiter) + Self.delimiter
    }
}
