import TensorFormats

/// Options for ``ONNXLSTMExport/model(for:options:)``.
public struct ONNXExportOptions: Sendable {
    /// How the graph takes nn.LSTM's `(h0, c0)`.
    public enum InitialState: Sendable {
        /// No h0 / c0 inputs: states start at zero.
        case none
        /// `h0`, `c0` are graph inputs with zero defaults (initializers of batch 1, broadcast to the
        /// batch): a runtime may feed them or leave them out. onnxruntime logs a warning for
        /// initializers that are also inputs ("will not be treated as constant") but runs them.
        case optional
        /// `h0`, `c0` are required graph inputs.
        case required
    }

    /// `x` and `output` are (batch, seq, feature), as with `batch_first=True`; h / c never change.
    public var batchFirst = false
    public var initialState = InitialState.none
    /// Default-domain opset, 13 ... 28 (Squeeze / Split take their axes as inputs from 13 on);
    /// nil → 17, or 22 for a bfloat16 LSTM node (LSTM takes bfloat16 from opset 22).
    public var opset: Int?
    /// IR version; nil → the one released with the opset (opset 17 → IR 8).
    public var irVersion: Int?
    /// Element type of weights and graph I/O; nil → the module's dtype. Every float type gives a model
    /// the checker accepts; onnxruntime's CPU kernels run float32 and float16, not a float64 LSTM node
    /// (the Scan lowering runs float64) and nothing in bfloat16.
    public var dtype: DType?
    public var producerName = "lstmkit"
    public var producerVersion = "0.1.0"

    public init(batchFirst: Bool = false, initialState: InitialState = .none, opset: Int? = nil,
                irVersion: Int? = nil, dtype: DType? = nil) {
        self.batchFirst = batchFirst
        self.initialState = initialState
        self.opset = opset
        self.irVersion = irVersion
        self.dtype = dtype
    }

    static let opsets = 13...28

    /// IR version of the ONNX release that introduced each opset (onnx `helper.VERSION_TABLE`).
    static func irVersion(forOpset opset: Int) -> Int {
        switch opset {
        case ...14: return 7
        case 15...18: return 8
        case 19...20: return 9
        case 21...22: return 10
        case 23: return 11
        case 24: return 12
        case 25...27: return 13
        default: return 14
        }
    }
}

/// Builds a runnable ONNX model for one LSTM module, with nn.LSTM's inputs and outputs.
///
/// | graph I/O | shape | notes |
/// |---|---|---|
/// | `x` | (seq, batch, I), or (batch, seq, I) with `batchFirst` | dims `seq`, `batch` are symbolic |
/// | `h0`, `c0` | (L·D, batch, R), (L·D, batch, H) | per ``ONNXExportOptions/InitialState`` |
/// | `output` | (seq, batch, D·R), or (batch, seq, D·R) | |
/// | `h_n`, `c_n` | (L·D, batch, R), (L·D, batch, H) | row = layer·D + direction |
///
/// proj_size = 0 lowers like torch's exporter: one `LSTM` node per layer (`rnn/LSTM`, `rnn/LSTM_1`,
/// ...) with initializers `rnn.l<k>.W` [D, 4H, in], `rnn.l<k>.R` [D, 4H, H], `rnn.l<k>.B` [D, 8H]
/// (omitted when bias = false) and `rnn.l<k>.P` [D, 3H] (peepholes), gates permuted i,f,g,o → i,o,f,c;
/// layers joined by `Squeeze(axes=[1])` (D = 1) or `Transpose(0,2,1,3)` + `Reshape([0,0,-1])` (D = 2);
/// ONNX-only features of modules read from ONNX (reverse direction, peepholes, clip, input_forget,
/// activations) are written as node attributes. proj_size > 0 lowers to `Scan` loops
/// (see ``ONNXProjectedLSTM``). `metadata_props` record the module (``ONNXExportMetadata``), so
/// reading the model back gives the same module name and config.
public enum ONNXLSTMExport {
    public static func model(for module: LSTMModule, options: ONNXExportOptions = .init()) throws(FormatError) -> ONNXModel {
        let m = try checked(module, dtype: options.dtype)
        let lstmNodes = m.config.projSize == 0
        let opset = options.opset ?? (lstmNodes && m.config.dtype == .bfloat16 ? 22 : 17)
        guard ONNXExportOptions.opsets.contains(opset) else {
            throw FormatError(.unsupported, "ONNX opset \(opset) is not supported for export (use \(ONNXExportOptions.opsets.lowerBound)...\(ONNXExportOptions.opsets.upperBound))", entry: module.name)
        }
        if lstmNodes, m.config.dtype == .bfloat16, opset < 22 {
            throw FormatError(.unsupported, "a bfloat16 LSTM node needs opset 22 or later (asked for \(opset)); write float32 instead, or opset 22", entry: module.name)
        }
        let graph: ONNXGraph
        let lowering: String
        if !lstmNodes {
            graph = try ONNXProjectedLSTM.graph(for: m, options: options)
            lowering = ONNXExportMetadata.scanLowering
        } else {
            graph = try nodeGraph(for: m, options: options)
            lowering = ONNXExportMetadata.nodeLowering
        }
        return ONNXModel(irVersion: Int64(options.irVersion ?? ONNXExportOptions.irVersion(forOpset: opset)),
                         opsetImports: [ONNXOpsetImport(domain: "", version: Int64(opset))],
                         producerName: options.producerName, producerVersion: options.producerVersion,
                         graph: graph,
                         metadataProps: ONNXExportMetadata.entries(for: m, lowering: lowering, batchFirst: options.batchFirst))
    }

