import TensorFormats

/// Keras 3 LSTM layers in a weights file (`model.save_weights("….weights.h5")`, read by the HDF5
/// reader into tensors named by their path). Keras 3 keeps a layer's variables by position:
///
/// | tensor | Keras | shape | canonical (nn.LSTM) |
/// |---|---|---|---|
/// | `<layer>/cell/vars/0` | kernel | (I, 4U) | `weight_ih_l0` = kernelᵀ (a transposed view) |
/// | `<layer>/cell/vars/1` | recurrent_kernel | (U, 4U) | `weight_hh_l0` = recurrent_kernelᵀ |
/// | `<layer>/cell/vars/2` | bias (absent with use_bias=False) | (4U) | `bias_ih_l0`; `bias_hh_l0` = 0 |
/// | `<bi>/forward_layer/cell/vars/…`, `<bi>/backward_layer/cell/vars/…` | Bidirectional | as above | the `_l0` and `_l0_reverse` tensors of one module `<bi>` |
///
/// Keras orders the gate blocks i, f, c, o: nn.LSTM's i, f, g, o. Each layer is its own
/// one-layer module named by its path (`layers/lstm`, `layers/lstm_1`, `layers/bidirectional`).
/// Only variables of exactly these shapes are claimed, so a GRU (3U columns) or SimpleRNN cell is
/// left alone. A `.keras` file's `config.json` gives each layer's activations (``apply(_:layer:to:file:)``);
/// a bare weights file holds no config, so its activations are taken to be Keras's defaults
/// (tanh, sigmoid), which a note says.
public struct KerasLSTMSource: ModuleSource {
    public init() {}

    public func discover(in file: TensorFile, unclaimed: [NamedTensor]) throws(FormatError) -> [DiscoveredModule] {
        guard file.format == .hdf5 || file.format == .keras else { return [] }
        var byName: [String: Tensor] = [:]
        for t in unclaimed { byName[t.name] = t.tensor }
        var layers: [String] = []
        for t in unclaimed where t.name.hasSuffix("/cell/vars/1") {
            var layer = String(t.name.dropLast("/cell/vars/1".count))
            for side in ["/forward_layer", "/backward_layer"] where layer.hasSuffix(side) { layer = String(layer.dropLast(side.count)) }
            if !layers.contains(layer) { layers.append(layer) }
        }
        var out: [DiscoveredModule] = []
        for layer in layers {
            let directions = [layer + "/forward_layer", layer + "/backward_layer"]
            let cells = byName[directions[0] + "/cell/vars/1"] != nil && byName[directions[1] + "/cell/vars/1"] != nil
                ? directions : [layer]
            guard var module = try module(layer, cells: cells, byName: byName, file: file) else { continue }
            if let settings = file.kerasConfig?.layers[layer] { try apply(settings, layer: layer, to: &module, file: file) }
            out.append(module)
        }
        return out
    }

    private func module(_ layer: String, cells: [String], byName: [String: Tensor], file: TensorFile) throws(FormatError) -> DiscoveredModule? {
        var renamed: [NamedTensor] = []
        var sources: [String] = []
        let prefix = layer + "."
        for (d, cell) in cells.enumerated() {
            let names = (0..<3).map { "\(cell)/cell/vars/\($0)" }
            guard let kernel = byName[names[0]], let recurrent = byName[names[1]],
                  recurrent.rank == 2, kernel.rank == 2 else { return nil }
            let units = recurrent.shape[0]
            guard recurrent.shape[1] == 4 * units, kernel.shape[1] == 4 * units, units > 0 else { return nil }
            let bias = byName[names[2]]
            if let bias, bias.shape != [4 * units] { return nil }
            func name(_ kind: CanonicalName.Kind) -> String { prefix + CanonicalName(kind, layer: 0, reverse: d == 1).description }
            do {
                renamed.append(NamedTensor(name: name(.weightIH), tensor: try kernel.transposedMatrix()))
                renamed.append(NamedTensor(name: name(.weightHH), tensor: try recurrent.transposedMatrix()))
                if let bias {
                    renamed.append(NamedTensor(name: name(.biasIH), tensor: bias))
                    let zeros = try TensorStorage(count: bias.dtype.itemSize * 4 * units) { $0.initializeMemory(as: UInt8.self, repeating: 0) }
                    renamed.append(NamedTensor(name: name(.biasHH), tensor: try Tensor(dtype: bias.dtype, shape: [4 * units], storage: zeros)))
                }
            } catch {
                throw error.inFile(file.path).inEntry(names[0])
            }
            sources += bias == nil ? Array(names[0...1]) : names
        }
        guard var found = LSTMDiscovery.discover(tensors: renamed).first else { return nil }
        found.sourceTensors = sources
        found.mapped = true
        let shown = SchemaProblem.displayName(found.name)
        found.notes.append("LSTM \(shown) is a Keras layer: kernel and recurrent_kernel are read transposed (gate order i, f, c, o), "
                           + (sources.count > 2 * cells.count ? "its one bias as bias_ih with bias_hh = 0" : "no bias")
                           + (file.kerasConfig == nil ? "; a weights file holds no config, so the activations are taken to be Keras's defaults (tanh, sigmoid)" : ""))
        return found
    }
}

