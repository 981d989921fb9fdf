// Elementwise and row kernels of the transformer: RMSNorm, RoPE, softmax, SiLU-gating, residual add,
// cosine similarity and log-sum-exp. The ones with exponentials run in the C kernels (the set chosen
// for this CPU, see CKernels.h); the rest are plain loops that the compiler vectorises. The tests hold
// each to its textbook formula.
import CKernels
import Foundation

public enum Kernels {
    /// out[r] = x[r] / sqrt(mean(x[r]²) + eps) ⊙ w, for `rows` rows of width `dim`.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               rows: Int, dim: Int, eps: Float) {
        for r in 0..<rows {
            let xr = x + r * dim, o = out + r * dim
            var ss: Float = 0
            for i in 0..<dim { ss += xr[i] * xr[i] }
            let scale = 1 / (ss / Float(dim) + eps).squareRoot()
            for i in 0..<dim { o[i] = xr[i] * scale * w[i] }
        }
    }

    /// Rotates adjacent pairs (x[2i], x[2i+1]) of the first `2·cos.count/rows` dims of every head by the
    /// angles whose cosines/sines are given per row: the GGUF ("normal") RoPE convention, where the
    /// converter already permuted Q/K so this equals HF's rotate-half form.
    /// x: [rows, heads·headDim]; cos, sin: [rows, ropeDims/2].
    public static func rope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int,
                            cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, halfDims: Int) {
        for r in 0..<rows {
            let c = cos + r * halfDims, s = sin + r * halfDims
            for h in 0..<heads {
                let v = x + r * heads * headDim + h * headDim
                for i in 0..<halfDims {
                    let a = v[2 * i], b = v[2 * i + 1]
                    v[2 * i] = a * c[i] - b * s[i]
                    v[2 * i + 1] = a * s[i] + b * c[i]
                }
            }
        }
    }

    /// Rotates pairs (x[i], x[i + d/2]) of the first d = 2·halfDims dims of every head (HF's
    /// rotate-half form; llama.cpp's NEOX mode, used by Qwen2, Qwen3 and Gemma 3 files, whose
    /// converters do not permute Q/K). x: [rows, heads·headDim]; cos, sin: [rows, halfDims].
    public static func ropeNeox(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int,
                                cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, halfDims: Int) {
        for r in 0..<rows {
            let c = cos + r * halfDims, s = sin + r * halfDims
            for h in 0..<heads {
                let v = x + r * heads * headDim + h * headDim
                for i in 0..<halfDims {
                    let a = v[i], b = v[i + halfDims]
                    v[i] = a * c[i] - b * s[i]
                    v[i + halfDims] = a * s[i] + b * c[i]
                }
            }
        }
    }

    /// x[r] += bias for each of `rows` rows of width `dim`.
    public static func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, dim: Int) {
        for r in 0..<rows { add(x + r * dim, bias, dim) }
    }

    /// x *= s.
    public static func scale(_ x: UnsafeMutablePointer<Float>, _ s: Float, _ n: Int) {
        llmk_scale(x, n, s)
    }

    /// x = cap · tanh(x / cap) (Gemma's logit soft-capping).
    public static func softCap(_ x: UnsafeMutablePointer<Float>, cap: Float, _ n: Int) {
        for i in 0..<n { x[i] = cap * Foundation.tanh(x[i] / cap) }
    }

    /// gate[i] = gelu_tanh(gate[i]) · up[i] (GeGLU with the tanh approximation of GELU):
    /// gelu_tanh(g) = ½g(1 + tanh(√(2/π)(g + 0.044715g³))) = g / (1 + e^(−2u)), u = √(2/π)(g + 0.044715g³).
    public static func geluTanhMul(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        llmk_gelu_tanh_mul(gate, up, n)
    }

    /// The scalar twin of the GeGLU activation, written as its textbook formula.
    public static func geluTanh(_ g: Float) -> Float {
        let inner = 0.797_884_56 * (g + 0.044_715 * g * g * g)
        return 0.5 * g * (1 + Foundation.tanh(inner))
    }

    /// Softmax over x[0..<n] in place.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        guard n > 0 else { return }
        let sum = llmk_exp_shifted(x, n, llmk_max(x, n))
        llmk_scale(x, n, 1 / sum)
    }

    /// x[i] = e^(x[i] − shift) in place; returns Σ x[i] (the unnormalised softmax of online attention).
    public static func expShifted(_ x: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        llmk_exp_shifted(x, n, shift)
    }

    /// Attention of `heads` queries (q + i·dim) that share keys and values: out[i·dim ..< (i+1)·dim] =
    /// softmax_j(scale · q_i·k_j) · V over `keys` keys (rows `ldkv` apart), `block` keys at a time with an
    /// online softmax, each block read once for all the queries; `scratch` holds `block` floats. Each
    /// query's result equals the one it gets alone, bit for bit.
    public static func attendHeads(_ q: UnsafePointer<Float>, heads: Int, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                                   ldkv: Int, keys: Int, dim: Int, scale: Float, _ out: UnsafeMutablePointer<Float>,
                                   scratch: UnsafeMutablePointer<Float>, block: Int) {
        llmk_attend_heads(q, heads, k, v, ldkv, keys, dim, scale, out, scratch, block)
    }

    /// gate[i] = silu(gate[i]) · up[i] (SwiGLU), with silu(g) = g / (1 + e^−g).
    public static func siluMul(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        llmk_silu_mul(gate, up, n)
    }

    /// max(x[0..<n]) (n ≥ 1).
    public static func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        llmk_max(x, n)
    }

    /// e^x for 16 lanes, the exponential of every kernel here (Cephes expf: Cody–Waite reduction
    /// x = n·ln2 + r, degree-6 polynomial for e^r, then 2^n through the exponent bits); within 2 ulp of
    /// expf over the clamped range.
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        var x = x, y = SIMD16<Float>()
        withUnsafePointer(to: &x) { xp in
            withUnsafeMutablePointer(to: &y) { yp in
                llmk_exp16(UnsafeRawPointer(xp).assumingMemoryBound(to: Float.self), UnsafeMutableRawPointer(yp).assumingMemoryBound(to: Float.self))
            }
        }
        return y
    }

    /// x += y.
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { x[i] += y[i] }
    }

    /// Cosine similarity of a and b (length n), accumulated in Float64. By convention 1 when both are
    /// zero (nothing changed) and 0 when only one is.
    public static func cosine(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in 0..<n {
            let x = Double(a[i]), y = Double(b[i])
            ab += x * y
            aa += x * x
            bb += y * y
        }
        if aa == 0 && bb == 0 { return 1 }
        if aa == 0 || bb == 0 { return 0 }
        return ab / (aa.squareRoot() * bb.squareRoot())
    }

    /// log Σ exp(x[i]): exponentials in f32 (vectorised, within 2 ulp), sums in Float64 — perplexity
    /// needs exact normalisers over large vocabularies, and runs this once per predicted token.
    public static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        let m = llmk_max(x, n)
        return Double(m) + Foundation.log(llmk_exp_sum_f64(x, n, m))
    }
}
