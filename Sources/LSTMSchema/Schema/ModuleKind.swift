/// The recurrent module types lstmkit maps onto the canonical schema, with their parameter names.
///
/// | kind | parameters (P = module prefix) | constraints |
/// |---|---|---|
/// | `LSTM` (nn.LSTM) | P`weight_ih_l`k[`_reverse`], `weight_hh_l`k…, `bias_ih_l`k…, `bias_hh_l`k…, `weight_hr_l`k… | — |
/// | `LSTMCell` (nn.LSTMCell) | P`weight_ih` (4H, I), `weight_hh` (4H, H), `bias_ih`, `bias_hh` (4H) | one layer, one direction, no projection |
///
/// A cell runs over a sequence exactly as the one-layer nn.LSTM with the same tensors does, so
/// every command treats it as that LSTM; its tensors keep their cell names.
public enum ModuleKind: String, CaseIterable, Sendable, Codable {
    case lstm = "LSTM"
    case lstmCell = "LSTMCell"

    /// The canonical name `leaf` spells for this kind (cells: layer 0, forward), nil when it is none.
    public func parse(_ leaf: Substring) -> CanonicalName? {
        switch self {
        case .lstm:
            return CanonicalName(leaf)
        case .lstmCell:
            guard let kind = CanonicalName.Kind(rawValue: String(leaf)), kind != .weightHR else { return nil }
            return CanonicalName(kind, layer: 0)
        }
    }

    /// The parameter name of `name` in this kind (cells drop the `_l0` suffix).
    public func leaf(_ name: CanonicalName) -> String {
        switch self {
        case .lstm: name.description
        case .lstmCell: name.kind.rawValue
        }
    }

    /// The torch class, for messages: `nn.LSTM`, `nn.LSTMCell`.
    public var torchName: String { "nn." + rawValue }

    /// The torch class of the same family with 3 gates (GRU) or 1 (plain RNN), for diagnostics.
    func sibling(gates: Int) -> String {
        switch (self, gates) {
        case (.lstm, 3): "a GRU (nn.GRU)"
        case (.lstm, _): "a plain RNN (nn.RNN)"
        case (.lstmCell, 3): "a GRUCell (nn.GRUCell)"
        case (.lstmCell, _): "a plain RNNCell (nn.RNNCell)"
        }
    }

    /// Why `config` cannot be this kind (nil when it can): cells have one layer, one direction and no projection.
    public func refusal(for config: LSTMConfig) -> String? {
        guard self == .lstmCell else { return nil }
        var why: [String] = []
        if config.numLayers != 1 { why.append("\(config.numLayers) layers") }
        if config.bidirectional { why.append("two directions") }
        if config.projSize > 0 { why.append("proj_size \(config.projSize)") }
        return why.isEmpty ? nil : "an nn.LSTMCell has one layer, one direction and no projection; this LSTM has " + why.joined(separator: ", ")
    }
}
