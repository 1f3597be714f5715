import TensorFormats

/// `convert … out.keras` / `out.weights.h5`: one module as a Keras 3 Sequential model
/// (``KerasSequentialModel``): nn.LSTM layer k becomes the k-th `LSTM` layer, or
/// `Bidirectional(LSTM)` when the module is bidirectional, each with `return_sequences=True`.
///
/// | nn.LSTM | Keras |
/// |---|---|
/// | `weight_ih_lk` (4H, I) | kernel = weight_ihᵀ (I, 4U), gate blocks i, f, g, o = Keras's i, f, c, o |
/// | `weight_hh_lk` (4H, H) | recurrent_kernel = weight_hhᵀ |
/// | `bias_ih_lk` + `bias_hh_lk` | the one bias (their sum, rounded once to the dtype); none = use_bias=False |
/// | `_reverse` | Bidirectional's backward_layer (merge_mode concat: forward then backward, as nn.LSTM) |
/// | reverse-only with outputs reversed in time (a Keras go_backwards layer) | go_backwards=True |
/// | f, g = h activations (a module read from ONNX or Keras) | recurrent_activation, activation (Sigmoid, Tanh, Relu, HardSigmoid α 1/6 β 0.5 = hard_sigmoid, Affine α 1 β 0 = linear, Softsign, Softplus, Elu α 1) |
///
/// Refused, naming why: proj_size (Keras's LSTM has no projection), peepholes, clip,
/// input_forget, a reverse-only direction with input-aligned outputs (ONNX's), g ≠ h or
/// activations Keras has no name for. bfloat16 weights are written as Keras writes them.
public enum KerasGraphWriter: ModuleGraphWriter {
    public static let format = FileFormat.keras

    public static func refusal(for module: LSTMModule) -> String? {
        if module.config.projSize > 0 { return "proj_size \(module.config.projSize) (Keras's LSTM has no projection)" }
        guard let variant = module.variant else { return nil }
        var features: [String] = []
        if variant.direction == .reverse, !variant.outputReversed {
            features.append("a reverse-only direction whose outputs are aligned with the input (Keras's go_backwards returns them reversed)")
        }
        if variant.hasPeepholes { features.append("peepholes (P)") }
        if variant.clip != nil { features.append("clip") }
        if variant.inputForget { features.append("input_forget") }
        if !features.isEmpty { return features.joined(separator: " and ") + " (Keras's LSTM has none)" }
        if case .failure(let refusal) = activations(of: module) { return refusal.why }
        return nil
    }

    public static func write(_ module: LSTMModule, to output: OutputFile, request: ConversionRequest) throws(FormatError) -> [OutputFile] {
        do throws(FormatError) {
            try model(for: module).write(to: output, weightsOnly: output.path.lowercased().hasSuffix(".weights.h5"))
            return []
        } catch {
            throw error.inFile(output.path)
        }
    }

    public static func notes(for module: LSTMModule, request: ConversionRequest) -> [String] {
        var notes: [String] = []
        if module.kind == .lstmCell { notes.append("the nn.LSTMCell is written as a one-layer Keras LSTM (its step is the same)") }
        if module.config.bias {
            notes.append("each layer's bias_ih + bias_hh is written as Keras's one bias"
                         + ([.float16, .bfloat16].contains(module.config.dtype)
                            ? ", rounded to \(module.config.dtype.name) once: outputs can differ from the source's by that rounding" : ""))
        }
        if let v = module.variant, v.hasSequenceLens || v.layout != 0 {
            notes.append("the ONNX node's layout / sequence_lens describe its inputs, not its weights: not written")
        }
        return notes
    }

    public static func writtenTensors(for module: LSTMModule) throws(FormatError) -> [NamedTensor]? {
        KerasSequentialModel.datasets(try model(for: module, views: true).weights())
    }