    /// `module` with every tensor checked against its config and cast to `dtype`.
    static func checked(_ module: LSTMModule, dtype: DType?) throws(FormatError) -> LSTMModule {
        var m = module
        let c = module.config
        let target = dtype ?? c.dtype
        guard target.isFloatingPoint else { throw FormatError(.unsupported, "cannot export an LSTM of dtype \(target.name)", entry: module.name) }
        m.config.dtype = target
        let h = c.hiddenSize, r = c.outputSize, d = c.numDirections
        if module.variant?.direction == .reverse, c.bidirectional {
            throw FormatError(.corrupt, "a reverse-only ONNX module cannot be bidirectional", entry: module.name)
        }
        if c.projSize > 0, let f = module.variant, !f.nonPyTorchFeatures.isEmpty {
            throw FormatError(.unsupported, "proj_size together with ONNX features (\(f.nonPyTorchFeatures.joined(separator: ", "))) cannot be exported", entry: module.name)
        }
        guard c.numLayers > 0, h > 0, c.inputSize > 0, module.layers.count == c.numLayers else {
            throw FormatError(.corrupt, "module has \(module.layers.count) layers, config says \(c.numLayers)", entry: module.name)
        }
        func cast(_ t: Tensor, _ name: String, _ shape: [Int]) throws(FormatError) -> Tensor {
            guard t.shape == shape else {
                throw FormatError(.corrupt, "\(name) has shape \(t.shape), expected \(shape)", entry: module.name)
            }
            guard t.dtype.isFloatingPoint else { throw FormatError(.corrupt, "\(name) is \(t.dtype.name)", entry: module.name) }
            return try t.converted(to: target)
        }
        for k in 0..<c.numLayers {
            guard module.layers[k].count == d else {
                throw FormatError(.corrupt, "layer \(k) has \(module.layers[k].count) directions, expected \(d)", entry: module.name)
            }
            for j in 0..<d {
                func name(_ kind: CanonicalName.Kind) -> String { CanonicalName(kind, layer: k, reverse: j == 1).description }
                var w = module.layers[k][j]
                w.weightIH = try cast(w.weightIH, name(.weightIH), [4 * h, c.layerInputSize(k)])
                w.weightHH = try cast(w.weightHH, name(.weightHH), [4 * h, r])
                if c.bias {
                    guard let bi = w.biasIH, let bh = w.biasHH else {
                        throw FormatError(.corrupt, "\(name(.biasIH)) / \(name(.biasHH)) missing (bias = true)", entry: module.name)
                    }
                    w.biasIH = try cast(bi, name(.biasIH), [4 * h])
                    w.biasHH = try cast(bh, name(.biasHH), [4 * h])
                } else {
                    w.biasIH = nil
                    w.biasHH = nil
                }
                if c.projSize > 0 {
                    guard let hr = w.weightHR else { throw FormatError(.corrupt, "\(name(.weightHR)) missing (proj_size = \(c.projSize))", entry: module.name) }
                    w.weightHR = try cast(hr, name(.weightHR), [c.projSize, h])
                }
                if let p = w.peephole { w.peephole = try cast(p, "peephole" + CanonicalName.suffix(layer: k, reverse: j == 1), [3 * h]) }
                m.layers[k][j] = w
            }
        }
        return m
    }

