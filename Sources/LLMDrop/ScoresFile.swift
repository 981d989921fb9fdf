// Saved redundancy scores: the JSON that `llm-drop score --json/--output` prints, with what produced
// it, so `llm-drop drop --scores` reuses it instead of scoring again — and refuses it for another model.
import Foundation
import LLMFormats
import LLMModels

public struct ScoresFile: Sendable, Codable, Equatable {
    public var attention: [Double?]
    public var mlp: [Double?]
    public var block: [Double?]
    public var tokens: Int
    public var samples: Int
    public var seqLen: Int
    public var sampling: String
    public var model: String
    /// Identifies the model file and load-time plan the scores were computed on.
    public var fingerprint: String
    /// true: residual convention cos(X, X + F(Norm(X))); false: cos(Norm(X), F(Norm(X))).
    public var residual: Bool
    public var calibration: String

    enum CodingKeys: String, CodingKey {
        case attention, mlp, block, tokens, samples, sampling, model, fingerprint, residual, calibration
        case seqLen = "seq_len"
    }

    public init(scores: SimilarityScores, residual: Bool, calibration: CalibrationSet, seqLen: Int, model: String, fingerprint: String) {
        let chosen = scores.convention(residual: residual)
        attention = chosen.attention
        mlp = chosen.mlp
        block = chosen.block
        tokens = scores.tokens
        samples = calibration.samples.count
        self.seqLen = seqLen
        sampling = calibration.sampling
        self.model = model
        self.fingerprint = fingerprint
        self.residual = residual
        self.calibration = calibration.source
    }

    /// The scores as selection uses them (attention/MLP in this file's convention).
    public var similarityScores: SimilarityScores {
        SimilarityScores(attention: attention, mlp: mlp, block: block, attentionNoResidual: attention, mlpNoResidual: mlp, tokens: tokens)
    }

    public static func load(path: String, expectedFingerprint: String) throws -> ScoresFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw ScoresFileError.notFound(path) }
        let file: ScoresFile
        do { file = try JSONDecoder().decode(ScoresFile.self, from: data) } catch {
            throw ScoresFileError.malformed(path: path, reason: JSONErrors.describe(error))
        }
        guard file.mlp.count == file.attention.count, file.block.count == file.attention.count else {
            throw ScoresFileError.malformed(path: path, reason: "attention, mlp and block have \(file.attention.count), \(file.mlp.count) and \(file.block.count) entries; they need one per layer each")
        }
        guard file.fingerprint == expectedFingerprint else { throw ScoresFileError.otherModel(path: path, model: file.model) }
        return file
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: path)
    }
}

public enum ScoresFileError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case malformed(path: String, reason: String)
    case otherModel(path: String, model: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "scores file '\(p)' does not exist; make one with `llm-drop score MODEL --calibration FILE --output \(p)`"
        case .malformed(let p, let r): return "'\(p)' is not a scores file written by `llm-drop score --output`: \(r); score the model again"
        case .otherModel(let p, let m):
            return "scores file '\(p)' was computed on another model or drop plan ('\(m)'); score this model with `llm-drop score` first"
        }
    }
}

public enum ModelFingerprint {
    /// Bytes of each tensor's data hashed at its start, middle and end: two fine-tunes of one base
    /// share the tensor table but not these.
    static let sampleBytes = 1024

    /// FNV-1a over the model's size on disk, tensor table, sampled blocks of every tensor's data, and the
    /// load-time plan.
    public static func of(_ source: any ModelSource, plan: LayerPlan) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        mix("\(source.storageBytes)".utf8)
        for t in source.tensors {
            mix("\(t.name):\(t.type):\(t.shape):\(t.offset);".utf8)
            let data = source.bytes(for: t), n = min(sampleBytes, data.count)
            for start in Set([0, (data.count - n) / 2, data.count - n]).sorted() { mix(UnsafeRawBufferPointer(rebasing: data[start..<start + n])) }
        }
        mix(plan.attention.map { $0 ? 1 : 0 })
        mix(plan.mlp.map { $0 ? 1 : 0 })
        return String(h, radix: 16)
    }
}

/// Writes data atomically (LLMFormats' `AtomicOutput`), after checking that the folder exists.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw PrunedModelError.missingFolder(dir)
        }
        try AtomicOutput.write(data, to: path)
    }
}
