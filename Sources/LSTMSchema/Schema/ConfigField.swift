import TensorFormats

extension LSTMConfig {
    /// The config's fields, in the one order every report uses, spelled as the JSON report,
    /// `--expect`, text tables, `compare` and ONNX export metadata spell them.
    public enum Field: String, CaseIterable, Sendable {
        case inputSize = "input_size"
        case hiddenSize = "hidden_size"
        case numLayers = "num_layers"
        case bidirectional
        case projSize = "proj_size"
        case bias
        case dtype

        /// `field`'s value in `config`.
        public func value(in config: LSTMConfig) -> Value {
            switch self {
            case .inputSize: .int(config.inputSize)
            case .hiddenSize: .int(config.hiddenSize)
            case .numLayers: .int(config.numLayers)
            case .bidirectional: .bool(config.bidirectional)
            case .projSize: .int(config.projSize)
            case .bias: .bool(config.bias)
            case .dtype: .dtype(config.dtype)
            }
        }

        /// Whether values are whole numbers (right-aligned in tables).
        public var isNumeric: Bool {
            switch self {
            case .inputSize, .hiddenSize, .numLayers, .projSize: true
            case .bidirectional, .bias, .dtype: false
            }
        }

        /// Parses `text` as this field's value: decimal integers ≥ 0; true/false (also 1/0, yes/no);
        /// numpy dtype names. The error names the field and the accepted values.
        public func parse(_ text: String) throws(ExpectationError) -> Value {
            switch self {
            case .inputSize, .hiddenSize, .numLayers, .projSize:
                guard let v = Int(text), v >= 0 else { throw ExpectationError("\(rawValue) needs a whole number ≥ 0, not '\(text)'") }
                return .int(v)
            case .bidirectional, .bias:
                switch text.lowercased() {
                case "true", "1", "yes": return .bool(true)
                case "false", "0", "no": return .bool(false)
                default: throw ExpectationError("\(rawValue) needs true or false, not '\(text)'")
                }
            case .dtype:
                guard let d = DType(rawValue: text.lowercased()) else {
                    throw ExpectationError("dtype needs a numpy dtype name (\(DType.allCases.map(\.name).joined(separator: ", "))), not '\(text)'")
                }
                return .dtype(d)
            }
        }
    }

    /// One config value.
    public enum Value: Equatable, Sendable, CustomStringConvertible {
        case int(Int)
        case bool(Bool)
        case dtype(DType)

        public var description: String {
            switch self {
            case .int(let v): String(v)
            case .bool(let v): String(v)
            case .dtype(let v): v.name
            }
        }
    }

    /// The config with `values` (every field present), nil when one is missing.
    public init?(_ values: [Field: Value]) {
        guard case .int(let i)? = values[.inputSize], case .int(let h)? = values[.hiddenSize],
              case .int(let l)? = values[.numLayers], case .bool(let bi)? = values[.bidirectional],
              case .int(let p)? = values[.projSize], case .bool(let b)? = values[.bias],
              case .dtype(let d)? = values[.dtype] else { return nil }
        self.init(inputSize: i, hiddenSize: h, numLayers: l, bidirectional: bi, projSize: p, bias: b, dtype: d)
    }
}
