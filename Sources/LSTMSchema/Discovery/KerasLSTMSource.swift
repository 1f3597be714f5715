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
/// left alone. A weights file holds no config: activations are taken to be Keras's defaults
/// (tanh, sigmoid), which a note says.
public struct KerasLSTMSource: ModuleSource {
    public init() {}

    public func discover(in file: TensorFile, unclaimed: [NamedTensor]) throws(FormatError) -> [DiscoveredModule] {
        guard file.format == .hdf5 else { return [] }
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
            guard let module = try module(layer, cells: cells, byName: byName, file: file) else { continue }
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
                           + "; a weights file holds no config, so the activations are taken to be Keras's defaults (tanh, sigmoid)")
        return found
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
