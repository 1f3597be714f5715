import ArgumentParser
import LSTMReference
import LSTMSchema
import TensorFormats

/// `lstmkit compare A B [--module NAME] [--rtol R] [--atol A] [--json] [--numeric]`: whether two
/// files hold the same LSTM, weight by weight (after mapping both to the canonical schema) or by
/// running both through the reference forward pass.
struct Compare: ConsoleCommand {
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
        let modelA = try ModelInput.load(a, limits: limitOptions.limits)
        let modelB = try ModelInput.load(b, limits: limitOptions.limits)
        let lstmA = try ModelInput.module(named: module, in: modelA)
        let nameB = moduleB ?? (module.flatMap { m in modelB.discovered.contains { $0.name == m } ? m : nil })
        let lstmB = try ModelInput.module(named: nameB, in: modelB)

        let problems = ModuleDifference.config(lstmA, lstmB)
        let dtypeA = lstmA.config.dtype, dtypeB = lstmB.config.dtype
        var results: [ToleranceComparison] = []
        var tol = Tolerance.exact
        if problems.isEmpty {
            if numeric {
                tol = tolerance.resolved(default: Tolerance.default(for: dtypeA, dtypeB))
                results = try numericResults(lstmA, lstmB, tol)
            } else {
                tol = tolerance.resolved(default: dtypeA == dtypeB ? .exact : Tolerance.default(for: dtypeA, dtypeB))
                results = ModuleDifference.weights(lstmA, lstmB, tol)
            }
        }
        let same = problems.isEmpty && results.allSatisfy(\.passed)

        if json {
            var report = JSONReport(model: modelA)
            report.lstms = [(lstmA.name, lstmA.config), (lstmB.name, lstmB.config)]
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

    private func numericResults(_ x: LSTMModule, _ y: LSTMModule, _ tol: Tolerance) throws -> [ToleranceComparison] {
        let c = x.config
        var rng = SeededNormal(seed: seed)
        let layersDirs = c.numLayers * c.numDirections
        guard let elements = Checked.product([steps, batch, Swift.max(c.inputSize, layersDirs * Swift.max(c.hiddenSize, c.outputSize))]),
              elements <= limitOptions.limits.forwardPassBytes / MemoryLayout<Float>.size else {
            throw CommandFailure.unusable(FormatError(.limitExceeded, "a random input of \(steps) steps × batch \(batch) for this LSTM is over the forward-pass memory limit", file: a))
        }
        do {
            let input = try Tensor(float32: rng.values(steps * batch * c.inputSize), shape: [steps, batch, c.inputSize])
            let h0 = try Tensor(float32: rng.values(layersDirs * batch * c.outputSize), shape: [layersDirs, batch, c.outputSize])
            let c0 = try Tensor(float32: rng.values(layersDirs * batch * c.hiddenSize), shape: [layersDirs, batch, c.hiddenSize])
            let outA = try LSTMForward.run(module: x, input: input, h0: h0, c0: c0, precision: precision.precision,
                                           limits: limitOptions.limits)
            let outB = try LSTMForward.run(module: y, input: input, h0: h0, c0: c0, precision: precision.precision,
                                           limits: limitOptions.limits)
            return zip(outA.namedTensors, outB.namedTensors).map {
                ToleranceComparison(name: $0.name, actual: $1.tensor, expected: $0.tensor, tolerance: tol)
            }
        } catch {
            throw CommandFailure.unusable(error.inFile(a))
        }
    }
}

/// Differences between two modules that make a tensor-by-tensor comparison meaningless, and the
/// tensor-by-tensor comparison itself.
enum ModuleDifference {
    /// Config (dtype aside) and ONNX-feature differences, as problems of module A (expected = A, found = B).
    static func config(_ x: LSTMModule, _ y: LSTMModule) -> [SchemaProblem] {
        var out: [SchemaProblem] = []
        func check(_ key: String, _ va: String, _ vb: String) {
            if va != vb {
                out.append(SchemaProblem(module: x.name, tensor: nil, message: "\(key) differs: \(va) in A, \(vb) in B",
                                         expected: va, found: vb))
            }
        }
        let p = x.config, q = y.config
        check("input_size", "\(p.inputSize)", "\(q.inputSize)")
        check("hidden_size", "\(p.hiddenSize)", "\(q.hiddenSize)")
        check("num_layers", "\(p.numLayers)", "\(q.numLayers)")
        check("bidirectional", "\(p.bidirectional)", "\(q.bidirectional)")
        check("proj_size", "\(p.projSize)", "\(q.projSize)")
        check("bias", "\(p.bias)", "\(q.bias)")
        let fa = features(x), fb = features(y)
        for (key, va) in fa {
            check(key, va, fb.first { $0.0 == key }?.1 ?? "")
        }
        return out
    }

