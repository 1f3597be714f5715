import TensorFormats

/// The projected LSTM (proj_size > 0) as an ONNX graph, and back.
///
/// ONNX's LSTM operator has no projection, so each layer and direction is a `Scan` over time whose
/// body does one nn.LSTM step in PyTorch's own gate order and layout (H = hidden, P = proj_size):
///
/// ```
/// gates = Gemm(x_t, weight_ih, bias_ih, transB=1) + Gemm(h, weight_hh, bias_hh, transB=1)   [N, 4H]
/// i, f, g, o = Split(gates, [H, H, H, H], axis=1)
/// c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
/// h' = Gemm(σ(o) ⊙ tanh(c'), weight_hr, transB=1)                                            [N, P]
/// ```
///
/// States h [N, P], c [N, H] start from rows layer·D + d of h0 / c0; the reverse direction scans
/// with `scan_input_directions = [1]` and `scan_output_directions = [1]`, so its outputs stay aligned
/// with input time. Directions are concatenated on the feature axis (forward first); h_n / c_n
/// stack the final states. Initializers keep nn.LSTM's names under `rnn.` (`rnn.weight_ih_l0`,
/// `rnn.weight_hr_l1_reverse`, ...), unpermuted, which is how ``module(from:)`` reads them back.
enum ONNXProjectedLSTM {
    static func graph(for m: LSTMModule, options o: ONNXExportOptions) throws(FormatError) -> ONNXGraph {
        let c = m.config
        let h = c.hiddenSize, p = c.projSize, d = c.numDirections
        let compute = ONNXExportOptions.computeType(for: c.dtype)
        let cast = ONNXLSTMExport.castsOutputs(c.dtype)
        let elem = ONNXDataType(compute)
        var b = ONNXGraphBuilder(scope: "rnn")
        var (inputs, x, state, lengths) = try ONNXLSTMExport.inputs(&b, m, o)
        if state == nil {
            // Zero states broadcast to the batch, as torch does when hx is None.
            let ld = c.numLayers * d
            b.initializer("rnn.h0_zeros", try ONNXLSTMExport.zeros([ld, 1, p], compute))
            b.initializer("rnn.c0_zeros", try ONNXLSTMExport.zeros([ld, 1, h], compute))
            let ones = try b.int64s("rnn.one", [1])
            let batch = b.op("Gather", [b.op("Shape", [x]), try b.int64s("rnn.batch_axis", [1])], .int("axis", 0))
            let shape = b.op("Concat", [ones, batch, ones], .int("axis", 0))
            state = (b.op("Expand", ["rnn.h0_zeros", shape]), b.op("Expand", ["rnn.c0_zeros", shape]))
        }
        guard let state else { throw FormatError(.corrupt, "no initial state") }
        // With sequence lengths, a (seq, batch, 1) mask (1 while t < length) is a second scan input.
        var mask: String?
        if let lengths {
            let steps = b.op("Range", [try b.int64s("rnn.zero_scalar", [0], scalar: true),
                                       b.op("Gather", [b.op("Shape", [x]), try b.int64s("rnn.zero_scalar", [0], scalar: true)], .int("axis", 0)),
                                       try b.int64s("rnn.one_scalar", [1], scalar: true)])
            let running = b.op("Less", [b.op("Unsqueeze", [steps, try b.int64s("rnn.one", [1])]),
                                        b.op("Unsqueeze", [b.op("Cast", [lengths], .int("to", Int64(ONNXDataType(.int64).rawValue))),
                                                           try b.int64s("rnn.zero", [0])])])
            mask = b.op("Unsqueeze", [b.op("Cast", [running], .int("to", Int64(elem.rawValue))), try b.int64s("rnn.two", [2])])
        }
        let one = "rnn.one_value"
        if mask != nil { b.initializer(one, try Tensor(float32: [1], shape: []).converted(to: compute)) }
        let split = try b.int64s("rnn.gate_split", [Int64(h), Int64(h), Int64(h), Int64(h)])
        var hs: [String] = [], cs: [String] = []
        for k in 0..<c.numLayers {
            var ys: [String] = []
            for j in 0..<d {
                func name(_ kind: CanonicalName.Kind) -> String { CanonicalName(kind, layer: k, reverse: j == 1).description }
                func stored(_ kind: CanonicalName.Kind, _ t: Tensor) -> String {
                    ONNXLSTMExport.computed(&b, b.initializer("rnn." + name(kind), t), c.dtype)
                }
                let w = m.layers[k][j]
                guard let hr = w.weightHR else { throw FormatError(.corrupt, "\(name(.weightHR)) missing", entry: m.name) }
                let names = (ih: stored(.weightIH, w.weightIH), hh: stored(.weightHH, w.weightHH), hr: stored(.weightHR, hr))
                var biases: (ih: String, hh: String)?
                if let bi = w.biasIH, let bh = w.biasHH {
                    biases = (stored(.biasIH, bi), stored(.biasHH, bh))
                }
                let row = try b.int64s("rnn.state_row_\(k * d + j)", [Int64(k * d + j)], scalar: true)
                let h0 = b.op("Gather", [state.h, row], .int("axis", 0))
                let c0 = b.op("Gather", [state.c, row], .int("axis", 0))
                let body = step(name: "rnn.step" + CanonicalName.suffix(layer: k, reverse: j == 1), inputWidth: c.layerInputSize(k), hidden: h, proj: p, elem: elem,
                                weights: names, biases: biases, split: split, masked: mask.map { _ in one })
                let scanned = [x] + (mask.map { [$0] } ?? [])
                let outs = b.node("Scan", [h0, c0] + scanned, outputCount: 3, attributes: [
                    .graph("body", body), .int("num_scan_inputs", Int64(scanned.count)),
                    .ints("scan_input_directions", scanned.map { _ in Int64(j) }), .ints("scan_output_directions", [Int64(j)]),
                ])
                hs.append(b.op("Unsqueeze", [outs[0], try b.int64s("rnn.zero", [0])]))
                cs.append(b.op("Unsqueeze", [outs[1], try b.int64s("rnn.zero", [0])]))
                ys.append(outs[2])
            }
            let last = k == c.numLayers - 1
            let name = last && !o.batchFirst && !cast ? "output" : nil
            x = d == 1 ? b.op("Identity", ys, output: name) : b.op("Concat", ys, output: name, .int("axis", 2))
        }
        if o.batchFirst { x = b.op("Transpose", [x], output: cast ? nil : "output", .ints("perm", [1, 0, 2])) }
        let hn = b.op("Concat", hs, output: cast ? nil : "h_n", .int("axis", 0))
        let cn = b.op("Concat", cs, output: cast ? nil : "c_n", .int("axis", 0))
        if cast {
            ONNXLSTMExport.output(&b, x, as: "output", c.dtype)
            ONNXLSTMExport.output(&b, hn, as: "h_n", c.dtype)
            ONNXLSTMExport.output(&b, cn, as: "c_n", c.dtype)
        }
        return ONNXGraph(name: "lstmkit", nodes: b.nodes, initializers: b.initializers,
                         inputs: inputs, outputs: ONNXLSTMExport.outputInfos(m, o))
    }

