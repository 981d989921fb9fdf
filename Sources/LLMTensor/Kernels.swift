// Elementwise and row kernels of the transformer: RMSNorm, RoPE, softmax, SiLU-gating, residual add,
// cosine similarity and log-sum-exp. Written as plain loops that the compiler vectorises; the
// quantised kernels (Dequantize.swift, QuantDot.swift) carry separate scalar twins.
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
        for i in 0..<n { x[i] *= s }
    }

    /// x = cap · tanh(x / cap) (Gemma's logit soft-capping).
    public static func softCap(_ x: UnsafeMutablePointer<Float>, cap: Float, _ n: Int) {
        for i in 0..<n { x[i] = cap * Foundation.tanh(x[i] / cap) }
    }

    /// gate[i] = gelu_tanh(gate[i]) · up[i] (GeGLU with the tanh approximation of GELU):
    /// gelu_tanh(g) = ½g(1 + tanh(√(2/π)(g + 0.044715g³))) = g / (1 + e^(−2u)), u = √(2/π)(g + 0.044715g³).
    public static func geluTanhMul(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        let k: Float = 0.797_884_56   // √(2/π)
        let v = n / 16 * 16
        var i = 0
        while i < v {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD16<Float>.self)
            let inner = k * (g + 0.044_715 * g * g * g)
            UnsafeMutableRawPointer(gate + i).storeBytes(of: g / (1 + exp(-2 * inner)) * u, as: SIMD16<Float>.self)
            i += 16
        }
        for j in v..<n { gate[j] = geluTanh(gate[j]) * up[j] }
    }

    /// The scalar twin of the GeGLU activation, written as its textbook formula.
    public static func geluTanh(_ g: Float) -> Float {
        let inner = 0.797_884_56 * (g + 0.044_715 * g * g * g)
        return 0.5 * g * (1 + Foundation.tanh(inner))
    }

    /// Softmax over x[0..<n] in place.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        let v = n / 16 * 16
        var sum: Float = 0
        forEachExp(x, n, shift: maximum(x, n)) { sum += $0 }
        let inv = 1 / sum
        var i = 0
        while i < v {
            let p = UnsafeMutableRawPointer(x + i)
            p.storeBytes(of: p.loadUnaligned(as: SIMD16<Float>.self) * inv, as: SIMD16<Float>.self)
            i += 16
        }
        for j in v..<n { x[j] *= inv }
    }

    /// gate[i] = silu(gate[i]) · up[i] (SwiGLU), with silu(g) = g / (1 + e^−g).
    public static func siluMul(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        let v = n / 16 * 16
        var i = 0
        while i < v {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(gate + i).storeBytes(of: g / (1 + exp(-g)) * u, as: SIMD16<Float>.self)
            i += 16
        }
        for j in v..<n {
            let g = gate[j]
            gate[j] = g / (1 + Foundation.exp(-g)) * up[j]
        }
    }

    /// max(x[0..<n]), 16 lanes at a time.
    public static func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let v = n / 16 * 16
        var m16 = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i < v {
            // A compare and blend: `pointwiseMax` in a loop compiles to scalar code here, 100× slower
            // (it was 38 % of a 4096-token prefill).
            let x16 = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            m16.replace(with: x16, where: x16 .> m16)
            i += 16
        }
        var m = m16.max()
        for j in v..<n { m = max(m, x[j]) }
        return m
    }

    /// x[i] = e^(x[i] − shift) in place, 16 lanes at a time, reporting each chunk's sum to `accumulate`.
    @inline(__always)
    static func forEachExp(_ x: UnsafeMutablePointer<Float>, _ n: Int, shift: Float, _ accumulate: (Float) -> Void) {
        let v = n / 16 * 16
        var i = 0
        while i < v {
            let e = exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - shift)
            UnsafeMutableRawPointer(x + i).storeBytes(of: e, as: SIMD16<Float>.self)
            accumulate(e.sum())
            i += 16
        }
        for j in v..<n {
            x[j] = Foundation.exp(x[j] - shift)
            accumulate(x[j])
        }
    }

    /// e^x for 16 lanes (Cephes expf: Cody–Waite reduction x = n·ln2 + r, degree-6 polynomial for e^r,
    /// then 2^n through the exponent bits); within 2 ulp of expf over the clamped range. Rounding and
    /// the float→int step use the 1.5·2²³ trick: generic SIMD conversions are not vectorised.
    @inline(__always)
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let x = pointwiseMax(pointwiseMin(x, SIMD16(repeating: 88.3)), SIMD16(repeating: -87.3))
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let shifted = x * 1.442_695_04 + magic   // n + magic, n = round(x / ln2)
        let n = shifted - magic
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * r * r + r + 1
        let ni = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
        return p * unsafeBitCast((ni &+ 127) &<< 23, to: SIMD16<Float>.self)
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
        let v = n / 16 * 16
        let m = maximum(x, n)
        var sum = 0.0
        var i = 0
        while i < v {
            sum += Double(exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m).sum())
            i += 16
        }
        for j in v..<n { sum += Foundation.exp(Double(x[j] - m)) }
        return Double(m) + Foundation.log(sum)
    }
}
