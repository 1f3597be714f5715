import TensorFormats

/// A config value the user requires, from `--expect KEY=VALUE` (e.g. `hidden_size=256`,
/// `bidirectional=true`, `dtype=float16`). Keys are the JSON names of ``LSTMConfig``'s fields.
public struct Expectation: Equatable, Sendable, CustomStringConvertible {
    /// The config keys, spelled as in the JSON report.
    public enum Key: String, CaseIterable, Sendable {
        case inputSize = "input_size"
        case hiddenSize = "hidden_size"
        case numLayers = "num_layers"
        case bidirectional
        case projSize = "proj_size"
        case bias
        case dtype
    }

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

    public var key: Key
    public var value: Value

    public init(key: Key, value: Value) {
        self.key = key
        self.value = value
    }

    /// Parses `KEY=VALUE`. Integers are decimal and ≥ 0; booleans are true/false (also 1/0, yes/no);
    /// dtypes are numpy names. The error is one sentence naming the bad part and the accepted values.
    public init(parsing text: String) throws(ExpectationError) {
        guard let eq = text.firstIndex(of: "=") else {
            throw ExpectationError("'\(text)' is not KEY=VALUE (keys: \(Key.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let keyText = String(text[..<eq]).trimmingSpaces
        let valueText = String(text[text.index(after: eq)...]).trimmingSpaces
        guard let key = Key(rawValue: keyText) else {
            throw ExpectationError("unknown key '\(keyText)' in '\(text)' (keys: \(Key.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        switch key {
        case .inputSize, .hiddenSize, .numLayers, .projSize:
            guard let v = Int(valueText), v >= 0 else {
                throw ExpectationError("\(keyText) needs a whole number ≥ 0, not '\(valueText)'")
            }
            self.init(key: key, value: .int(v))
        case .bidirectional, .bias:
            switch valueText.lowercased() {
            case "true", "1", "yes": self.init(key: key, value: .bool(true))
            case "false", "0", "no": self.init(key: key, value: .bool(false))
            default: throw ExpectationError("\(keyText) needs true or false, not '\(valueText)'")
            }
        case .dtype:
            guard let d = DType(rawValue: valueText.lowercased()) else {
                throw ExpectationError("dtype needs a numpy dtype name (\(DType.allCases.map(\.name).joined(separator: ", "))), not '\(valueText)'")
            }
            self.init(key: key, value: .dtype(d))
        }
    }

    public var description: String { "\(key.rawValue)=\(value)" }

    /// The config's value for `key`.
    public static func value(of key: Key, in config: LSTMConfig) -> Value {
        switch key {
        case .inputSize: .int(config.inputSize)
        case .hiddenSize: .int(config.hiddenSize)
        case .numLayers: .int(config.numLayers)
        case .bidirectional: .bool(config.bidirectional)
        case .projSize: .int(config.projSize)
        case .bias: .bool(config.bias)
        case .dtype: .dtype(config.dtype)
        }
    }

    /// A problem (module-level, no tensor) when `config` does not have the expected value; nil when it does.
    public func check(_ config: LSTMConfig, module: String) -> SchemaProblem? {
        let actual = Expectation.value(of: key, in: config)
        guard actual != value else { return nil }
        return SchemaProblem(module: module, tensor: nil,
                             message: "\(key.rawValue) is \(actual), expected \(value) (--expect \(self))",
                             expected: value.description, found: actual.description)
    }
}

/// A `--expect` argument that cannot be parsed; the CLI turns it into a usage error (exit 64).
public struct ExpectationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