    /// The Scan body for one direction: inputs (h [N,P], c [N,H], x_t [N,in], and when `masked`
    /// names the outer scalar 1, m_t [N,1]) → (h', c', y_t). Masked rows (m_t = 0: past the row's
    /// length) keep their state and output 0: h' = m·h_new + (1 − m)·h, c' likewise, y_t = m·h_new.
    private static func step(name: String, inputWidth: Int, hidden: Int, proj: Int, elem: ONNXDataType,
                             weights: (ih: String, hh: String, hr: String), biases: (ih: String, hh: String)?,
                             split: String, masked one: String?) -> ONNXGraph {
        let masked = one
        var b = ONNXGraphBuilder(scope: name)
        let transB = ONNXAttribute.int("transB", 1)
        let gx = b.op("Gemm", ["x_t", weights.ih] + (biases.map { [$0.ih] } ?? []), transB)
        let gh = b.op("Gemm", ["h_prev", weights.hh] + (biases.map { [$0.hh] } ?? []), transB)
        let gates = b.op("Add", [gx, gh])
        let igfo = b.node("Split", [gates, split], outputCount: 4, attributes: [.int("axis", 1)])
        let i = b.op("Sigmoid", [igfo[0]]), f = b.op("Sigmoid", [igfo[1]])
        let g = b.op("Tanh", [igfo[2]]), o = b.op("Sigmoid", [igfo[3]])
        let batch = ONNXDim.param("batch")
        if let one = masked {
            let cNew = b.op("Add", [b.op("Mul", [f, "c_prev"]), b.op("Mul", [i, g])])
            let hNew = b.op("Gemm", [b.op("Mul", [o, b.op("Tanh", [cNew])]), weights.hr], transB)
            let rest = b.op("Sub", [one, "m_t"])
            let y = b.op("Mul", ["m_t", hNew], output: "y_t")
            b.op("Add", [y, b.op("Mul", [rest, "h_prev"])], output: "h_next")
            b.op("Add", [b.op("Mul", ["m_t", cNew]), b.op("Mul", [rest, "c_prev"])], output: "c_next")
        } else {
            let cNext = b.op("Add", [b.op("Mul", [f, "c_prev"]), b.op("Mul", [i, g])], output: "c_next")
            let full = b.op("Mul", [o, b.op("Tanh", [cNext])])
            let hNext = b.op("Gemm", [full, weights.hr], output: "h_next", transB)
            b.op("Identity", [hNext], output: "y_t")
        }
        var inputs = [
            ONNXValueInfo(name: "h_prev", elementType: elem, shape: [batch, .value(Int64(proj))]),
            ONNXValueInfo(name: "c_prev", elementType: elem, shape: [batch, .value(Int64(hidden))]),
            ONNXValueInfo(name: "x_t", elementType: elem, shape: [batch, .value(Int64(inputWidth))]),
        ]
        if masked != nil { inputs.append(ONNXValueInfo(name: "m_t", elementType: elem, shape: [batch, .value(1)])) }
        return ONNXGraph(name: name, nodes: b.nodes, inputs: inputs, outputs: [
            ONNXValueInfo(name: "h_next", elementType: elem, shape: [batch, .value(Int64(proj))]),
            ONNXValueInfo(name: "c_next", elementType: elem, shape: [batch, .value(Int64(hidden))]),
            ONNXValueInfo(name: "y_t", elementType: elem, shape: [batch, .value(Int64(proj))]),
        ])
    }

