// The error bound Quantize's Q4_K fit guarantees, for the tests of the quantiser and of Q4_K synthetic models.

/// Per weight of one 256-weight block: |dequantise(quantise(x)) − x| ≤ (step_j + d)/2 + dmin/2 (Quantize.q4_K),
/// with step_j = (max − min(0, min)) / 15 of sub-block j, d and dmin the largest step and −min over 63
/// (× (1 + 2⁻⁹) for their rounding up to f16), and a relative 1e-6 of the block's range for f32 rounding.
public func q4KErrorBound(_ block: ArraySlice<Float>) -> [Float] {
    let subs = stride(from: block.startIndex, to: block.endIndex, by: 32).map { block[$0..<$0 + 32] }
    let lo = subs.map { min(0, $0.min()!) }, hi = subs.map { $0.max()! }
    let step = zip(lo, hi).map { ($1 - $0) / 15 }
    let d = step.max()! / 63 * (1 + 1 / 512), dmin = -lo.min()! / 63 * (1 + 1 / 512)
    let eps = 1e-6 * max(hi.max()!, -lo.min()!, 1e-30)
    return subs.indices.flatMap { j in Array(repeating: (step[j] + d) / 2 + dmin / 2 + eps, count: 32) }
}
