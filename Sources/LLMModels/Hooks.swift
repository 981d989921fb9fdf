// Named hook points of a transformer layer (after llama.cpp's `cb(cur, "attn_norm", il)`): a caller
// observes activations without the forward pass knowing who listens.

public enum HookPoint: String, CaseIterable, Sendable {
    /// Residual stream entering the layer: X.
    case blockIn
    /// Input of attention: Norm₁(X).
    case attnIn
    /// Attention output before the residual add: Attn(Norm₁(X)).
    case attnOut
    /// Residual stream after attention: X' = X + Attn(Norm₁(X)) (X when attention is dropped).
    case attnResidual
    /// Input of the MLP: Norm₂(X').
    case mlpIn
    /// MLP output before the residual add: MLP(Norm₂(X')).
    case mlpOut
    /// Residual stream leaving the layer: X' + MLP(Norm₂(X')).
    case blockOut
}

/// Receives activations at the hook points it asks for. `values` is [rows, width], row-major, valid
/// only during the call. Rows are all tokens of the forward call, sequence after sequence.
public protocol ForwardObserver: AnyObject {
    var points: Set<HookPoint> { get }
    func observe(_ point: HookPoint, layer: Int, values: UnsafePointer<Float>, rows: Int, width: Int)
}
