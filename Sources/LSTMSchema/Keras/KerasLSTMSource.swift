import TensorFormats

/// Keras LSTM layers in an HDF5 weights file or a `.keras` model (read by the HDF5 reader into
/// tensors named by their path). Two layouts:
///
/// | layout | kernel, recurrent_kernel, bias | module |
/// |---|---|---|
/// | Keras 3 (`.keras`, `save_weights("….weights.h5")`) | `<layer>/cell/vars/0`, `/1`, `/2` | `<layer>` (`layers/lstm`, `layers/lstm_1`, `layers/bidirectional`) |
/// | legacy (Keras 2 / tf.keras `.h5`, Keras 3's `model.save("….h5")`) | `<layer>/<layer>/[lstm_cell…/]kernel[:0]`, `recurrent_kernel[:0]`, `bias[:0]` | `<layer>` (`model_weights/lstm`) |
///
/// Bidirectional: Keras 3's `forward_layer` / `backward_layer`, the legacy `forward_<x>` /
/// `backward_<x>` groups, become one module with `_reverse`. The mapping:
///
/// | Keras | shape | canonical (nn.LSTM) |
/// |---|---|---|
/// | kernel | (I, 4U) | `weight_ih_l0` = kernelᵀ (a transposed view) |
/// | recurrent_kernel | (U, 4U) | `weight_hh_l0` = recurrent_kernelᵀ |
/// | bias (absent with use_bias=False) | (4U) | `bias_ih_l0`; `bias_hh_l0` = 0 |
/// | CuDNNLSTM's bias | (8U) | `bias_ih_l0` = the first 4U, `bias_hh_l0` = the last 4U (views) |
///
/// Keras orders the gate blocks i, f, c, o: nn.LSTM's i, f, g, o. Each layer is its own
/// one-layer module. Only variables of exactly these shapes are claimed, so a GRU (3U columns),
/// a SimpleRNN or a Dense layer is left alone. The model config (a `.keras` file's `config.json`,
/// a legacy file's `model_config`) gives each layer's activations (``apply(_:layer:to:file:)``);
/// a bare weights file holds none, so Keras's defaults (tanh, sigmoid) are assumed, which a note says.
public struct KerasLSTMSource: ModuleSource {
    public init() {}

    /// One direction's variables and the file's names for them.
    struct Cell {
        var kernel: String
        var recurrent: String
        var bias: String?
    }

    public func discover(in file: TensorFile, unclaimed: [NamedTensor]) throws(FormatError) -> [DiscoveredModule] {
        guard file.format == .hdf5 || file.format == .keras else { return [] }
        var byName: [String: Tensor] = [:]
        for t in unclaimed { byName[t.name] = t.tensor }
        var layers: [(name: String, cells: [Cell])] = []
        for (layer, cells) in Self.keras3Layers(unclaimed.map(\.name), byName) + Self.legacyLayers(unclaimed.map(\.name), byName)
        where !layers.contains(where: { $0.name == layer }) {
            layers.append((layer, cells))
        }
        var out: [DiscoveredModule] = []
        for (layer, cells) in layers {
            guard var module = try module(layer, layers: [cells], byName: byName, file: file) else { continue }
            if let settings = file.kerasConfig?.layers[layer] {
                try apply(settings, layer: layer, to: &module, file: file)
                if let input = settings.input, layers.contains(where: { $0.name == input }) {
                    module.notes.append("LSTM \(SchemaProblem.displayName(layer)) takes the output of LSTM \(SchemaProblem.displayName(input)) "
                                        + "(stacked Keras layers are separate modules, one per layer)")
                }
            }
            out.append(module)
        }
        return out
    }

    /// Keras 3: `<layer>/cell/vars/1` names a cell; `<bi>/forward_layer` + `<bi>/backward_layer` pair up.
    static func keras3Layers(_ names: [String], _ byName: [String: Tensor]) -> [(String, [Cell])] {
        var out: [(String, [Cell])] = []
        func cell(_ path: String) -> Cell {
            Cell(kernel: path + "/cell/vars/0", recurrent: path + "/cell/vars/1", bias: byName[path + "/cell/vars/2"] != nil ? path + "/cell/vars/2" : nil)
        }
        for name in names where name.hasSuffix("/cell/vars/1") {
            var layer = String(name.dropLast("/cell/vars/1".count))
            for side in ["/forward_layer", "/backward_layer"] where layer.hasSuffix(side) { layer = String(layer.dropLast(side.count)) }
            guard !out.contains(where: { $0.0 == layer }) else { continue }
            let sides = [layer + "/forward_layer", layer + "/backward_layer"]
            let both = sides.allSatisfy { byName[$0 + "/cell/vars/1"] != nil }
            out.append((layer, both ? sides.map(cell) : [cell(layer)]))
        }
        return out
    }

