// `llm-drop score MODEL --calibration FILE`: per-layer attention, MLP and block similarities.
import ArgumentParser
import Foundation
import LLMDrop
import LLMModels

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score every attention, MLP and block by how little it changes the residual stream.",
        discussion: "Similarity = mean over calibration tokens of cos(X, X + F(Norm(X))); importance = 1 − similarity. High similarity: a candidate to drop.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var calibrationOptions: CalibrationOptions
    @OptionGroup var memoryOptions: MemoryOptions

    @Option(help: "Also save the scores as JSON here (reusable with `drop --scores`).")
    var output: String?

    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let (model, rows) = try modelOptions.load(memory: memoryOptions, sequenceLength: calibrationOptions.seqLen)
        let file = try computeScores(model: model, modelOptions: modelOptions, calibration: calibrationOptions, rowsPerBatch: rows)
        if let output { try file.write(to: output) }
        if outputOptions.json {
            try printEncodedJSON(file)
        } else {
            printScoreTable(file)
        }
    }
}

/// Scores `model` on the calibration the options describe, with a progress bar.
func computeScores(model: LanguageModel, modelOptions: ModelOptions, calibration: CalibrationOptions, rowsPerBatch: Int = 1024) throws -> ScoresFile {
    let set = try calibration.load(for: model)
    let bar = ProgressBar("scoring \(model.layerCount) layers", total: set.samples.count, layers: true)
    let scores = try RedundancyScorer(model: model, rowsPerBatch: rowsPerBatch).score(set) { done, _ in bar.update(done) }
    return ScoresFile(scores: scores, residual: !calibration.noResidual, calibration: set, seqLen: calibration.seqLen,
                      model: modelOptions.model, fingerprint: ModelFingerprint.of(model.source, plan: model.plan))
}

func printScoreTable(_ f: ScoresFile) {
    func rank(_ v: [Double?]) -> [Int: Int] {
        var r: [Int: Int] = [:]
        for (i, l) in v.indices.filter({ v[$0] != nil }).sorted(by: { v[$0]! > v[$1]! }).enumerated() { r[l] = i + 1 }
        return r
    }
    let (ra, rm, rb) = (rank(f.attention), rank(f.mlp), rank(f.block))
    func cell(_ v: Double?, _ r: Int?) -> String {
        guard let v, let r else { return "dropped".padding(toLength: 16, withPad: " ", startingAt: 0) }
        return String(format: "%.4f (#%-3d)    ", v, r)
    }
    print("similarity (\(f.residual ? "cos(X, X+F(Norm X))" : "cos(Norm X, F(Norm X))")), \(f.tokens) tokens in \(f.samples) samples of ≤\(f.seqLen) (\(f.sampling)); #1 = most redundant")
    print("layer  attention          MLP                block")
    for l in f.attention.indices {
        print(String(format: "%5d  ", l) + cell(f.attention[l], ra[l]) + " " + cell(f.mlp[l], rm[l]) + " " + cell(f.block[l], rb[l]))
    }
}