    /// The Keras model for `module`; throws the refusal when Keras cannot hold it. With `views`,
    /// the kernels are transposed views (for listing), else row-major tensors made as they are
    /// written (``Tensor/rowMajorOnDemand()``: no transposed copy is held).
    public static func model(for module: LSTMModule, views: Bool = false) throws(FormatError) -> KerasSequentialModel {
        func refused(_ why: String) -> FormatError {
            FormatError(.unsupported, "LSTM \(SchemaProblem.displayName(module.name)) uses \(why), which a Keras LSTM cannot hold")
        }
        if let why = refusal(for: module) { throw refused(why) }
        let names: (recurrent: String, activation: String)
        switch activations(of: module) {
        case .success(let n): names = n
        case .failure(let r): throw refused(r.why)
        }
        let dtype = module.config.dtype
        var layers: [KerasSequentialModel.Layer] = []
        for (k, layer) in module.layers.enumerated() {
            var cells: [KerasSequentialModel.Cell] = []
            for (d, w) in layer.enumerated() {
                let suffix = CanonicalName.suffix(layer: k, reverse: d == 1)
                func transposed(_ t: Tensor, _ name: String) throws(FormatError) -> Tensor {
                    do throws(FormatError) {
                        let view = try t.transposedMatrix()
                        return views ? view : try view.rowMajorOnDemand()
                    } catch { throw error.inEntry(name + suffix) }
                }
                var bias: Tensor?
                if let ih = w.biasIH {
                    let hh = w.biasHH?.doubles() ?? [Double](repeating: 0, count: ih.elementCount)
                    let sum = zip(ih.doubles(), hh).map { $0 + $1 }
                    do throws(FormatError) {
                        bias = try Tensor(float64: sum, shape: [sum.count]).converted(to: dtype)
                    } catch { throw error.inEntry("bias_ih" + suffix) }
                }
                cells.append(.init(kernel: try transposed(w.weightIH, "weight_ih"), recurrentKernel: try transposed(w.weightHH, "weight_hh"), bias: bias))
            }
            var keras = KerasSequentialModel.Layer(units: module.config.hiddenSize, activation: names.activation,
                                                   recurrentActivation: names.recurrent, cells: cells)
            keras.goBackwards = module.variant?.outputReversed == true
            layers.append(keras)
        }
        return KerasSequentialModel(inputSize: module.config.inputSize, dtype: dtype, layers: layers)
    }

    /// Keras's (recurrent_activation, activation) for the module's f and g = h, the same in every direction.
    static func activations(of module: LSTMModule) -> Result<(recurrent: String, activation: String), KerasRefusal> {
        guard let v = module.variant, !v.activations.isEmpty else { return .success(("sigmoid", "tanh")) }
        let functions: [ActivationFunction]
        do { functions = try ActivationFunction.resolve(v.activations, alpha: v.activationAlpha, beta: v.activationBeta) } catch {
            return .failure(KerasRefusal(error.message))
        }
        let perDirection = stride(from: 0, to: functions.count, by: 3).map { Array(functions[$0..<min($0 + 3, functions.count)]) }
        guard let first = perDirection.first, first.count == 3, perDirection.allSatisfy({ $0 == first }) else {
            return .failure(KerasRefusal("different activations per direction"))
        }
        guard first[1] == first[2] else {
            return .failure(KerasRefusal("activations g = \(first[1].name) and h = \(first[2].name), which differ (Keras has one activation for both)"))
        }
        guard let f = kerasName(first[0]), let g = kerasName(first[1]) else {
            let missing = kerasName(first[0]) == nil ? first[0] : first[1]
            return .failure(KerasRefusal("activation \(missing.name)\(missing.alpha.map { " α \(Float($0))" } ?? "")\(missing.beta.map { " β \(Float($0))" } ?? ""), which has no Keras 3 name"))
        }
        return .success((f, g))
    }

    static func kerasName(_ f: ActivationFunction) -> String? {
        func close(_ a: Double?, _ b: Float?) -> Bool {
            switch (a, b) {
            case (nil, nil): true
            case (let a?, let b?): abs(a - Double(b)) <= 1e-6 * max(1, abs(a))
            default: false
            }
        }
        return KerasLSTMSource.activations.first { $0.value.name == f.name && close(f.alpha, $0.value.alpha) && close(f.beta, $0.value.beta) }?.key
    }
}

/// Why Keras cannot hold a module (a sentence fragment).
struct KerasRefusal: Error {
    var why: String
    init(_ why: String) { self.why = why }
}
