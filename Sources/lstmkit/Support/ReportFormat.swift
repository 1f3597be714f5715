import ArgumentParser

/// How a checking command prints its report: `--format text|json|github`, `--json` being short for
/// `--format json`. Add to a command with `@OptionGroup var output: OutputOptions`.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Aligned tables for people.
    case text
    /// DESIGN §3's JSON object on stdout.
    case json
    /// `::error file=…::message` lines for GitHub Actions.
    case github
}

/// `--json` and `--format`; `resolved` is the format to use (`--json --format github` is a usage error).
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON object on stdout (same as --format json).")
    var json = false

    @Option(help: "Report format: text, json or github (GitHub Actions annotations).")
    var format: ReportFormat?

    var resolved: ReportFormat { json ? .json : (format ?? .text) }

    func validate() throws {
        if json, let format, format != .json {
            throw ValidationError("--json and --format \(format.rawValue) cannot be combined")
        }
    }
}
