import LSTMSchema
import TensorFormats

/// `lstmkit compare` as a library: the differences between two modules that make a tensor-by-tensor
/// comparison meaningless (config, dtype aside, and variant features), the tensor-by-tensor
/// comparison itself, and the forward pass of both on one seeded random input.
public enum ModuleComparison {
    /// Config (dtype aside) and ONNX-feature differences, as problems of module A (expected = A, found = B).
    public static func configDifferences(_ x: LSTMModule, _ y: LSTMModule) -> [SchemaProblem] {
        var out: [SchemaProblem] = []
        func check(_ key: String, _ va: String, _ vb: String) {
            if va != vb {
                out.append(SchemaProblem(module: x.name, tensor: nil, message: "\(key) differs: \(va) in A, \(vb) in B",
                                         expected: va, found: vb))
            }
        }
        for field in LSTMConfig.Field.allCases where field != .dtype {
            check(field.rawValue, field.value(in: x.config).description, field.value(in: y.config).description)
        }
        let fa = features(x), fb = features(y)
        for (key, va) in fa {
            check(key, va, fb.first { $0.0 == key }?.1 ?? "")
        }
        return out
    }

    /// The variant features that change the computation, with PyTorch's values for PyTorch modules.
    public static func features(_ m: LSTMModule) -> [(String, String)] {
        let o = m.variant ?? LSTMVariant()
        let D = m.config.numDirections
        var acts = o.activations.isEmpty ? Array(repeating: LSTMVariant.defaultActivations.map { $0.lowercased() }, count: D).flatMap { $0 }
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

    /// Output, h_n and c_n of both modules run on one seeded random input, h0 and c0 ((steps,
    /// batch, input_size) and nn.LSTM's state shapes), B's against A's. Throws when
    /// the input would be over the forward-pass memory limit or a module cannot be run.
    public static func outputs(_ x: LSTMModule, _ y: LSTMModule, seed: UInt64, steps: Int, batch: Int,
                               precision: Precision, tolerance tol: Tolerance,
                               limits: Limits = .default) throws(ForwardError) -> [ToleranceComparison] {
        let c = x.config
        var rng = SeededNormal(seed: seed)
        let layersDirs = c.numLayers * c.numDirections
        let elements = Checked.product([steps, batch, Swift.max(c.inputSize, layersDirs * Swift.max(c.hiddenSize, c.outputSize))])
        let reservation: MemoryReservation
        do throws(FormatError) {
            guard let bytes = elements.flatMap({ Checked.mul($0, 3 * MemoryLayout<Float>.size) }) else {
                throw FormatError(.limitExceeded, "a random input of \(steps) steps × batch \(batch) for this LSTM needs more memory than can be addressed")
            }
            reservation = try limits.memory.reserve(bytes, for: "a random input of \(steps) steps × batch \(batch) for this LSTM")
        } catch {
            throw ForwardError(.input, .limitExceeded, error.message)
        }
        defer { withExtendedLifetime(reservation) {} }
        let input = try Float.tensor(rng.values(steps * batch * c.inputSize), shape: [steps, batch, c.inputSize])
        let h0 = try Float.tensor(rng.values(layersDirs * batch * c.outputSize), shape: [layersDirs, batch, c.outputSize])
        let c0 = try Float.tensor(rng.values(layersDirs * batch * c.hiddenSize), shape: [layersDirs, batch, c.hiddenSize])
        let outA = try LSTMForward.run(module: x, input: input, h0: h0, c0: c0, precision: precision, limits: limits)
        let outB = try LSTMForward.run(module: y, input: input, h0: h0, c0: c0, precision: precision, limits: limits)
        return zip(outA.namedTensors, outB.namedTensors).map {
            ToleranceComparison(name: $0.name, actual: $1.tensor, expected: $0.tensor, tolerance: tol)
        }
    }

    /// Every canonical tensor (plus ONNX peepholes as `peephole_lk[_reverse]`), A's value as expected.
    /// Compressed members are made one pair at a time (under the memory budget) and dropped after
    /// their comparison; a refusal or a corrupt member is thrown.
    public static func weights(_ x: LSTMModule, _ y: LSTMModule, _ tol: Tolerance) throws(FormatError) -> [ToleranceComparison] {
        let ta = tensors(x), tb = tensors(y)
        var out: [ToleranceComparison] = []
        for t in ta {
            guard let other = tb.first(where: { $0.name == t.name }) else {
                out.append(ToleranceComparison(name: t.name, actual: [Double](), actualShape: [0],
                                               expected: try t.tensor.loaded().doubles(), expectedShape: t.tensor.shape, tolerance: tol))
                continue
            }
            out.append(ToleranceComparison(name: t.name, actual: try other.tensor.loaded(), expected: try t.tensor.loaded(), tolerance: tol))
        }
        for t in tb where !ta.contains(where: { $0.name == t.name }) {
            out.append(ToleranceComparison(name: t.name, actual: try t.tensor.loaded().doubles(), actualShape: t.tensor.shape,
                                           expected: [Double](), expectedShape: [0], tolerance: tol))
        }
        return out
    }

    /// Under nn.LSTM names whatever the kind, so that a cell compares with its `--as lstm` copy.
    public static func tensors(_ m: LSTMModule) -> [NamedTensor] {
        var asLSTM = m
        asLSTM.kind = .lstm
        var out = asLSTM.canonicalTensors()
        for (k, layer) in m.layers.enumerated() {
            for (d, w) in layer.enumerated() {
                if let p = w.peephole { out.append(NamedTensor(name: "peephole" + CanonicalName.suffix(layer: k, reverse: d == 1), tensor: p)) }
            }
        }
        return out
    }
}
