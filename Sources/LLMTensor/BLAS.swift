// Matrix products through the platform BLAS: OpenBLAS (CBLAS) on Linux, Accelerate on Apple.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
import Foundation
#endif

public enum BLAS {
    /// Sets how many threads BLAS itself may use for one call.
    public static func setThreads(_ n: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(n))
        #endif
    }

    /// The kernel family BLAS chose for this CPU (OpenBLAS core name), for reports.
    public static var coreName: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        return openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        #endif
    }

    /// OpenBLAS picks its kernels when the library loads; a CPU it does not recognise (common in
    /// virtual machines that hide the model number) gets the generic SSE3 "Prescott" kernels, 3–5×
    /// slower, and an AVX-512 CPU newer than the library (Debian 12's 0.3.21 on AMD Zen 5) gets its
    /// AVX2 "Haswell" kernels: SGEMM 105 against 188 GFLOP/s with "SkylakeX" on one Zen 5 core (later
    /// OpenBLAS releases pick the AVX-512 kernels for Zen 4 and newer themselves). This names the
    /// kernels the CPU's features support, when OpenBLAS chose slower ones and the user did not choose
    /// (`OPENBLAS_CORETYPE`): the process must then restart with that variable.
    public static var betterCoreType: String? {
        #if os(Linux) && arch(x86_64)
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        return betterCoreType(chosen: coreName, flags: Set(flagsLine.split(separator: " ").map(String.init)))
        #else
        return nil
        #endif
    }

    /// The kernels to ask for instead of `chosen` on a CPU with these /proc/cpuinfo flags, or nil.
    public static func betterCoreType(chosen: String, flags: Set<String>) -> String? {
        let generic = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Katmai", "Northwood", "Banias"].contains(chosen)
        let avx2Class = ["Haswell", "Zen"].contains(chosen)
        if generic || avx2Class, ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if generic, flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// y[m, n] = x[m, k] · w[n, k]ᵀ (+ y when `accumulate`): a linear layer with row-major weights,
    /// one output feature per weight row (the GGUF layout).
    public static func linear(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, accumulate: Bool = false, ldx: Int? = nil, ldy: Int? = nil
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans,
            Int32(m), Int32(n), Int32(k),
            1, x, Int32(ldx ?? k), w, Int32(k),
            accumulate ? 1 : 0, y, Int32(ldy ?? n))
    }

    /// c[m, n] = alpha · a[m, k] · b[k, n] (+ beta · c), all row-major with explicit leading dimensions.
    public static func gemm(
        _ a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        _ b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        _ c: UnsafeMutablePointer<Float>, ldc: Int,
        m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