    /// The module of a graph written by ``graph(for:options:)``: config and name from the metadata,
    /// tensors from the `rnn.` initializers, checked against the config.
    static func module(from model: ONNXModel) throws(FormatError) -> LSTMModule {
        let name = model.metadata(ONNXExportMetadata.module) ?? "rnn"
        guard let c = ONNXExportMetadata.config(in: model), c.projSize > 0, c.numLayers > 0 else {
            throw FormatError(.corrupt, "lstmkit scan-projection model without a complete lstmkit.* config in metadata_props", entry: name)
        }
        let scans = model.graph.nodes.filter { $0.opType == "Scan" }.count
        guard scans == c.numLayers * c.numDirections else {
            throw FormatError(.corrupt, "lstmkit scan-projection model has \(scans) Scan nodes, expected \(c.numLayers * c.numDirections)", entry: name)
        }
        let graph = ONNXGraphIndex(model.graph)
        func tensor(_ n: String, _ shape: [Int]) throws(FormatError) -> Tensor {
            guard case .tensor(let t, _) = graph.constant("rnn." + n) else {
                throw FormatError(.corrupt, "lstmkit scan-projection model has no initializer rnn.\(n)", entry: name)
            }
            guard t.shape == shape, t.dtype == c.dtype else {
                throw FormatError(.corrupt, "rnn.\(n) is \(t.dtype.name) \(t.shape), expected \(c.dtype.name) \(shape)", entry: name)
            }
            return t
        }
        var layers: [[LSTMDirectionWeights]] = []
        for k in 0..<c.numLayers {
            var dirs: [LSTMDirectionWeights] = []
            for j in 0..<c.numDirections {
                func name(_ kind: CanonicalName.Kind) -> String { CanonicalName(kind, layer: k, reverse: j == 1).description }
                var w = LSTMDirectionWeights(weightIH: try tensor(name(.weightIH), [4 * c.hiddenSize, c.layerInputSize(k)]),
                                             weightHH: try tensor(name(.weightHH), [4 * c.hiddenSize, c.projSize]),
                                             weightHR: try tensor(name(.weightHR), [c.projSize, c.hiddenSize]))
                if c.bias {
                    w.biasIH = try tensor(name(.biasIH), [4 * c.hiddenSize])
                    w.biasHH = try tensor(name(.biasHH), [4 * c.hiddenSize])
                }
                dirs.append(w)
            }
            layers.append(dirs)
        }
        return LSTMModule(name: name, config: c, layers: layers)
    }
}
