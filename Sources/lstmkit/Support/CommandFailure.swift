import LSTMSchema
import TensorFormats

/// Ends a command with a non-zero ``ExitStatus`` and the one sentence to print on stderr.
///
/// Throw it from ``ConsoleCommand/execute(_:)``; ``CommandRunner`` prints `sentence` and exits with
/// `status`. A `FormatError` thrown as it is becomes `.unusableInput` with its `description`, so
/// readers' errors need no wrapping:
///
/// ```swift
/// guard model.modules.count == 1 else {
///     throw CommandFailure(.usage, "\(path): holds \(model.modules.count) LSTMs; pick one with --module")
/// }
/// ```
struct CommandFailure: Error, Sendable, CustomStringConvertible {
    var status: ExitStatus
    /// One sentence naming the file (and tensor or byte offset where it applies), no trailing newline.
    var sentence: String

    init(_ status: ExitStatus, _ sentence: String) {
        self.status = status
        self.sentence = sentence
    }

    /// The input cannot be used: exit 2 with the error's own sentence.
    static func unusable(_ error: FormatError) -> CommandFailure {
        CommandFailure(.unusableInput, error.description)
    }

    var description: String { sentence }
}
