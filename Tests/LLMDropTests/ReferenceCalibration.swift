// The calibration the PyTorch references score on (Tests/Fixtures/reference/*/README.md): documents
// mode, the first 32 texts of c4_demo.json, each truncated to 128 tokens.
import LLMDrop
import LLMFormats
import LLMModels
import TestSupport

func referenceCalibrationScores(_ model: LanguageModel) throws -> SimilarityScores {
    let docs = try TextCorpus.documents(at: TestPaths.fixture("data/c4_demo.json").path)
    let set = try CalibrationSet.fromDocuments(docs, tokenizer: model.tokenizer, samples: 32, length: 128,
                                               sampling: .documents, source: "c4_demo.json")
    return try RedundancyScorer(model: model).score(set)
}
