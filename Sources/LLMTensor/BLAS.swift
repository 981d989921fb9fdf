// Matrix products through the platform BLAS: OpenBLAS (CBLAS) on Linux, Accelerate on Apple.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

public enum BLAS {
    /// Sets how many threads BLAS itself may use for one call.
    public static func setThreads(_ n: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(n))
        #endif
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
