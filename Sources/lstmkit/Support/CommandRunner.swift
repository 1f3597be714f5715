import ArgumentParser
import LSTMReference
import LSTMSchema
import TensorFormats

/// Parses a command line, runs the command and maps every outcome to an exit code and at most one
/// sentence on stderr. `main` and the in-process tests both go through ``run(_:console:columns:)``.
///
/// | outcome | exit | printed |
/// |---|---|---|
/// | success, `--help`, `--version` | 0 | the result / help on stdout |
/// | ``CommandFailure`` | its status | its sentence on stderr |
/// | `FormatError` | 2 | its `description` (file, entry, byte offset) on stderr |
/// | a bad command line, `ValidationError`, ``ExpectationError``, a bad `LSTMKIT_KERNELS` | 64 | one line on stderr |
enum CommandRunner {
    /// Runs `arguments` (without the program name) and returns the exit code. `columns` fixes the
    /// width of help text (nil: the terminal's, or 80).
    static func run(_ arguments: [String], console: Console, columns: Int? = nil) -> Int32 {
        let command: ParsableCommand
        do {
            command = try LSTMKit.parseAsRoot(arguments)
        } catch {
            return report(error, arguments: arguments, console: console, columns: columns)
        }
        do {
            if let command = command as? ConsoleCommand {
                if command is RunsForwardPass {
                    do { _ = try KernelPath.fromEnvironment() } catch { throw CommandFailure(.usage, "lstmkit: \(error)") }
                }
                let budget = (command as? UsesMemoryBudget)?.limitOptions.makeBudget() ?? .process
                let status = try MemoryBudget.$current.withValue(budget) { try command.execute(console) }
                return status.rawValue
            }
            var plain = command
            try plain.run()
            return ExitStatus.success.rawValue
        } catch {
            return report(error, arguments: arguments, console: console, columns: columns)
        }
    }

    private static func report(_ error: Error, arguments: [String], console: Console, columns: Int?) -> Int32 {
        switch error {
        case let failure as CommandFailure:
            console.printError(failure.sentence)
            return failure.status.rawValue
        case let format as FormatError:
            console.printError(format.description)
            return ExitStatus.unusableInput.rawValue
        case let expectation as ExpectationError:
            console.printError("lstmkit: --expect \(expectation.message)")
            return ExitStatus.usage.rawValue
        case let exit as ExitCode:
            return exit.rawValue
        default:
            let code = LSTMKit.exitCode(for: error).rawValue
            if code == 0 {
                console.write(LSTMKit.fullMessage(for: error, columns: columns), error: false)
                console.print()
                return 0
            }
            let subcommand = arguments.first { name in
                LSTMKit.configuration.subcommands.contains { $0.configuration.commandName == name || $0._commandName == name }
            }
            let name = subcommand.map { "lstmkit \($0)" } ?? "lstmkit"
            let message = LSTMKit.message(for: error)
            console.printError("\(name): \(lowercasedFirst(message)) (see '\(name) --help')")
            return code == ExitCode.validationFailure.rawValue ? ExitStatus.usage.rawValue : code
        }
    }

    private static func lowercasedFirst(_ s: String) -> String {
        guard let first = s.first else { return s }
        let rest = s.dropFirst()
        // Keep acronyms and option spellings ("ONNX", "--json") as they are.
        if let second = rest.first, second.isUppercase { return s }
        return first.lowercased() + rest
    }
}

/// A command that computes forward passes: `LSTMKIT_KERNELS` is checked before it runs.
protocol RunsForwardPass {}
