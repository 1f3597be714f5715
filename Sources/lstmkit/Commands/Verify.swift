import ArgumentParser
import LSTMReference
import LSTMSchema
import TensorFormats

/// `lstmkit verify MODEL --golden G.npz [--module NAME] [--rtol R] [--atol A] [--json]`: runs the
/// reference forward pass on a golden's inputs and compares with its outputs.
struct Verify: ConsoleCommand, UsesMemoryBudget, RunsForwardPass {
    static let configuration = CommandConfiguration(
        abstract: "Check that an LSTM computes a golden file's outputs, within a tolerance.",
        discussion: """
        Runs one LSTM of MODEL on the golden's 'input' (and 'h0' / 'c0' / 'sequence_lens' when \
        present) and compares 'output', 'h_n' and 'c_n' element by element. A value a is accepted \
        for the golden's b when |a - b| <= atol + rtol*|b| (torch.testing.assert_close): the \
        tolerance scales with the expected value, NaN matches only NaN, infinities must be equal, \
        and a shape difference fails. Defaults follow the model's dtype: float32 rtol 1.3e-6 atol \
        1e-5; float16 rtol 1e-3; bfloat16 rtol 1.6e-2 (atol 1e-5); float64 rtol 1e-7 atol 1e-7.

        A golden is an .npz of float arrays 'input', 'output', 'h_n', 'c_n', optional 'h0', 'c0', \
        'sequence_lens' and a 0-d bool 'batch_first'. An 'output' of rank 3 is in nn.LSTM's layouts; \
        rank 4 is one ONNX LSTM node's Y (seq, directions, batch, hidden), with Y_h / Y_c as 'h_n' / \
        'c_n' (batch-major when 'batch_first', ONNX layout=1).

        The report lists, per output, the largest absolute and relative error, the index of the \
        element closest to (or furthest over) its tolerance, and how many elements are outside it.

        Exit status: 0 every output within tolerance, 1 a difference, 2 a file cannot be used, \
        64 bad arguments.

        Examples:
          lstmkit verify model.onnx --golden golden.npz
          lstmkit verify model.pt --golden golden.npz --rtol 1e-4 --atol 1e-6 --json
        """
    )

    @Argument(help: "The model file (PyTorch, ONNX, npz, safetensors).")
    var model: String

    @Option(help: ArgumentHelp("The golden .npz.", valueName: "file"))
    var golden: String

    @Option(help: "Verify only this LSTM (as `lstmkit inspect` names it); needed when MODEL holds several.")
    var module: String?

    @OptionGroup var tolerance: ToleranceOptions

    @Option(help: "Arithmetic of the forward pass.")
    var precision: PrecisionOption = .float32

    @Flag(help: "Print one JSON object on stdout (DESIGN §3) with a 'results' entry per output.")
    var json = false

    @OptionGroup var limitOptions: LimitOptions

    func execute(_ console: Console) throws -> ExitStatus {
        let limits = limitOptions.limits
        let loaded = try ModelInput.load(model, limits: limits)
        let lstm = try ModelInput.module(named: module, in: loaded)
        let case_: Golden
        do { case_ = try Golden(tensors: try ArrayFileInput.arrays(golden, limits: limits)) } catch let error as FormatError {
            throw CommandFailure.unusable(error.inFile(golden))
        }
        let tol = tolerance.resolved(default: case_.defaultTolerance(moduleDType: lstm.config.dtype))
        let results: [ToleranceComparison]
        do {
            results = try case_.verify(module: lstm, tolerance: tol, precision: precision.precision,
                                       limits: limits)
        } catch {
            throw CommandFailure.unusable(error.formatError(file: error.argument == .module ? model : golden))
        }
        let passed = results.allSatisfy(\.passed)
        if json {
            var report = JSONReport(model: loaded)
            report.lstms = [(lstm.name, lstm.kind, lstm.config)]
            report.results = ReferenceReport.json(results)
            console.print(report.value.rendered())
        } else {
            let layout = case_.family == .onnxNode
                ? "ONNX node layout\(case_.batchFirst ? " (layout=1)" : "")"
                : "nn.LSTM layout\(case_.batchFirst ? " (batch_first)" : "")"
            var given: [String] = []
            if case_.h0 != nil { given.append("h0") }
            if case_.c0 != nil { given.append("c0") }
            if case_.sequenceLengths != nil { given.append("sequence_lens") }
            console.print("\(model): \(ReferenceReport.describe(lstm))")
            console.print("golden \(golden): \(layout), input \(formatShape(case_.input.shape))"
                          + (given.isEmpty ? "" : ", " + given.joined(separator: ", ") + " given"))
            console.print("tolerance: \(ReferenceReport.predicate(tol)) (\(precision.rawValue) arithmetic)")
            console.print()
            console.print(ReferenceReport.table(results).render())
            console.print()
            console.print(passed ? "verified: every output within tolerance" : "NOT verified")
        }
        if passed { return .success }
        throw CommandFailure(.checkFailed, ReferenceReport.failureSentence("\(model): does not match \(golden)", results, items: "outputs"))
    }
}

/// `--rtol` / `--atol`: each replaces its default when given.
struct ToleranceOptions: ParsableArguments {
    @Option(help: "Relative tolerance (default by dtype: float32 1.3e-6, float16 1e-3, bfloat16 1.6e-2, float64 1e-7).")
    var rtol: Double?

    @Option(help: "Absolute tolerance (default 1e-5; float64 1e-7).")
    var atol: Double?

    func validate() throws {
        for (name, value) in [("--rtol", rtol), ("--atol", atol)] {
            if let value, !(value >= 0 && value.isFinite) {
                throw ValidationError("\(name) must be a finite number >= 0; got \(value)")
            }
        }
    }

    func resolved(default d: Tolerance) -> Tolerance {
        Tolerance(rtol: rtol ?? d.rtol, atol: atol ?? d.atol)
    }
}
