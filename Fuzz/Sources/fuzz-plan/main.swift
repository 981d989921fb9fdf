// Drop plans: arbitrary bytes as a plan file (ours, or an LLM-Drop config.json) → PlanFile.load for a
// 30-layer model (SmolLM2's) and a 1-layer one. A plan that loads has the model's layer count; a bad
// one is a PlanFileError or ModelError, never a crash.
import FuzzSupport
import LLMDrop
import LLMModels

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = InputFile.write(data, size, name: "plan.json")
    for layers in [30, 1] {
        do {
            let plan = try PlanFile.load(path: path, layers: layers)
            fuzzCheck(plan.layerCount == layers && plan.mlp.count == layers, "a plan for \(layers) layers has \(plan.layerCount)")
            let dropped = plan.droppedAttention + plan.droppedMLP + plan.droppedBlocks
            fuzzCheck(dropped.allSatisfy { (0..<layers).contains($0) }, "dropped layer outside 0..<\(layers)")
        } catch is PlanFileError {
        } catch is ModelError {
        } catch {
            fuzzFail("PlanFile.load threw an untyped error: \(error)")
        }
    }
    return 0
}

fuzzMain(fuzzOne)