    /// Graph inputs `x` (+ `h0`, `c0`) and the time-major input of the first layer.
    static func inputs(_ b: inout ONNXGraphBuilder, _ m: LSTMModule, _ o: ONNXExportOptions) throws(FormatError)
        -> (infos: [ONNXValueInfo], x: String, state: (h: String, c: String)?) {
        let c = m.config
        let elem = ONNXDataType(c.dtype)
        let ld = Int64(c.numLayers * c.numDirections)
        let xShape: [ONNXDim] = o.batchFirst ? [.param("batch"), .param("seq"), .value(Int64(c.inputSize))]
                                             : [.param("seq"), .param("batch"), .value(Int64(c.inputSize))]
        var infos = [ONNXValueInfo(name: "x", elementType: elem, shape: xShape)]
        let x = o.batchFirst ? b.op("Transpose", ["x"], .ints("perm", [1, 0, 2])) : "x"
        guard o.initialState != .none else { return (infos, x, nil) }
        infos.append(ONNXValueInfo(name: "h0", elementType: elem, shape: [.value(ld), .param("batch"), .value(Int64(c.outputSize))]))
        infos.append(ONNXValueInfo(name: "c0", elementType: elem, shape: [.value(ld), .param("batch"), .value(Int64(c.hiddenSize))]))
        guard o.initialState == .optional else { return (infos, x, ("h0", "c0")) }
        b.initializer("h0", try zeros([Int(ld), 1, c.outputSize], c.dtype))
        b.initializer("c0", try zeros([Int(ld), 1, c.hiddenSize], c.dtype))
        let ones = try b.int64s("rnn.one", [1])
        let batch = b.op("Gather", [b.op("Shape", [x]), try b.int64s("rnn.batch_axis", [1])], .int("axis", 0))
        let shape = b.op("Concat", [ones, batch, ones], .int("axis", 0))
        return (infos, x, (b.op("Expand", ["h0", shape]), b.op("Expand", ["c0", shape])))
    }

    static func outputInfos(_ m: LSTMModule, _ o: ONNXExportOptions) -> [ONNXValueInfo] {
        let c = m.config
        let elem = ONNXDataType(c.dtype)
        let ld = Int64(c.numLayers * c.numDirections)
        let width = ONNXDim.value(Int64(c.numDirections * c.outputSize))
        return [
            ONNXValueInfo(name: "output", elementType: elem,
                          shape: o.batchFirst ? [.param("batch"), .param("seq"), width] : [.param("seq"), .param("batch"), width]),
            ONNXValueInfo(name: "h_n", elementType: elem, shape: [.value(ld), .param("batch"), .value(Int64(c.outputSize))]),
            ONNXValueInfo(name: "c_n", elementType: elem, shape: [.value(ld), .param("batch"), .value(Int64(c.hiddenSize))]),
        ]
    }

    static func zeros(_ shape: [Int], _ dtype: DType) throws(FormatError) -> Tensor {
        let n = shape.reduce(1, *)
        return try Tensor(dtype: dtype, shape: shape, storage: TensorStorage(count: n * dtype.itemSize) { _ in })
    }

