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
    /// An int32 graph input `sequence_lens` (batch): row b runs its first `sequence_lens[b]` steps,
    /// later outputs are 0 and h_n / c_n hold the last valid state (nn.LSTM on a packed sequence,
    /// onnxruntime's LSTM `sequence_lens`).
    public var sequenceLengths = false
    /// Default-domain opset, 13 ... 28 (Squeeze / Split take their axes as inputs from 13 on);
    /// nil → 17.
    public var opset: Int?
    /// IR version; nil → the one released with the opset (opset 17 → IR 8).
    public var irVersion: Int?
    /// Element type of the weights; nil → the module's dtype. float32 and float16 are computed as
    /// they are; bfloat16 and float64 weights are stored as they are and computed in float32 (Cast
    /// nodes), because onnxruntime's CPU provider has no bfloat16 or float64 LSTM
    /// (``computeType(for:)``). Graph I/O is in the weights' dtype, float32 for bfloat16 (``ioType(for:)``).
    public var dtype: DType?
    public var producerName = "lstmkit"
    public var producerVersion = "0.1.0"

    public init(batchFirst: Bool = false, initialState: InitialState = .none, sequenceLengths: Bool = false,
                opset: Int? = nil, irVersion: Int? = nil, dtype: DType? = nil) {
        self.batchFirst = batchFirst
        self.initialState = initialState
        self.sequenceLengths = sequenceLengths
        self.opset = opset
        self.irVersion = irVersion
        self.dtype = dtype
    }

    public static let opsets = 13...28
    public static let defaultOpset = 17

    /// The element type a graph for weights of `dtype` computes in: float32 and float16 as they are
    /// (onnxruntime's CPU provider runs LSTM, Gemm and the activations in both), float32 for
    /// bfloat16 and float64 (no CPU kernel runs an LSTM in either).
    public static func computeType(for dtype: DType) -> DType {
        dtype == .float16 ? .float16 : .float32
    }

    /// The element type of the graph's inputs and outputs for weights of `dtype`: the same, except
    /// float32 for bfloat16 (numpy, and so onnxruntime's Python API, has no bfloat16 arrays).
    public static func ioType(for dtype: DType) -> DType {
        dtype == .bfloat16 ? .float32 : dtype
    }

    /// The note `convert` prints for a module computed in another type than it is stored in.
    public static func computeNote(for dtype: DType) -> String? {
        let compute = computeType(for: dtype), io = ioType(for: dtype)
        guard compute != dtype else { return nil }
        return "the \(dtype.name) weights are stored as \(dtype.name) and computed in \(compute.name) (Cast nodes), inputs and outputs are \(io.name): onnxruntime's CPU provider has no \(dtype.name) LSTM"
    }

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
    public static func model(for module: LSTMModule, options given: ONNXExportOptions = .init()) throws(FormatError) -> ONNXModel {
        let m = try checked(module, dtype: given.dtype)
        var options = given
        if m.variant?.layout == 1 { options.batchFirst = true }  // a layout = 1 node's batch-major I/O
        let lstmNodes = m.config.projSize == 0
        let opset = options.opset ?? ONNXExportOptions.defaultOpset
        guard ONNXExportOptions.opsets.contains(opset) else {
            throw FormatError(.unsupported, "ONNX opset \(opset) is not supported for export (use \(ONNXExportOptions.opsets.lowerBound)...\(ONNXExportOptions.opsets.upperBound); the newest onnx release defines \(ONNXExportOptions.opsets.upperBound))", entry: module.name)
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

    /// Graph inputs `x` (+ `h0`, `c0`, `sequence_lens`) and what the layers read: the time-major
    /// input and the states in the compute type, and the lengths.
    static func inputs(_ b: inout ONNXGraphBuilder, _ m: LSTMModule, _ o: ONNXExportOptions) throws(FormatError)
        -> (infos: [ONNXValueInfo], x: String, state: (h: String, c: String)?, lengths: String?) {
        let c = m.config
        let io = ONNXExportOptions.ioType(for: c.dtype)
        let elem = ONNXDataType(io)
        let ld = Int64(c.numLayers * c.numDirections)
        let xShape: [ONNXDim] = o.batchFirst ? [.param("batch"), .param("seq"), .value(Int64(c.inputSize))]
                                             : [.param("seq"), .param("batch"), .value(Int64(c.inputSize))]
        var infos = [ONNXValueInfo(name: "x", elementType: elem, shape: xShape)]
        let x = computed(&b, o.batchFirst ? b.op("Transpose", ["x"], .ints("perm", [1, 0, 2])) : "x", from: io, module: c.dtype)
        if o.initialState != .none {
            infos.append(ONNXValueInfo(name: "h0", elementType: elem, shape: [.value(ld), .param("batch"), .value(Int64(c.outputSize))]))
            infos.append(ONNXValueInfo(name: "c0", elementType: elem, shape: [.value(ld), .param("batch"), .value(Int64(c.hiddenSize))]))
        }
        if o.sequenceLengths {
            infos.append(ONNXValueInfo(name: "sequence_lens", elementType: ONNXDataType(.int32), shape: [.param("batch")]))
        }
        var lengths = o.sequenceLengths ? "sequence_lens" : nil
        if lengths == nil, let constant = m.variant?.sequenceLengths {
            // A node read from ONNX with constant lengths keeps them.
            let storage = try TensorStorage(count: 4 * constant.count) { dst in
                for (i, v) in constant.enumerated() { dst.storeBytes(of: Int32(clamping: v).littleEndian, toByteOffset: 4 * i, as: Int32.self) }
            }
            lengths = b.initializer("rnn.sequence_lens", try Tensor(dtype: .int32, shape: [constant.count], storage: storage))
        }
        switch o.initialState {
        case .none:
            return (infos, x, nil, lengths)
        case .required:
            return (infos, x, (computed(&b, "h0", from: io, module: c.dtype), computed(&b, "c0", from: io, module: c.dtype)), lengths)
        case .optional:
            b.initializer("h0", try zeros([Int(ld), 1, c.outputSize], io))
            b.initializer("c0", try zeros([Int(ld), 1, c.hiddenSize], io))
            let ones = try b.int64s("rnn.one", [1])
            let batch = b.op("Gather", [b.op("Shape", [x]), try b.int64s("rnn.batch_axis", [1])], .int("axis", 0))
            let shape = b.op("Concat", [ones, batch, ones], .int("axis", 0))
            return (infos, x, (computed(&b, b.op("Expand", ["h0", shape]), from: io, module: c.dtype),
                               computed(&b, b.op("Expand", ["c0", shape]), from: io, module: c.dtype)), lengths)
        }
    }

    /// `value`, of element type `from`, in the compute type of a module of `module` dtype: itself,
    /// or a `Cast` of it.
    static func computed(_ b: inout ONNXGraphBuilder, _ value: String, from: DType, module: DType) -> String {
        let compute = ONNXExportOptions.computeType(for: module)
        guard compute != from else { return value }
        return b.op("Cast", [value], .int("to", Int64(ONNXDataType(compute).rawValue)))
    }

    /// A weight initializer (of the module's dtype) in the compute type.
    static func computed(_ b: inout ONNXGraphBuilder, _ weight: String, _ dtype: DType) -> String {
        computed(&b, weight, from: dtype, module: dtype)
    }

    /// Whether the graph's outputs need a Cast from the compute type.
    static func castsOutputs(_ dtype: DType) -> Bool {
        ONNXExportOptions.computeType(for: dtype) != ONNXExportOptions.ioType(for: dtype)
    }

    /// Names `value` (in the compute type) as the graph output `name`, in the I/O type.
    static func output(_ b: inout ONNXGraphBuilder, _ value: String, as name: String, _ dtype: DType) {
        let io = ONNXExportOptions.ioType(for: dtype)
        if ONNXExportOptions.computeType(for: dtype) == io {
            b.op("Identity", [value], output: name)
        } else {
            b.op("Cast", [value], output: name, .int("to", Int64(ONNXDataType(io).rawValue)))
        }
    }

    static func outputInfos(_ m: LSTMModule, _ o: ONNXExportOptions) -> [ONNXValueInfo] {
        let c = m.config
        let elem = ONNXDataType(ONNXExportOptions.ioType(for: c.dtype))
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
        let (inputs, x0, state, lengths) = try inputs(&b, m, o)
        let cast = castsOutputs(c.dtype)
        /// The graph output `name` when the value is already in the I/O type (no Cast).
        func named(_ name: String) -> String? { cast ? nil : name }
        var x = x0
        var hs: [String] = [], cs: [String] = []
        for k in 0..<layers {
            let dirs = m.layers[k]
            let w = try ONNXGates.reorderedConcatenation(dirs.map(\.weightIH), blockElements: h * c.layerInputSize(k),
                                                         perm: ONNXGates.toONNX, shape: [d, 4 * h, c.layerInputSize(k)])
            let r = try ONNXGates.reorderedConcatenation(dirs.map(\.weightHH), blockElements: h * h,
                                                         perm: ONNXGates.toONNX, shape: [d, 4 * h, h])
            var lstmInputs = [x, computed(&b, b.initializer("rnn.l\(k).W", w), c.dtype),
                              computed(&b, b.initializer("rnn.l\(k).R", r), c.dtype)]
            if c.bias {
                var parts: [Tensor] = []
                for dw in dirs {
                    guard let bi = dw.biasIH, let bh = dw.biasHH else { continue }
                    parts.append(try ONNXGates.reorder(bi, start: 0, blockElements: h, perm: ONNXGates.toONNX, shape: [4 * h]))
                    parts.append(try ONNXGates.reorder(bh, start: 0, blockElements: h, perm: ONNXGates.toONNX, shape: [4 * h]))
                }
                lstmInputs.append(computed(&b, b.initializer("rnn.l\(k).B", try ONNXGates.concatenate(parts, shape: [d, 8 * h])), c.dtype))
            } else {
                lstmInputs.append("")
            }
            lstmInputs.append(lengths ?? "")
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
                lstmInputs.append(computed(&b, b.initializer("rnn.l\(k).P", p), c.dtype))
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
                glued = b.op("Squeeze", [y, try b.int64s("rnn.one", [1])], output: last && !o.batchFirst ? named("output") : nil)
            } else {
                let t = b.op("Transpose", [y], .ints("perm", [0, 2, 1, 3]))
                glued = b.op("Reshape", [t, try b.int64s("rnn.flatten_directions", [0, 0, -1])], output: last && !o.batchFirst ? named("output") : nil)
            }
            x = glued
        }
        if o.batchFirst { x = b.op("Transpose", [x], output: named("output"), .ints("perm", [1, 0, 2])) }
        if cast { output(&b, x, as: "output", c.dtype) }
        if layers == 1 {
            if cast {
                output(&b, hs[0], as: "h_n", c.dtype)
                output(&b, cs[0], as: "c_n", c.dtype)
            } else {
                b.op("Identity", [hs[0]], output: "h_n")
                b.op("Identity", [cs[0]], output: "c_n")
            }
        } else {
            let hn = b.op("Concat", hs, output: named("h_n"), .int("axis", 0))
            let cn = b.op("Concat", cs, output: named("c_n"), .int("axis", 0))
            if cast {
                output(&b, hn, as: "h_n", c.dtype)
                output(&b, cn, as: "c_n", c.dtype)
            }
        }
        return ONNXGraph(name: "lstmkit", nodes: b.nodes, initializers: b.initializers,
                         inputs: inputs, outputs: outputInfos(m, o))
    }
}
