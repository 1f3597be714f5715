import TensorFormats

/// One ONNX RNN activation as named by a node: its canonical ONNX name and the alpha / beta it
/// takes, after ONNX's consumption rule (``resolve(_:alpha:beta:)``). The reference pass evaluates
/// it; format mappings (Keras) translate it.
public struct ActivationFunction: Equatable, Sendable {
    /// Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus.
    public var name: String
    /// nil when the function takes none.
    public var alpha: Double?
    public var beta: Double?

    public init(_ name: String, alpha: Double? = nil, beta: Double? = nil) {
        self.name = name
        self.alpha = alpha
        self.beta = beta
    }

    /// Each function's parameters, with the defaults onnxruntime uses when a list runs out.
    static let parameters: [String: (name: String, alpha: Double?, beta: Double?)] = [
        "relu": ("Relu", nil, nil), "tanh": ("Tanh", nil, nil), "sigmoid": ("Sigmoid", nil, nil),
        "affine": ("Affine", 0, 0), "leakyrelu": ("LeakyRelu", 0.01, nil), "thresholdedrelu": ("ThresholdedRelu", 0, nil),
        "scaledtanh": ("ScaledTanh", 0, 0), "hardsigmoid": ("HardSigmoid", 0.2, 0.5), "elu": ("Elu", 1, nil),
        "softsign": ("Softsign", nil, nil), "softplus": ("Softplus", nil, nil),
    ]

    /// The functions of a node's `activations` (names matched case-insensitively, as onnxruntime
    /// does), consuming `alpha` and `beta` in order: each function that takes an alpha pops the
    /// next value of `alpha` (likewise beta); when a list runs out its default applies. Throws for
    /// an unknown name.
    public static func resolve(_ names: [String], alpha: [Float], beta: [Float]) throws(FormatError) -> [ActivationFunction] {
        var ai = 0, bi = 0
        var out: [ActivationFunction] = []
        for name in names {
            guard let p = parameters[name.lowercased()] else {
                throw FormatError(.unsupported, "activation '\(name)' is not one of Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus")
            }
            var f = ActivationFunction(p.name)
            if let d = p.alpha {
                f.alpha = ai < alpha.count ? Double(alpha[ai]) : d
                ai += 1
            }
            if let d = p.beta {
                f.beta = bi < beta.count ? Double(beta[bi]) : d
                bi += 1
            }
            out.append(f)
        }
        return out
    }
}
