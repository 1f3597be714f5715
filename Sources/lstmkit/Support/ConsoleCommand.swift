import ArgumentParser

/// A subcommand that writes through a ``Console`` and returns its ``ExitStatus``, so that it runs
/// the same way from `main` and in-process from tests (``CommandRunner/run(_:console:columns:)``).
///
/// Conform, implement `execute`, and list the type in `LSTMKit.configuration.subcommands`:
///
/// ```swift
/// struct Verify: ConsoleCommand {
///     static let configuration = CommandConfiguration(abstract: "…", discussion: "Example: …")
///     @Argument var model: String
///     func execute(_ console: Console) throws -> ExitStatus {
///         let loaded = try ModelInput.load(model)      // exit 2 with the reader's sentence on bad input
///         …
///         console.print(table.render())
///         return passed ? .success : .checkFailed     // or throw CommandFailure(.checkFailed, "…")
///     }
/// }
/// ```
///
/// Returning `.checkFailed` without throwing is allowed only after printing the failure sentence
/// with `console.printError`; throwing ``CommandFailure`` does that for you.
protocol ConsoleCommand: ParsableCommand {
    func execute(_ console: Console) throws -> ExitStatus
}

extension ConsoleCommand {
    /// Used only when ArgumentParser's own `main` runs the command; lstmkit's `main` calls
    /// ``CommandRunner`` instead.
    mutating func run() throws {
        let status = try execute(Console.standard)
        if status != .success { throw ExitCode(status.rawValue) }
    }
}