    /// The ONNX features that change the computation, with PyTorch's values for PyTorch modules.
    static func features(_ m: LSTMModule) -> [(String, String)] {
        let o = m.onnx ?? ONNXFeatures()
        let D = m.config.numDirections
        var acts = o.activations.isEmpty ? Array(repeating: ["sigmoid", "tanh", "tanh"], count: D).flatMap { $0 }
            : o.activations.map { $0.lowercased() }
        if acts.count == 3 && D == 2 { acts += acts }
        let reverse = o.direction == .reverse && D == 1
        return [("direction", reverse ? "reverse" : (D == 2 ? "bidirectional" : "forward")),
                ("activations", acts.joined(separator: ",")),
                ("activation_alpha", o.activationAlpha.map { "\($0)" }.joined(separator: ",")),
                ("activation_beta", o.activationBeta.map { "\($0)" }.joined(separator: ",")),
                ("clip", o.clip.map { "\($0)" } ?? "none"),
                ("input_forget", "\(o.inputForget)")]
    }

    /// Every canonical tensor (plus ONNX peepholes as `peephole_lk[_reverse]`), A's value as expected.
    static func weights(_ x: LSTMModule, _ y: LSTMModule, _ tol: Tolerance) -> [ToleranceComparison] {
        let ta = tensors(x), tb = tensors(y)
        var out: [ToleranceComparison] = []
        for t in ta {
            guard let other = tb.first(where: { $0.name == t.name }) else {
                out.append(ToleranceComparison(name: t.name, actual: [Double](), actualShape: [0],
                                               expected: t.tensor.doubles(), expectedShape: t.tensor.shape, tolerance: tol))
                continue
            }
            out.append(ToleranceComparison(name: t.name, actual: other.tensor, expected: t.tensor, tolerance: tol))
        }
        for t in tb where !ta.contains(where: { $0.name == t.name }) {
            out.append(ToleranceComparison(name: t.name, actual: t.tensor.doubles(), actualShape: t.tensor.shape,
                                           expected: [Double](), expectedShape: [0], tolerance: tol))
        }
        return out
    }

    static func tensors(_ m: LSTMModule) -> [NamedTensor] {
        var out = m.canonicalTensors()
        for (k, layer) in m.layers.enumerated() {
            for (d, w) in layer.enumerated() {
                if let p = w.peephole { out.append(NamedTensor(name: "peephole_l\(k)" + (d == 1 ? "_reverse" : ""), tensor: p)) }
            }
        }
        return out
    }
}

/// Approximately standard-normal float32 values (Irwin–Hall: the sum of 12 uniforms minus 6) from a
/// seeded SplitMix64. Integer and exactly rounded arithmetic only, so a seed gives the same values
/// on every machine.
struct SeededNormal {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func values(_ n: Int) -> [Float] {
        (0..<n).map { _ in
            var sum = 0.0
            for _ in 0..<12 { sum += Double(next() >> 11) / Double(1 << 53) }
            return Float(sum - 6)
        }
    }
}
