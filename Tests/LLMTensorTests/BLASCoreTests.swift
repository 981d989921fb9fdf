// Which OpenBLAS kernels the CLI restarts with: AVX-512 ones where the library chose its generic or AVX2
// kernels on a CPU with AVX-512, AVX2 ones where it fell back to generic kernels, none otherwise.
import LLMTensor
import XCTest

final class BLASCoreTests: XCTestCase {
    let avx2: Set<String> = ["sse2", "avx", "avx2", "fma", "f16c"]
    var avx512: Set<String> { avx2.union(["avx512f", "avx512bw", "avx512dq", "avx512vl"]) }

    func testAVX512CPUsGetSkylakeXKernels() {
        for chosen in ["Prescott", "Nehalem", "Haswell", "Zen"] {
            XCTAssertEqual(BLAS.betterCoreType(chosen: chosen, flags: avx512), "SkylakeX", chosen)
        }
        // AVX-512 F alone (Knights Landing) is not enough for the SkylakeX kernels.
        XCTAssertEqual(BLAS.betterCoreType(chosen: "Haswell", flags: avx2.union(["avx512f"])), nil)
    }

    func testAVX2CPUsLeaveAVX2KernelsAlone() {
        XCTAssertEqual(BLAS.betterCoreType(chosen: "Prescott", flags: avx2), "Haswell")
        XCTAssertEqual(BLAS.betterCoreType(chosen: "Haswell", flags: avx2), nil)
        XCTAssertEqual(BLAS.betterCoreType(chosen: "Zen", flags: avx2), nil)
        XCTAssertEqual(BLAS.betterCoreType(chosen: "Prescott", flags: ["sse2", "avx"]), nil)
    }

    func testRecognisedCoresAreKept() {
        for chosen in ["SkylakeX", "Cooperlake", "SapphireRapids"] {
            XCTAssertEqual(BLAS.betterCoreType(chosen: chosen, flags: avx512), nil, chosen)
        }
    }
}
