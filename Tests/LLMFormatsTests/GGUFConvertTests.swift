// GGUFConvert's re-encoding as convert_hf_to_gguf.py's --outtype: 1-D tensors F32, rows not a whole number of
// blocks F16, the rest the chosen type — on a tensor large enough to be converted in several row blocks.
import Foundation
import LLMFormats
import LLMTensor
import TestSupport
import XCTest

final class GGUFConvertTests: XCTestCase {
    func testTypesAndManyRowBlocks() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows = 40_000, cols = 64   // 2.56 M values: several of the converter's 1 M-value row blocks
        let big = (0..<(rows * cols)).map { Float(($0 * 7919) % 2001 - 1000) / 256 }
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        try w.addTensor(name: "big.weight", shape: [cols, rows], floats: big)
        try w.addTensor(name: "odd.weight", shape: [48, 2], floats: (0..<96).map { Float($0) })
        try w.addTensor(name: "norm.weight", type: .f16, shape: [4], bytes: [0, 0x3C, 0, 0x3C, 0, 0x3C, 0, 0x3C])
        let src = dir.appendingPathComponent("src.gguf").path
        try w.write(to: src)
        let source = try GGUFFile(path: src)
        for type in [GGMLType.f16, .bf16, .q8_0, .q4_0] {
            let out = dir.appendingPathComponent("\(type).gguf").path
            try GGUFConvert.write(source: source, to: out, type: type)
            let g = try GGUFFile(path: out)
            XCTAssertEqual(g.tensor(named: "norm.weight")?.type, .f32)
            XCTAssertEqual(g.tensor(named: "odd.weight")?.type, type.blockSize == 1 ? type : .f16)   // 48 is not a multiple of 32
            let t = try XCTUnwrap(g.tensor(named: "big.weight"))
            XCTAssertEqual(t.type, type)
            // Every row equals the row encoded on its own.
            var expected = [UInt8](repeating: 0, count: t.byteCount)
            big.withUnsafeBufferPointer { b in expected.withUnsafeMutableBytes { Quantize.encode(type, b.baseAddress!, $0.baseAddress!, count: big.count) } }
            XCTAssertEqual(Array(g.bytes(for: t)), expected, "\(type)")
            XCTAssertEqual(g["general.file_type"]?.int, [GGMLType.f16: 1, .bf16: 32, .q8_0: 7, .q4_0: 2][type])
        }
    }
}
