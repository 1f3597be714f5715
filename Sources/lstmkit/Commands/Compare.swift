import ArgumentParser
import LSTMReference
import LSTMSchema
import TensorFormats

/// `lstmkit compare A B [--module NAME] [--rtol R] [--atol A] [--json] [--numeric]`: whether two
/// files hold the same LSTM, weight by weight (after mapping both to the canonical schema) or by
/// running both through the reference forward pass.
struct Compare: ConsoleCommand, UsesMemoryBudget, RunsForwardPass {
    static let configuration = CommandConfiguration(
        abstract: "Compare the LSTM in two files, weight by weight or through the forward pass.",
        discussion: """
        Both files are mapped onto nn.LSTM's canonical schema (names weight_ih_l0, ..., gates i, f, \
        g, o), whatever their formats, so a .pt and its ONNX export compare directly. The configs \
        must agree (dtype aside), and so must ONNX-only features (direction, activations, clip, \
        input_forget, peepholes).

        By default every canonical tensor is compared: exactly when both files have the same dtype, \
        else with the looser dtype's default tolerance (float16 rtol 1e-3, bfloat16 rtol 1.6e-2, \
        atol 1e-5); --rtol / --atol override. A value a of A is accepted for B's b when \
        |a - b| <= atol + rtol*|b|.

        --numeric instead runs both LSTMs on the same seeded random input, h0 and c0 (--seed, \
        --steps, --batch) and compares output, h_n and c_n (default tolerance: float32's rtol \
        1.3e-6 atol 1e-5, or the looser dtype's).

        --module picks the LSTM in A, and in B when B has one of that name; --module-b names B's.

        Exit status: 0 the same (within tolerance), 1 a difference, 2 a file cannot be used, 64 bad \
        arguments.

        Examples:
          lstmkit compare model.pt model.onnx
          lstmkit compare model.pt model-fp16.safetensors --numeric
        """
    )

    @Argument(help: "The first file (the reference: tolerances scale with its values).")
    var a: String

    @Argument(help: "The second file.")
    var b: String

    @Option(help: "The LSTM to compare (as `lstmkit inspect` names it); needed when a file holds several.")
    var module: String?

    @Option(help: "The LSTM of B, when its name differs from --module's.")
    var moduleB: String?

    @OptionGroup var tolerance: ToleranceOptions

    @Flag(help: "Compare outputs of the forward pass on seeded random inputs instead of weights.")
    var numeric = false

    @Option(help: "Seed of the random input (--numeric).")
    var seed: UInt64 = 0

    @Option(help: "Time steps of the random input (--numeric).")
    var steps = 7

    @Option(help: "Batch size of the random input (--numeric).")
    var batch = 3

    @Option(help: "Arithmetic of the forward pass (--numeric).")
    var precision: PrecisionOption = .float32

    @Flag(help: "Print one JSON object on stdout (DESIGN §3) with a 'results' entry per tensor or output.")
    var json = false

    @OptionGroup var limitOptions: LimitOptions

    func validate() throws {
        guard steps >= 1, batch >= 1, steps <= 100_000, batch <= 100_000, steps * batch <= 1_000_000 else {
            throw ValidationError("--steps and --batch must be at least 1, and steps × batch at most 1000000")
        }
    }

    func execute(_ console: Console) throws -> ExitStatus {
        let limits = limitOptions.limits
        let modelA = try ModelInput.load(a, limits: limits)
        let modelB = try ModelInput.load(b, limits: limits)
        let lstmA = try ModelInput.module(named: module, in: modelA)
        let nameB = moduleB ?? (module.flatMap { m in modelB.discovered.contains { $0.name == m } ? m : nil })
        let lstmB = try ModelInput.module(named: nameB, in: modelB)

        let problems = ModuleComparison.configDifferences(lstmA, lstmB)
        let dtypeA = lstmA.config.dtype, dtypeB = lstmB.config.dtype
        var results: [ToleranceComparison] = []
        var tol = Tolerance.exact
        if problems.isEmpty {
            if numeric {
                tol = tolerance.resolved(default: Tolerance.default(for: dtypeA, dtypeB))
                results = try numericResults(lstmA, lstmB, tol, limits: limits)
            } else {
                tol = tolerance.resolved(default: dtypeA == dtypeB ? .exact : Tolerance.default(for: dtypeA, dtypeB))
                results = try ModuleComparison.weights(lstmA, lstmB, tol)
            }
        }
        let same = problems.isEmpty && results.allSatisfy(\.passed)

        if json {
            var report = JSONReport(model: modelA)
            report.lstms = [(lstmA.name, lstmA.kind, lstmA.config), (lstmB.name, lstmB.kind, lstmB.config)]
            report.problems = problems
            report.results = ReferenceReport.json(results)
            var value = report.value
            if case .object(var members) = value {
                members.insert(("file_b", .string(b)), at: 2)
                members.insert(("format_b", .string(modelB.file.format.rawValue)), at: 3)
                value = .object(members)
            }
            console.print(value.rendered())
        } else {
            console.print("A \(a): \(ReferenceReport.describe(lstmA))")
            console.print("B \(b): \(ReferenceReport.describe(lstmB))")
            if !problems.isEmpty {
                console.print()
                console.print(ModelText.problemTable(problems).render())
            } else {
                let how = numeric
                    ? "forward pass on a seeded random input (seed \(seed), \(steps) steps, batch \(batch), \(precision.rawValue))"
                    : "weights after mapping to nn.LSTM's schema"
                console.print("compared: \(how); tolerance: " + (tol == .exact ? "exact" : ReferenceReport.predicate(tol)))
                console.print()
                console.print(ReferenceReport.table(results, nameTitle: numeric ? "output" : "tensor").render())
            }
            console.print()
            console.print(same ? "same: A and B agree" : "DIFFERENT")
        }
        if same { return .success }
        let prefix = "\(a) and \(b) differ"
        if let first = problems.first {
            throw CommandFailure(.checkFailed, "\(prefix): \(first.message)" + (problems.count > 1 ? " (and \(problems.count - 1) more)" : ""))
        }
        throw CommandFailure(.checkFailed, ReferenceReport.failureSentence(prefix, results, items: numeric ? "outputs" : "tensors",
                                                                           reference: "A's"))
    }

    private func numericResults(_ x: LSTMModule, _ y: LSTMModule, _ tol: Tolerance, limits: Limits) throws -> [ToleranceComparison] {
        do {
            return try ModuleComparison.outputs(x, y, seed: seed, steps: steps, batch: batch, precision: precision.precision,
                                                tolerance: tol, limits: limits)
        } catch {
            throw CommandFailure.unusable(error.formatError(file: a))
        }
    }
}
