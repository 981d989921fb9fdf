// Saved scores: arbitrary bytes as a scores file → ScoresFile.load (fingerprint "fuzz"), then what
// `llm-drop drop --scores` does with a file whose fingerprint matches: one-shot selection for every
// target on a 30-layer model (SmolLM2's). Errors must be ScoresFileError / SelectionError / ModelError.
import FuzzSupport
import LLMDrop
import LLMModels

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = InputFile.write(data, size, name: "scores.json")
    let file: ScoresFile
    do {
        file = try ScoresFile.load(path: path, expectedFingerprint: "fuzz")
    } catch is ScoresFileError {
        return 0
    } catch {
        fuzzFail("ScoresFile.load threw an untyped error: \(error)")
    }
    let base = LayerPlan.full(layers: 30)
    for target in DropTarget.allCases {
        for count in [1, 3] {
            do {
                let plan = try Selection.oneShot(file.similarityScores, target: target, count: count, plan: base)
                fuzzCheck(plan.layerCount == 30, "selection changed the layer count")
            } catch is SelectionError {
            } catch is ModelError {
            } catch {
                fuzzFail("Selection.oneShot threw an untyped error: \(error)")
            }
        }
    }
    return 0
}

fuzzMain(fuzzOne)
