import LSTMSchema
import TensorFormats

/// An ONNX RNN activation function with its alpha / beta, as onnxruntime evaluates it
/// (`rnn_activation_functors.h`).
///
/// | name | value | alpha, beta (default when the attribute list runs out) |
/// |---|---|---|
/// | Relu | max(0, x) | — |
/// | Tanh | tanh(x) | — |
/// | Sigmoid | 1 / (1 + e^−x) | — |
/// | Affine | α·x + β | α, β (0, 0) |
/// | LeakyRelu | x ≥ 0 ? x : α·x | α (0.01) |
/// | ThresholdedRelu | x > α ? x : 0 | α (0) |
/// | ScaledTanh | α·tanh(β·x) | α, β (0, 0) |
/// | HardSigmoid | min(max(α·x + β, 0), 1) | α, β (0.2, 0.5) |
/// | Elu | x ≥ 0 ? x : α·(e^x − 1) | α (1) |
/// | Softsign | x / (1 + \|x\|) | — |
/// | Softplus | log(1 + e^x) | — |
public enum Activation: Sendable, Equatable {
    case relu, tanh, sigmoid
    case affine(alpha: Double, beta: Double)
    case leakyRelu(alpha: Double)
    case thresholdedRelu(alpha: Double)
    case scaledTanh(alpha: Double, beta: Double)
    case hardSigmoid(alpha: Double, beta: Double)
    case elu(alpha: Double)
    case softsign, softplus

    /// The activations of an ONNX node, consuming `alpha` and `beta` in order as onnxruntime does
    /// (``ActivationFunction/resolve(_:alpha:beta:)``; the defaults in the table apply when a list
    /// runs out). Throws for an unknown name.
    public static func resolve(_ names: [String], alpha: [Float], beta: [Float]) throws(FormatError) -> [Activation] {
        try ActivationFunction.resolve(names, alpha: alpha, beta: beta).map { f in
            switch f.name {
            case "Relu": .relu
            case "Tanh": .tanh
            case "Sigmoid": .sigmoid
            case "Affine": .affine(alpha: f.alpha ?? 0, beta: f.beta ?? 0)
            case "LeakyRelu": .leakyRelu(alpha: f.alpha ?? 0.01)
            case "ThresholdedRelu": .thresholdedRelu(alpha: f.alpha ?? 0)
            case "ScaledTanh": .scaledTanh(alpha: f.alpha ?? 0, beta: f.beta ?? 0)
            case "HardSigmoid": .hardSigmoid(alpha: f.alpha ?? 0.2, beta: f.beta ?? 0.5)
            case "Elu": .elu(alpha: f.alpha ?? 1)
            case "Softsign": .softsign
            default: .softplus
            }
        }
    }

    /// The value at `x`, computed in `T`.
    @inline(__always)
    func apply<T: LSTMScalar>(_ x: T) -> T {
        switch self {
        case .sigmoid: return T.sigmoid(x)
        case .tanh: return T.tanh(x)
        case .relu: return x > 0 ? x : 0
        case .affine(let a, let b): return T(a) * x + T(b)
        case .leakyRelu(let a): return x >= 0 ? x : T(a) * x
        case .thresholdedRelu(let a): return x > T(a) ? x : 0
        case .scaledTanh(let a, let b): return T(a) * T.tanh(T(b) * x)
        case .hardSigmoid(let a, let b): return Swift.min(Swift.max(T(a) * x + T(b), 0), 1)
        case .elu(let a): return x >= 0 ? x : T(a) * (T.exp(x) - 1)
        case .softsign: return x / (1 + Swift.abs(x))
        case .softplus: return T.log1p(T.exp(x))
        }
    }

    /// Applies the function to every element of `buffer` in place.
    @inline(__always)
    func apply<T: LSTMScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int) {
        switch self {
        case .sigmoid: T.sigmoid(buffer, count: count)
        case .tanh: T.tanh(buffer, count: count)
        default: for j in 0..<count { buffer[j] = apply(buffer[j]) }
        }
    }
}
