// Tiny synthetic Llama models written as real GGUF files, for behaviour that does not depend on
// trained weights (selection rules, plan application, pruned-file structure).
import Foundation
import LLMFormats
import LLMTensor

public struct TinyModel {
    public var layers = 4
    public var contextLength = 256
    public var hidden = 16
    public var heads = 4
    public var kvHeads = 2
    public var ffn = 32
    /// Byte-level vocabulary: the 256 byte tokens plus BOS/EOS.
    public var vocab = 258
    /// Layers whose attention output and MLP down projections are zero: the block is the identity.
    public var identityBlocks: Set<Int> = []
    public var seed: UInt64 = 1

    public init() {}

    var headDim: Int { hidden / heads }

    /// Writes the model to a new temporary file and returns its path.
    public func write(to directory: URL) throws -> String {
        var rng = seed
        func random(_ n: Int, scale: Float) -> [Float] {
            (0..<n).map { _ in
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                return (Float((rng >> 40) & 0xFFFF) / 65535 - 0.5) * 2 * scale
            }
        }
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("general.name", .string("tiny"))
        w.set("llama.block_count", .uint32(UInt32(layers)))
        w.set("llama.context_length", .uint32(UInt32(contextLength)))
        w.set("llama.embedding_length", .uint32(UInt32(hidden)))
        w.set("llama.feed_forward_length", .uint32(UInt32(ffn)))
        w.set("llama.attention.head_count", .uint32(UInt32(heads)))
        w.set("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.set("llama.rope.freq_base", .float32(10000))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.set("llama.vocab_size", .uint32(UInt32(vocab)))
        // A byte-level BPE vocabulary without merges: every byte is its own token.
        let byteTokens = (0..<256).map { b -> String in
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            var n = 0
            if !printable { n = (0..<b).filter { !((33...126).contains($0) || (161...172).contains($0) || (174...255).contains($0)) }.count }
            return String(UnicodeScalar(printable ? UInt32(b) : UInt32(256 + n))!)
        }
        let tokens = byteTokens + ["<s>", "</s>"]
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("gpt2"))
        w.set("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(elementType: .int32, tokens.indices.map { .int32($0 >= 256 ? 3 : 1) }))
        w.set("tokenizer.ggml.merges", .array(elementType: .string, []))
        w.set("tokenizer.ggml.bos_token_id", .uint32(256))
        w.set("tokenizer.ggml.eos_token_id", .uint32(257))
        w.set("tokenizer.ggml.add_bos_token", .bool(false))

        let D = hidden, Q = heads * headDim, K = kvHeads * headDim
        try w.addTensor(name: "token_embd.weight", shape: [D, vocab], floats: random(D * vocab, scale: 1))
        try w.addTensor(name: "output_norm.weight", shape: [D], floats: Array(repeating: 1, count: D))
        for l in 0..<layers {
            let zero = identityBlocks.contains(l)
            try w.addTensor(name: "blk.\(l).attn_norm.weight", shape: [D], floats: Array(repeating: 1, count: D))
            try w.addTensor(name: "blk.\(l).attn_q.weight", shape: [D, Q], floats: random(D * Q, scale: 0.5))
            try w.addTensor(name: "blk.\(l).attn_k.weight", shape: [D, K], floats: random(D * K, scale: 0.5))
            try w.addTensor(name: "blk.\(l).attn_v.weight", shape: [D, K], floats: random(D * K, scale: 0.5))
            try w.addTensor(name: "blk.\(l).attn_output.weight", shape: [Q, D], floats: zero ? Array(repeating: 0, count: Q * D) : random(Q * D, scale: 0.5))
            try w.addTensor(name: "blk.\(l).ffn_norm.weight", shape: [D], floats: Array(repeating: 1, count: D))
            try w.addTensor(name: "blk.\(l).ffn_gate.weight", shape: [D, ffn], floats: random(D * ffn, scale: 0.5))
            try w.addTensor(name: "blk.\(l).ffn_up.weight", shape: [D, ffn], floats: random(D * ffn, scale: 0.5))
            try w.addTensor(name: "blk.\(l).ffn_down.weight", shape: [ffn, D], floats: zero ? Array(repeating: 0, count: ffn * D) : random(ffn * D, scale: 0.5))
        }
        let path = directory.appendingPathComponent("tiny-\(UUID().uuidString).gguf").path
        try w.write(to: path)
        return path
    }
}

/// A fresh temporary directory, removed by the caller's teardown.
public func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("llm-drop-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
