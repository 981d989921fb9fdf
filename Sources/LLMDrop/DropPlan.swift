// Drop plans: which attention sublayers, MLP sublayers and whole blocks to remove (0-based indices
// in the original model), how they were chosen, and the scores behind the choice. Also reads the
// LLM-Drop code's `config.json` form (`drop_attn_list` / `drop_mlp_list`: indices or per-layer booleans).
import Foundation
import LLMFormats
import LLMModels

public enum DropTarget: String, Sendable, Codable, CaseIterable {
    case attention, mlp, block, joint
}

public struct DropPlan: Sendable, Codable, Equatable {
    public var droppedAttention: [Int]
    public var droppedMLP: [Int]
    public var droppedBlocks: [Int]
    /// Provenance, optional in files people write by hand: what was targeted ("attention", …),
    /// "one-shot", "iterative" or "consecutive", the layers and file of the model it was made for, the
    /// scores behind the choice, and the metric when it was not cosine.
    public var target: String?
    public var method: String?
    public var layers: Int?
    public var model: String?
    public var scores: [String: [Double?]]?
    /// The importance metric that ranked the modules, when not the paper's cosine similarity.
    public var metric: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case droppedAttention = "dropped_attention", droppedMLP = "dropped_mlp", droppedBlocks = "dropped_blocks"
        case target, method, layers, model, scores, metric
    }

    public init(droppedAttention: [Int] = [], droppedMLP: [Int] = [], droppedBlocks: [Int] = [], target: String? = nil,
                method: String? = nil, layers: Int? = nil, model: String? = nil, scores: [String: [Double?]]? = nil,
                metric: String? = nil) {
        self.droppedAttention = droppedAttention.sorted()
        self.droppedMLP = droppedMLP.sorted()
        self.droppedBlocks = droppedBlocks.sorted()
        self.target = target
        self.method = method
        self.layers = layers
        self.model = model
        self.scores = scores
        self.metric = metric
    }

    /// Missing lists mean nothing dropped; every provenance field is optional.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(droppedAttention: try c.decodeIfPresent([Int].self, forKey: .droppedAttention) ?? [],
                  droppedMLP: try c.decodeIfPresent([Int].self, forKey: .droppedMLP) ?? [],
                  droppedBlocks: try c.decodeIfPresent([Int].self, forKey: .droppedBlocks) ?? [],
                  target: try c.decodeIfPresent(String.self, forKey: .target),
                  method: try c.decodeIfPresent(String.self, forKey: .method),
                  layers: try c.decodeIfPresent(Int.self, forKey: .layers),
                  model: try c.decodeIfPresent(String.self, forKey: .model),
                  scores: try c.decodeIfPresent([String: [Double?]].self, forKey: .scores),
                  metric: try c.decodeIfPresent(String.self, forKey: .metric))
    }

    /// The removals as a layer plan for a model of `layers` layers; throws on an index out of range.
    public func layerPlan(layers: Int) throws -> LayerPlan {
        if let made = self.layers, made != layers {
            throw ModelError.invalidPlan("it was made for a model with \(made) layers but this model has \(layers); use a plan made for this model")
        }
        return try LayerPlan.full(layers: layers).removing(attention: droppedAttention, mlp: droppedMLP, blocks: droppedBlocks)
    }

    public init(_ plan: LayerPlan, target: String, method: String, model: String? = nil, scores: [String: [Double?]]? = nil,
                metric: String? = nil) {
        self.init(droppedAttention: plan.droppedAttention, droppedMLP: plan.droppedMLP, droppedBlocks: plan.droppedBlocks,
                  target: target, method: method, layers: plan.layerCount, model: model, scores: scores, metric: metric)
    }

    /// Writes the plan as JSON (keys sorted), atomically.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: path)
    }
}

public enum PlanFileError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "drop plan '\(p)' does not exist; make one with `llm-drop drop … --plan-out PLAN.json`"
        case .malformed(let p, let r):
            return "'\(p)' is not a valid drop plan: \(r); write {\"dropped_attention\": [...], \"dropped_mlp\": [...], \"dropped_blocks\": [...]} (0-based layer indices, any of the three) or pass an LLM-Drop config.json with drop_attn_list / drop_mlp_list"
        }
    }
}

public enum PlanFile {
    /// Reads a plan written by `llm-drop drop --plan-out` or by hand, or an LLM-Drop `config.json`, for
    /// a model of `layers` layers, as the layer plan to apply at load.
    public static func load(path: String, layers: Int) throws -> LayerPlan {
        guard FileManager.default.fileExists(atPath: path) else { throw PlanFileError.notFound(path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw PlanFileError.malformed(path: path, reason: error.localizedDescription)
        }
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw PlanFileError.malformed(path: path, reason: "it is not a JSON object")
            }
            object = o
        } catch let e as PlanFileError {
            throw e
        } catch {
            throw PlanFileError.malformed(path: path, reason: JSONErrors.describe(error))
        }
        // An LLM-Drop config.json carries the model's whole configuration: its other keys are expected.
        if object["drop_attn_list"] != nil || object["drop_mlp_list"] != nil {
            let config: LLMDropConfig
            do { config = try JSONDecoder().decode(LLMDropConfig.self, from: data) } catch {
                throw PlanFileError.malformed(path: path, reason: JSONErrors.describe(error) + "; drop_attn_list / drop_mlp_list must be lists of layer indices or of one boolean per layer")
            }
            let attention = try config.dropAttnList?.indices(layers: layers, key: "drop_attn_list", path: path) ?? []
            let mlp = try config.dropMLPList?.indices(layers: layers, key: "drop_mlp_list", path: path) ?? []
            return try LayerPlan.full(layers: layers).removing(attention: attention, mlp: mlp)
        }
        let known = Set(DropPlan.CodingKeys.allCases.map(\.rawValue))
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw PlanFileError.malformed(path: path, reason: "unknown field '\(unknown)' (known: \(DropPlan.CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        do {
            return try JSONDecoder().decode(DropPlan.self, from: data).layerPlan(layers: layers)
        } catch let e as ModelError {
            throw e
        } catch {
            throw PlanFileError.malformed(path: path, reason: JSONErrors.describe(error))
        }
    }
}

/// The drop lists of the LLM-Drop code's `config.json`.
struct LLMDropConfig: Decodable {
    let dropAttnList: LayerList?
    let dropMLPList: LayerList?

    enum CodingKeys: String, CodingKey {
        case dropAttnList = "drop_attn_list", dropMLPList = "drop_mlp_list"
    }

    /// Layer indices, or one boolean per layer (true = dropped).
    enum LayerList: Decodable {
        case indices([Int]), flags([Bool])

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let flags = try? c.decode([Bool].self) { self = .flags(flags) } else { self = .indices(try c.decode([Int].self)) }
        }

        func indices(layers: Int, key: String, path: String) throws -> [Int] {
            switch self {
            case .indices(let list): return list
            case .flags(let flags):
                guard flags.isEmpty || flags.count == layers else {
                    throw PlanFileError.malformed(path: path, reason: "\(key) has \(flags.count) booleans for a model with \(layers) layers")
                }
                return flags.indices.filter { flags[$0] }
            }
        }
    }
}
