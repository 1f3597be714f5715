import TensorFormats

/// A config value the user requires, from `--expect KEY=VALUE` (e.g. `hidden_size=256`,
/// `bidirectional=true`, `dtype=float16`). Keys are the JSON names of ``LSTMConfig``'s fields.
public struct Expectation: Equatable, Sendable, CustomStringConvertible {
    /// The config keys (``LSTMConfig/Field``).
    public typealias Key = LSTMConfig.Field
    public typealias Value = LSTMConfig.Value

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
        self.init(key: key, value: try key.parse(valueText))
    }

    public var description: String { "\(key.rawValue)=\(value)" }

    /// The config's value for `key`.
    public static func value(of key: Key, in config: LSTMConfig) -> Value { key.value(in: config) }

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