    private static func nodeGraph(for m: LSTMModule, options o: ONNXExportOptions) throws(FormatError) -> ONNXGraph {
        let c = m.config
        let h = c.hiddenSize, d = c.numDirections, layers = c.numLayers
        var features = m.variant ?? LSTMVariant()
        features.direction = c.bidirectional ? .bidirectional : (features.direction == .reverse ? .reverse : .forward)
        var b = ONNXGraphBuilder(scope: "rnn")
        let (inputs, x0, state) = try inputs(&b, m, o)
        var x = x0
        var hs: [String] = [], cs: [String] = []
        for k in 0..<layers {
            let dirs = m.layers[k]
            let w = try ONNXGates.reorderedConcatenation(dirs.map(\.weightIH), blockElements: h * c.layerInputSize(k),
                                                         perm: ONNXGates.toONNX, shape: [d, 4 * h, c.layerInputSize(k)])
            let r = try ONNXGates.reorderedConcatenation(dirs.map(\.weightHH), blockElements: h * h,
                                                         perm: ONNXGates.toONNX, shape: [d, 4 * h, h])
            var lstmInputs = [x, b.initializer("rnn.l\(k).W", w), b.initializer("rnn.l\(k).R", r)]
            if c.bias {
                var parts: [Tensor] = []
                for dw in dirs {
                    guard let bi = dw.biasIH, let bh = dw.biasHH else { continue }
                    parts.append(try ONNXGates.reorder(bi, start: 0, blockElements: h, perm: ONNXGates.toONNX, shape: [4 * h]))
                    parts.append(try ONNXGates.reorder(bh, start: 0, blockElements: h, perm: ONNXGates.toONNX, shape: [4 * h]))
                }
                lstmInputs.append(b.initializer("rnn.l\(k).B", try ONNXGates.concatenate(parts, shape: [d, 8 * h])))
            } else {
                lstmInputs.append("")
            }
            lstmInputs.append("")  // sequence_lens
            if let state {
                if layers == 1 {
                    lstmInputs += [state.h, state.c]
                } else {
                    let starts = try b.int64s("rnn.l\(k).state_start", [Int64(k * d)])
                    let ends = try b.int64s("rnn.l\(k).state_end", [Int64((k + 1) * d)])
                    let axes = try b.int64s("rnn.zero", [0])
                    lstmInputs.append(b.op("Slice", [state.h, starts, ends, axes]))
                    lstmInputs.append(b.op("Slice", [state.c, starts, ends, axes]))
                }
            } else {
                lstmInputs += ["", ""]
            }
            if features.hasPeepholes {
                var parts: [Tensor] = []
                for dw in dirs {
                    if let p = dw.peephole { parts.append(p) } else { parts.append(try zeros([3 * h], c.dtype)) }
                }
                let p = try ONNXGates.concatenate(parts, shape: [d, 3 * h])
                lstmInputs.append(b.initializer("rnn.l\(k).P", p))
            }
            while lstmInputs.last == "" { lstmInputs.removeLast() }

            var attrs: [ONNXAttribute] = [.int("hidden_size", Int64(h))]
            if features.direction != .forward { attrs.append(.string("direction", features.direction.rawValue)) }
            if !features.activations.isEmpty { attrs.append(.strings("activations", features.activations)) }
            if !features.activationAlpha.isEmpty { attrs.append(.floats("activation_alpha", features.activationAlpha)) }
            if !features.activationBeta.isEmpty { attrs.append(.floats("activation_beta", features.activationBeta)) }
            if let clip = features.clip { attrs.append(.float("clip", clip)) }
            if features.inputForget { attrs.append(.int("input_forget", 1)) }
            let last = k == layers - 1
            let outs = b.node("LSTM", lstmInputs, outputCount: 3, attributes: attrs)
            hs.append(outs[1])
            cs.append(outs[2])
            let y = outs[0]
            let glued: String
            if d == 1 {
                glued = b.op("Squeeze", [y, try b.int64s("rnn.one", [1])], output: last && !o.batchFirst ? "output" : nil)
            } else {
                let t = b.op("Transpose", [y], .ints("perm", [0, 2, 1, 3]))
                glued = b.op("Reshape", [t, try b.int64s("rnn.flatten_directions", [0, 0, -1])], output: last && !o.batchFirst ? "output" : nil)
            }
            x = glued
        }
        if o.batchFirst { b.op("Transpose", [x], output: "output", .ints("perm", [1, 0, 2])) }
        if layers == 1 {
            b.op("Identity", [hs[0]], output: "h_n")
            b.op("Identity", [cs[0]], output: "c_n")
        } else {
            b.op("Concat", hs, output: "h_n", .int("axis", 0))
            b.op("Concat", cs, output: "c_n", .int("axis", 0))
        }
        return ONNXGraph(name: "lstmkit", nodes: b.nodes, initializers: b.initializers,
                         inputs: inputs, outputs: outputInfos(m, o))
    }
}