extension KerasLSTMSource {
    /// The Keras activations as the reference pass's ONNX-style activations (f = recurrent_activation,
    /// g = h = activation), by Keras 3's definitions.
    ///
    /// | Keras | ONNX | |
    /// |---|---|---|
    /// | sigmoid, tanh, relu, linear | Sigmoid, Tanh, Relu, Affine α 1 β 0 | |
    /// | hard_sigmoid | HardSigmoid α 1/6, β 0.5 | Keras 3: relu6(x + 3) / 6 (Keras 2's α 0.2 is not this) |
    /// | softsign, softplus, elu | Softsign, Softplus, Elu α 1 | |
    static let activations: [String: (name: String, alpha: Float?, beta: Float?)] = [
        "sigmoid": ("Sigmoid", nil, nil), "tanh": ("Tanh", nil, nil), "relu": ("Relu", nil, nil),
        "linear": ("Affine", 1, 0), "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
        "softsign": ("Softsign", nil, nil), "softplus": ("Softplus", nil, nil), "elu": ("Elu", 1, nil),
    ]

    /// Applies a `.keras` file's layer settings: non-default activations become the module's
    /// variant (run / verify compute them; `.pt` output refuses them by name); go_backwards, whose
    /// output sequence Keras returns reversed, is refused; return_sequences / return_state are noted.
    func apply(_ s: KerasModelConfig.Layer, layer: String, to found: inout DiscoveredModule, file: TensorFile) throws(FormatError) {
        let shown = SchemaProblem.displayName(found.name)
        if s.goBackwards {
            throw FormatError(.unsupported, "Keras layer '\(s.name)' (\(layer)) has go_backwards=True, which lstmkit does not map yet (Keras returns its output sequence reversed)",
                              file: file.path, entry: layer)
        }
        found.notes.append("LSTM \(shown) is Keras layer '\(s.name)' (\(s.className)); return_sequences=\(s.returnSequences), return_state=\(s.returnState) change what Keras returns, not the weights")
        guard s.activation != "tanh" || s.recurrentActivation != "sigmoid" else { return }
        guard let g = Self.activations[s.activation], let f = Self.activations[s.recurrentActivation] else {
            let unknown = Self.activations[s.activation] == nil ? s.activation : s.recurrentActivation
            throw FormatError(.unsupported, "Keras layer '\(s.name)' (\(layer)) uses activation '\(unknown)', which lstmkit does not compute",
                              file: file.path, entry: layer)
        }
        guard var module = found.module else { return }
        var variant = module.variant ?? LSTMVariant()
        let triple = [f, g, g]
        variant.activations = triple.map(\.name)
        // ONNX consumes alpha / beta in order for the activations that take them.
        variant.activationAlpha = triple.compactMap(\.alpha)
        variant.activationBeta = triple.compactMap(\.beta)
        module.variant = variant
        found.module = module
        found.notes.append("LSTM \(shown) uses recurrent_activation \(s.recurrentActivation) and activation \(s.activation): computed by run / verify, kept in .onnx output, refused by .pt / .npz / .safetensors output")
    }
}

extension Tensor {
    /// The transpose of a rank-2 tensor as a view (strides exchanged; no bytes copied).
    func transposedMatrix() throws(FormatError) -> Tensor {
        guard rank == 2 else { throw FormatError(.unsupported, "cannot transpose a rank-\(rank) tensor as a matrix") }
        return try Tensor(dtype: dtype, shape: [shape[1], shape[0]], strides: [strides[1], strides[0]], byteOrder: byteOrder,
                          storage: storage, byteOffset: byteOffset)
    }
}
