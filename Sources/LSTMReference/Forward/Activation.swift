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

    /// The activations of an ONNX node (names matched case-insensitively, as onnxruntime does),
    /// consuming `alpha` and `beta` in order: each function that takes an alpha pops the next
    /// value of `alpha` (likewise beta); when a list runs out the defaults in the table apply.
    /// Throws for an unknown name.
    public static func resolve(_ names: [String], alpha: [Float], beta: [Float]) throws(FormatError) -> [Activation] {
        var ai = 0, bi = 0
        func nextAlpha(_ d: Double) -> Double {
            defer { ai += 1 }
            return ai < alpha.count ? Double(alpha[ai]) : d
        }
        func nextBeta(_ d: Double) -> Double {
            defer { bi += 1 }
            return bi < beta.count ? Double(beta[bi]) : d
        }
        var out: [Activation] = []
        for name in names {
            switch name.lowercased() {
            case "relu": out.append(.relu)
            case "tanh": out.append(.tanh)
            case "sigmoid": out.append(.sigmoid)
            case "affine":
                let a = nextAlpha(0)
                out.append(.affine(alpha: a, beta: nextBeta(0)))
            case "leakyrelu": out.append(.leakyRelu(alpha: nextAlpha(0.01)))
            case "thresholdedrelu": out.append(.thresholdedRelu(alpha: nextAlpha(0)))
            case "scaledtanh":
                let a = nextAlpha(0)
                out.append(.scaledTanh(alpha: a, beta: nextBeta(0)))
            case "hardsigmoid":
                let a = nextAlpha(0.2)
                out.append(.hardSigmoid(alpha: a, beta: nextBeta(0.5)))
            case "elu": out.append(.elu(alpha: nextAlpha(1)))
            case "softsign": out.append(.softsign)
            case "softplus": out.append(.softplus)
            default:
                throw FormatError(.unsupported, "activation '\(name)' is not one of Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus")
            }
        }
        return out
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