    /// Legacy: a group holding `recurrent_kernel[:0]` (and `kernel[:0]`) is a cell; a trailing
    /// `lstm_cell…` group and a repeated layer name (`lstm/lstm`) are dropped from the module name;
    /// `forward_x` + `backward_x` siblings pair up.
    static func legacyLayers(_ names: [String], _ byName: [String: Tensor]) -> [(String, [Cell])] {
        var cells: [(group: String, cell: Cell)] = []
        for name in names {
            for suffix in ["/recurrent_kernel", "/recurrent_kernel:0"] where name.hasSuffix(suffix) {
                let group = String(name.dropLast(suffix.count))
                let tail = suffix.hasSuffix(":0") ? ":0" : ""
                guard byName[group + "/kernel" + tail] != nil else { continue }
                let bias = group + "/bias" + tail
                cells.append((group, Cell(kernel: group + "/kernel" + tail, recurrent: name, bias: byName[bias] != nil ? bias : nil)))
            }
        }
        func parts(_ path: String) -> [Substring] { path.split(separator: "/", omittingEmptySubsequences: false) }
        func layerPath(_ group: String) -> [Substring] {
            var p = parts(group)
            if let last = p.last, last.hasPrefix("lstm_cell"), p.count > 1 { p.removeLast() }
            return p
        }
        func collapse(_ p: [Substring]) -> String {
            var p = p
            if p.count >= 2, p[p.count - 1] == p[p.count - 2] { p.removeLast() }
            return p.joined(separator: "/")
        }
        var out: [(String, [Cell])] = []
        var used: Set<String> = []
        for (group, cell) in cells where !used.contains(group) {
            let p = layerPath(group)
            if let last = p.last, last.hasPrefix("forward_") {
                let backwardName = "backward_" + last.dropFirst("forward_".count)
                if let partner = cells.first(where: { layerPath($0.group) == Array(p.dropLast()) + [Substring(backwardName)] }) {
                    used.formUnion([group, partner.group])
                    out.append((collapse(Array(p.dropLast())), [cell, partner.cell]))
                    continue
                }
            }
            if let last = p.last, last.hasPrefix("backward_"),
               cells.contains(where: { layerPath($0.group) == Array(p.dropLast()) + [Substring("forward_" + last.dropFirst("backward_".count))] }) {
                continue   // taken with its forward partner
            }
            used.insert(group)
            out.append((collapse(p), [cell]))
        }
        return out
    }

