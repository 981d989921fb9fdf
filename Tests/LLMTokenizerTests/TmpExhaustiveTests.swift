// TEMPORARY (not to be kept): compares against /tmp/tokref outputs.
import Foundation
import LLMFormats
import LLMTokenizer
import TestSupport
import XCTest

final class TmpExhaustiveTests: XCTestCase {
    func testAll() throws {
        let smol = try loadTokenizer(from: GGUFFile(path: TestPaths.smollm2()))
        let gemma = try loadTokenizer(from: GGUFFile(path: TestPaths.gemma3()))
        let docs = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "/work/shared/data/c4_demo.json"))) as! [[String: Any]]
        let texts = docs.map { $0["text"] as! String }
        for (name, tok, file) in [("smol", smol, "/tmp/tokref/smol_c4.json"), ("gemma", gemma, "/tmp/tokref/gemma_c4.json")] {
            let ref = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
            let ids = ref["ids"] as! [[Int]]
            var bad = 0
            for (i, t) in texts.enumerated() {
                let got = tok.encode(t, addSpecialTokens: false)
                if got != ids[i] { bad += 1; if bad < 3 { print(name, "doc", i, "first diff at", zip(got, ids[i]).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1) } }
            }
            print(name, "c4 mismatches:", bad)
        }
        let fz = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "/tmp/tokref/fuzz.json"))) as! [String: Any]
        let ft = fz["texts"] as! [String]
        for (name, tok) in [("smol", smol), ("gemma", gemma)] {
            let ids = fz[name] as! [[Int]]
            var bad = 0
            for (i, t) in ft.enumerated() {
                let got = tok.encode(t, addSpecialTokens: false)
                if got != ids[i] {
                    bad += 1
                    if bad <= 8 { print(name, t.debugDescription, "got", got, "want", ids[i]) }
                }
                if name == "smol", tok.decode(got, special: true) != t { print("roundtrip", t.debugDescription) }
            }
            print(name, "fuzz mismatches:", bad, "of", ft.count)
        }
    }
}
