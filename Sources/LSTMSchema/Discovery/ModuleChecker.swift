import TensorFormats

/// Infers one module's config from its tensors, then checks each tensor against it (see ``LSTMDiscovery``).
struct ModuleChecker {
    let prefix: String
    let name: String
    let kind: ModuleKind
    private var params: [CanonicalName: NamedTensor] = [:]
    private var fileOrder: [String] = []
    /// Full names of layer-indexed leaves under the prefix that are not nn.LSTM parameter names.
    var strays: [String] = []
    private var problems: [SchemaProblem] = []

    init(prefix: String, kind: ModuleKind = .lstm) {
        self.prefix = prefix
        self.kind = kind
        self.name = prefix.hasSuffix(".") ? String(prefix.dropLast()) : prefix
    }

    mutating func add(_ canonical: CanonicalName, _ named: NamedTensor) {
        params[canonical] = named
        fileOrder.append(named.name)
    }

    private func fullName(_ c: CanonicalName) -> String { prefix + kind.leaf(c) }

    private mutating func report(_ tensor: String?, _ message: String, expected: String? = nil, found: String? = nil) {
        problems.append(SchemaProblem(module: name, tensor: tensor, message: message, expected: expected, found: found))
    }

    private func result(_ config: LSTMConfig?) -> DiscoveredModule {
        DiscoveredModule(name: name, kind: kind, config: config, problems: problems, module: nil, sourceTensors: fileOrder)
    }

    mutating func check() -> DiscoveredModule {
        let sorted = params.keys.sorted()

        // Layers 0 ... highest index present; the tensors of a layer in a gap are reported missing.
        let present = Set(sorted.map(\.layer))
        let numLayers = (present.max() ?? -1) + 1
        guard numLayers > 0 else { return result(nil) }

        let bidirectional = sorted.contains { $0.reverse }
        let bias = sorted.contains { $0.kind == .biasIH || $0.kind == .biasHH }
        let projected = sorted.contains { $0.kind == .weightHR }

        // Gate rows G = 4·hidden_size: the majority over the tensors whose first axis is the gate axis.
        let gateRows = majority(sorted.filter { $0.kind != .weightHR }.compactMap { c in params[c]?.tensor.shape.first })
        let hhCols = majority(sorted.filter { $0.kind == .weightHH }.compactMap { c -> Int? in
            guard let s = params[c]?.tensor.shape, s.count == 2 else { return nil }
            return s[1]
        })
        guard let g = gateRows else {
            report(sorted.first.map(fullName), "no weight_ih / weight_hh / bias tensor with at least one axis; the module's hidden_size cannot be inferred")
            return result(nil)
        }
        // Not an LSTM: every gate-row tensor is reported, with the hint, against 4 × the real hidden size.
        var notLSTM: String?
        let hidden: Int
        if !projected, let r = hhCols, r > 0, Checked.mul(3, r) == g {
            notLSTM = "gate rows are 3·hidden_size (\(g) = 3·\(r)): looks like \(kind.sibling(gates: 3)), not \(kind == .lstm ? "an LSTM" : "an LSTMCell")"
            hidden = r
        } else if !projected, let r = hhCols, r > 0, g == r {
            notLSTM = "gate rows are 1·hidden_size (\(g)): looks like \(kind.sibling(gates: 1)), not \(kind == .lstm ? "an LSTM" : "an LSTMCell")"
            hidden = r
        } else {
            guard g > 0, g % 4 == 0 else {
                let rowsTensor = sorted.first { params[$0]?.tensor.shape.first == g && $0.kind != .weightHR }
                report(rowsTensor.map(fullName),
                       g == 0 ? "gate rows are 0: hidden_size must be at least 1"
                              : "gate rows (\(g)) are not a multiple of 4: an LSTM stacks 4 gates (i, f, g, o), each hidden_size rows",
                       expected: "4*hidden_size rows", found: rowsTensor.flatMap { params[$0]?.tensor.shape }.map(formatShape))
                return result(nil)
            }
            hidden = g / 4
        }

        var projSize = 0
        if projected {
            let p = majority(sorted.filter { $0.kind == .weightHR }.compactMap { c in params[c]?.tensor.shape.first })
            projSize = p ?? 0
        }
        let ih0 = [CanonicalName(.weightIH, layer: 0), CanonicalName(.weightIH, layer: 0, reverse: true)]
            .first { params[$0]?.tensor.shape.count == 2 }
        let inputSize = ih0.flatMap { params[$0]?.tensor.shape[1] }
        let dtypeSource = [CanonicalName(.weightIH, layer: 0)].first { params[$0] != nil } ?? sorted.first
        let dtype = dtypeSource.flatMap { params[$0]?.tensor.dtype } ?? .float32

        let shapes = ShapeRules(hidden: hidden, input: inputSize, proj: projSize, directions: bidirectional ? 2 : 1)

        if projected, projSize >= hidden {
            let hr = sorted.first { $0.kind == .weightHR }.map(fullName)
            report(hr, "proj_size (\(projSize)) must be smaller than hidden_size (\(hidden)); nn.LSTM refuses it",
                   expected: "proj_size < \(hidden)", found: "\(projSize)")
        }
        if !dtype.isFloatingPoint, let source = dtypeSource {
            report(fullName(source), "dtype \(dtype.name) is not a floating-point type; LSTM weights are float16, bfloat16, float32 or float64",
                   expected: "a floating-point dtype", found: dtype.name)
        }

        // Every expected tensor, in state_dict order.
        for k in 0..<numLayers {
            for reverse in bidirectional ? [false, true] : [false] {
                var kinds: [CanonicalName.Kind] = [.weightIH, .weightHH]
                if bias { kinds += [.biasIH, .biasHH] }
                if projected { kinds.append(.weightHR) }
                for kind in kinds {
                    let c = CanonicalName(kind, layer: k, reverse: reverse)
                    let rule = shapes.rule(for: kind, layer: k)
                    guard let t = params[c]?.tensor else {
                        let reason = present.contains(k)
                            ? reasonFor(kind, bidirectional: bidirectional, reverse: reverse)
                            : "layer gap: layer \(k) has no tensors, but layer \(numLayers - 1) has"
                        report(fullName(c), "missing tensor (\(reason))", expected: rule.text, found: nil)
                        continue
                    }
                    if !rule.matches(t.shape) {
                        let what = notLSTM.map { $0 + "; " } ?? "wrong shape: "
                        report(fullName(c), what + "expected \(rule.text), found \(formatShape(t.shape))",
                               expected: rule.text, found: formatShape(t.shape))
                    }
                    if t.dtype != dtype {
                        report(fullName(c), "mixed dtypes: \(t.dtype.name), while the module is \(dtype.name) (from \(dtypeSource.map(fullName) ?? "its first tensor"))",
                               expected: dtype.name, found: t.dtype.name)
                    }
                }
            }
        }
        for stray in strays {
            report(stray, "unexpected tensor under an LSTM prefix: not an nn.LSTM parameter name (weight_ih_lK, weight_hh_lK, bias_ih_lK, bias_hh_lK, weight_hr_lK, each optionally _reverse)")
        }

        guard let inputSize, notLSTM == nil else { return result(nil) }
        let config = LSTMConfig(inputSize: inputSize, hiddenSize: hidden, numLayers: numLayers,
                                bidirectional: bidirectional, projSize: projSize, bias: bias, dtype: dtype)
        var out = result(config)
        if problems.isEmpty {
            out.module = LSTMModule(name: name, kind: kind, config: config, layers: (0..<numLayers).map { k in
                (bidirectional ? [false, true] : [false]).compactMap { reverse in weights(layer: k, reverse: reverse) }
            })
        }
        return out
    }

