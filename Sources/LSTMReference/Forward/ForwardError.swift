import TensorFormats

/// Why the forward pass cannot run, naming the argument at fault: the input, an initial state or
/// the sequence lengths (files the caller gave), or the module itself (a weight that does not fit
/// its config, a variant feature that cannot be evaluated).
public struct ForwardError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Argument: String, Sendable {
        case input, h0, c0
        case sequenceLengths = "sequence_lens"
        case module
    }

    public var argument: Argument
    /// For ``Argument/module``: the weight or module entry at fault, when there is one.
    public var tensor: String?
    public var reason: FormatError.Reason
    /// What is wrong, in lower case, naming the argument or tensor.
    public var message: String

    public init(_ argument: Argument, _ reason: FormatError.Reason, _ message: String, tensor: String? = nil) {
        self.argument = argument
        self.reason = reason
        self.message = message
        self.tensor = tensor
    }

    public var description: String { message }

    /// This error as a sentence about `file` (entry: the tensor, or the argument's name).
    public func formatError(file: String) -> FormatError {
        FormatError(reason, message, file: file, entry: argument == .module ? tensor : argument.rawValue)
    }

    /// A reader or tensor error met while running `module` (e.g. an activation it names).
    static func module(_ error: FormatError) -> ForwardError {
        ForwardError(.module, error.reason, error.message, tensor: error.entry)
    }
}
