/// One way in which a file's tensors differ from the canonical nn.LSTM schema (DESIGN §2), or from
/// an ``Expectation`` the user stated.
///
/// `message` is a self-contained lower-case phrase ("wrong shape: expected … , found …") so that every
/// renderer (text table, JSON, GitHub annotation) can print it beside `module` and `tensor`.
public struct SchemaProblem: Equatable, Hashable, Sendable {
    /// The module prefix without its trailing dot ("" for a bare nn.LSTM state dict).
    public var module: String
    /// The full tensor name as it appears (or should appear) in the file; nil for module-level problems.
    public var tensor: String?
    public var message: String
    /// What the schema asks for, e.g. `(4*hidden_size, hidden_size) = (64, 16)`; nil when not a value.
    public var expected: String?
    /// What the file holds, e.g. `(64, 15)`; nil when the tensor is missing or not a value.
    public var found: String?

    public init(module: String, tensor: String?, message: String, expected: String? = nil, found: String? = nil) {
        self.module = module
        self.tensor = tensor
        self.message = message
        self.expected = expected
        self.found = found
    }

    /// `module 'rnn': rnn.weight_hh_l1: wrong shape: …` — one line, for logs and error sentences.
    public var description: String {
        var s = "LSTM \(SchemaProblem.displayName(module))"
        if let tensor { s += ": \(tensor)" }
        return s + ": " + message
    }

    /// How a module name is shown to people: quoted, and `(root)` for the unprefixed module.
    public static func displayName(_ module: String) -> String {
        module.isEmpty ? "(root)" : "'\(module)'"
    }
}

/// Shapes as the schema messages print them: `(64, 16)`, `(64)`, `()` for 0-d.
public func formatShape(_ shape: [Int]) -> String {
    "(" + shape.map(String.init).joined(separator: ", ") + ")"
}