    private func weights(layer k: Int, reverse: Bool) -> LSTMDirectionWeights? {
        func t(_ kind: CanonicalName.Kind) -> Tensor? { params[CanonicalName(kind, layer: k, reverse: reverse)]?.tensor }
        guard let ih = t(.weightIH), let hh = t(.weightHH) else { return nil }
        return LSTMDirectionWeights(weightIH: ih, weightHH: hh, biasIH: t(.biasIH), biasHH: t(.biasHH), weightHR: t(.weightHR))
    }

    private func reasonFor(_ kind: CanonicalName.Kind, bidirectional: Bool, reverse: Bool) -> String {
        switch kind {
        case .weightIH, .weightHH: reverse ? "bidirectional: other _reverse tensors exist" : "every layer has one"
        case .biasIH, .biasHH: "bias = true: other bias tensors exist"
        case .weightHR: "proj_size > 0: other weight_hr tensors exist"
        }
    }
}

/// The most frequent value; ties go to the value seen first.
private func majority(_ values: [Int]) -> Int? {
    var counts: [Int: Int] = [:]
    for v in values { counts[v, default: 0] += 1 }
    var best: (value: Int, count: Int)?
    for v in values {
        let c = counts[v, default: 0]
        if c > (best?.count ?? 0) { best = (v, c) }
    }
    return best?.value
}

/// Expected shapes of each parameter kind, with their formulas (DESIGN §2).
struct ShapeRules {
    let hidden: Int
    let input: Int?
    let proj: Int
    let directions: Int

    func rule(for kind: CanonicalName.Kind, layer k: Int) -> ShapeRule {
        let gates = ShapeRule.Dim("4*hidden_size", 4 * hidden)
        let r = proj > 0 ? ShapeRule.Dim("proj_size", proj) : ShapeRule.Dim("hidden_size", hidden)
        switch kind {
        case .weightIH:
            if k == 0 { return ShapeRule([gates, .init("input_size", input)]) }
            // A width that overflows cannot be matched by any real tensor: Int.max stands for it.
            let width = directions == 2 ? ShapeRule.Dim("2*" + r.formula, Checked.mul(2, r.value ?? 0) ?? Int.max) : r
            return ShapeRule([gates, width])
        case .weightHH: return ShapeRule([gates, r])
        case .biasIH, .biasHH: return ShapeRule([gates])
        case .weightHR: return ShapeRule([.init("proj_size", proj), .init("hidden_size", hidden)])
        }
    }
}

/// An expected shape: each axis with its formula and value (nil when the value cannot be inferred).
struct ShapeRule {
    struct Dim {
        var formula: String
        var value: Int?
        init(_ formula: String, _ value: Int?) {
            self.formula = formula
            self.value = value
        }
    }

    var dims: [Dim]
    init(_ dims: [Dim]) { self.dims = dims }

    /// `(4*hidden_size, hidden_size) = (64, 16)`; an unknown value prints as `?`.
    var text: String {
        "(" + dims.map(\.formula).joined(separator: ", ") + ") = ("
            + dims.map { $0.value.map(String.init) ?? "?" }.joined(separator: ", ") + ")"
    }

    func matches(_ shape: [Int]) -> Bool {
        shape.count == dims.count && zip(shape, dims).allSatisfy { s, d in d.value == nil || d.value == s }
    }
}