    private func module(_ layer: String, layers: [[Cell]], byName: [String: Tensor], file: TensorFile) throws(FormatError) -> DiscoveredModule? {
        var renamed: [NamedTensor] = []
        var sources: [String] = []
        let prefix = layer + "."
        var splitBias = false
        for (k, cells) in layers.enumerated() {
        for (d, cell) in cells.enumerated() {
            guard let kernel = byName[cell.kernel], let recurrent = byName[cell.recurrent],
                  recurrent.rank == 2, kernel.rank == 2 else { return nil }
            let units = recurrent.shape[0]
            guard recurrent.shape[1] == 4 * units, kernel.shape[1] == 4 * units, units > 0 else { return nil }
            let bias = cell.bias.flatMap { byName[$0] }
            if let bias, bias.shape != [4 * units], bias.shape != [8 * units] { return nil }
            func name(_ kind: CanonicalName.Kind) -> String { prefix + CanonicalName(kind, layer: k, reverse: d == 1).description }
            do {
                renamed.append(NamedTensor(name: name(.weightIH), tensor: try kernel.transposedMatrix()))
                renamed.append(NamedTensor(name: name(.weightHH), tensor: try recurrent.transposedMatrix()))
                if let bias, bias.shape == [8 * units] {
                    splitBias = true
                    renamed.append(NamedTensor(name: name(.biasIH), tensor: try bias.slice(0..<(4 * units))))
                    renamed.append(NamedTensor(name: name(.biasHH), tensor: try bias.slice((4 * units)..<(8 * units))))
                } else if let bias {
                    renamed.append(NamedTensor(name: name(.biasIH), tensor: bias))
                    let zeros = try TensorStorage(count: bias.dtype.itemSize * 4 * units) { $0.initializeMemory(as: UInt8.self, repeating: 0) }
                    renamed.append(NamedTensor(name: name(.biasHH), tensor: try Tensor(dtype: bias.dtype, shape: [4 * units], storage: zeros)))
                }
            } catch {
                throw error.inFile(file.path).inEntry(cell.kernel)
            }
            sources += [cell.kernel, cell.recurrent] + (bias == nil ? [] : [cell.bias!])
        }
        }
        guard var found = LSTMDiscovery.discover(tensors: renamed).first else { return nil }
        found.sourceTensors = sources
        found.mapped = true
        let shown = SchemaProblem.displayName(found.name)
        let hasBias = sources.count > 2 * layers.reduce(0) { $0 + $1.count }
        found.notes.append("LSTM \(shown) is a Keras layer: kernel and recurrent_kernel are read transposed (gate order i, f, c, o), "
                           + (splitBias ? "its 8U CuDNNLSTM bias as bias_ih (first half) and bias_hh (second half)"
                                        : hasBias ? "its one bias as bias_ih with bias_hh = 0" : "no bias")
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
    /// | hard_sigmoid | HardSigmoid α 1/6, β 0.5 | Keras 3: relu6(x + 3) / 6; a file whose keras_version is 2.x: α 0.2, β 0.5 (``keras2Activations``) |
    /// | softsign, softplus, elu | Softsign, Softplus, Elu α 1 | |
    static let activations: [String: (name: String, alpha: Float?, beta: Float?)] = [
        "sigmoid": ("Sigmoid", nil, nil), "tanh": ("Tanh", nil, nil), "relu": ("Relu", nil, nil),
        "linear": ("Affine", 1, 0), "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
        "softsign": ("Softsign", nil, nil), "softplus": ("Softplus", nil, nil), "elu": ("Elu", 1, nil),
    ]

    /// Keras 2's definitions where they differ from Keras 3's: hard_sigmoid is min(max(0.2·x + 0.5, 0), 1).
    static let keras2Activations = activations.merging(["hard_sigmoid": ("HardSigmoid", 0.2, 0.5)]) { $1 }

    /// Applies a model config's layer settings: non-default activations become the module's
    /// variant (run / verify compute them; `.pt` output refuses them by name); go_backwards becomes
    /// a reverse-only direction whose output is reversed in time (``LSTMVariant/outputReversed``);
    /// return_sequences / return_state are noted.
    func apply(_ s: KerasModelConfig.Layer, layer: String, to found: inout DiscoveredModule, file: TensorFile) throws(FormatError) {
        let shown = SchemaProblem.displayName(found.name)
        if s.goBackwards {
            guard var module = found.module, module.config.numDirections == 1 else {
                throw FormatError(.unsupported, "Keras layer '\(s.name)' (\(layer)) is a Bidirectional wrapper of a go_backwards layer, which lstmkit does not map",
                                  file: file.path, entry: layer)
            }
            var variant = module.variant ?? LSTMVariant()
            variant.direction = .reverse
            variant.outputReversed = true
            module.variant = variant
            found.module = module
            found.notes.append("LSTM \(shown) has go_backwards=True: it reads the sequence from the last step and returns its outputs in that order (reversed in time), as run / verify compute; kept in .keras output, refused by .pt / .npz / .safetensors / .onnx output")
        }
        found.notes.append("LSTM \(shown) is Keras layer '\(s.name)' (\(s.className)); return_sequences=\(s.returnSequences), return_state=\(s.returnState) change what Keras returns, not the weights")
        guard s.activation != "tanh" || s.recurrentActivation != "sigmoid" else { return }
        let table = file.kerasConfig?.isKeras2 == true ? Self.keras2Activations : Self.activations
        guard let g = table[s.activation], let f = table[s.recurrentActivation] else {
            let unknown = table[s.activation] == nil ? s.activation : s.recurrentActivation
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
        let keras2 = file.kerasConfig?.isKeras2 == true && [s.activation, s.recurrentActivation].contains("hard_sigmoid")
        let kept = KerasGraphWriter.refusal(for: module) == nil ? ".onnx and .keras output" : ".onnx output (Keras 3 has no name for it)"
        found.notes.append("LSTM \(shown) uses recurrent_activation \(s.recurrentActivation) and activation \(s.activation)"
                           + (keras2 ? " (Keras 2's hard_sigmoid: clip(0.2·x + 0.5, 0, 1), the file's keras_version being \(file.kerasConfig?.kerasVersion ?? "2.x"))" : "")
                           + ": computed by run / verify, kept in \(kept), refused by .pt / .npz / .safetensors output")
    }
}

extension Tensor {
    /// Elements `range` of a rank-1 tensor as a view.
    func slice(_ range: Range<Int>) throws(FormatError) -> Tensor {
        guard rank == 1, range.lowerBound >= 0, range.upperBound <= shape[0] else {
            throw FormatError(.unsupported, "cannot take elements \(range) of a tensor of shape \(shape)")
        }
        return try Tensor(dtype: dtype, shape: [range.count], strides: strides, byteOrder: byteOrder, storage: storage,
                          byteOffset: byteOffset + range.lowerBound * strides[0] * dtype.itemSize)
    }

    /// The transpose of a rank-2 tensor as a view (strides exchanged; no bytes copied).
    func transposedMatrix() throws(FormatError) -> Tensor {
        guard rank == 2 else { throw FormatError(.unsupported, "cannot transpose a rank-\(rank) tensor as a matrix") }
        return try Tensor(dtype: dtype, shape: [shape[1], shape[0]], strides: [strides[1], strides[0]], byteOrder: byteOrder,
                          storage: storage, byteOffset: byteOffset)
    }
}
