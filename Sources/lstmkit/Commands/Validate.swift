import ArgumentParser
import LSTMSchema
import TensorFormats

/// `lstmkit validate FILE [--module NAME] [--expect KEY=VALUE]... [--json | --format github]`:
/// checks every LSTM against the nn.LSTM schema and the user's expectations.
/// Exit 0 when all pass, 1 with every problem listed, 2 when the file cannot be used, 64 on bad arguments.
struct Validate: ConsoleCommand, UsesMemoryBudget {
    static let configuration = CommandConfiguration(
        abstract: "Check the LSTMs in a file against the nn.LSTM schema and your expectations.",
        discussion: """
        Infers each LSTM's config from its tensors, then checks every tensor against it and reports \
        every problem: missing and unexpected tensors, wrong shapes (with the expected shape and its \
        formula), layer gaps, mixed dtypes, GRU-like gate sizes. --expect adds requirements on the \
        config (keys: input_size, hidden_size, num_layers, bidirectional, proj_size, bias, dtype). \
        A file without any LSTM, or without the --module asked for, fails.

        Exit status: 0 valid, 1 problems found, 2 the file cannot be used, 64 bad arguments.

        Examples:
          lstmkit validate model.pt --expect hidden_size=256 --expect num_layers=2
          lstmkit validate crnn.pt --module rnn.0.rnn --format github
        """
    )

    @Argument(help: "The file to check.")
    var file: String

    @Option(help: "Check only the LSTM with this name (its prefix without the trailing dot).")
    var module: String?

    @Option(name: .customLong("expect"), help: ArgumentHelp("Require a config value (repeatable).", valueName: "key=value"))
    var expectations: [String] = []

    @OptionGroup var output: OutputOptions

    @OptionGroup var limitOptions: LimitOptions

    func validate() throws {
        for text in expectations {
            do { _ = try Expectation(parsing: text) } catch { throw ValidationError("--expect \(error.message)") }
        }
    }

    func execute(_ console: Console) throws -> ExitStatus {
        let expected = try expectations.map { text throws(ExpectationError) in try Expectation(parsing: text) }
        let model = try ModelInput.load(file, limits: limitOptions.limits.metadataOnly)
        var selected = model.discovered
        var problems: [SchemaProblem] = []
        if let module {
            selected = model.discovered.filter { $0.name == module }
            if selected.isEmpty {
                let names = model.discovered.map { SchemaProblem.displayName($0.name) }.joined(separator: ", ")
                problems.append(SchemaProblem(module: module, tensor: nil,
                    message: "no LSTM with this name in the file (" + (names.isEmpty ? "it holds none" : "it holds \(names)") + ")",
                    expected: "an LSTM named '\(module)'", found: nil))
            }
        } else if selected.isEmpty {
            problems.append(SchemaProblem(module: "", tensor: nil,
                message: "no LSTM found: no tensor is named like an nn.LSTM parameter (weight_ih_l0, ...)",
                expected: "an LSTM", found: nil))
        }
        for d in selected {
            problems += d.problems
            if let config = d.config {
                problems += expected.compactMap { $0.check(config, module: d.name) }
            }
        }

        switch output.resolved {
        case .json:
            var report = JSONReport(model: model)
            report.lstms = selected.compactMap { d in d.config.map { (d.name, d.kind, $0) } }
            report.problems = problems
            console.print(report.value.rendered())
        case .github:
            for p in problems {
                console.print(GitHubAnnotations.error(file: file, title: "lstmkit validate", message: p.description))
            }
            if problems.isEmpty { console.print(summary(model, selected, problems)) }
        case .text:
            console.print(summary(model, selected, problems))
            if !selected.isEmpty {
                console.print()
                console.print(ModelText.lstmTable(selected, problems: problems).render())
            }
            if !problems.isEmpty {
                console.print()
                console.print(ModelText.problemTable(problems).render())
            }
        }
        if problems.isEmpty { return .success }
        throw CommandFailure(.checkFailed, ModelText.problemSentence(file: file, problems))
    }

    private func summary(_ model: LoadedModel, _ selected: [DiscoveredModule], _ problems: [SchemaProblem]) -> String {
        let n = selected.count
        let what = n == 0 ? "no LSTM" : "\(n) LSTM\(n == 1 ? "" : "s")"
        let verdict = problems.isEmpty ? "valid" : "\(problems.count) problem\(problems.count == 1 ? "" : "s")"
        return "\(file): \(model.file.format.rawValue), \(what), \(verdict)"
    }
}
