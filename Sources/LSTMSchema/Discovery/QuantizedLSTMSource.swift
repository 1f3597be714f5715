import TensorFormats

/// Dynamically quantized LSTMs (`torch.ao.quantization.quantize_dynamic(model, {nn.LSTM}, qint8)`).
///
/// Their state dict holds one `CellParamsBase` object per layer and direction, `P._all_weight_values.<k>.param`,
/// which the PyTorch reader flattens by position (qint8 weights dequantized to float32):
///
/// | flattened name (after `P._all_weight_values.<k>.param.`) | holds | canonical |
/// |---|---|---|
/// | `0.0` (metadata) | `quantized_dynamic` | — |
/// | `0.1.0`, `0.1.1` | bias_ih, bias_hh (float32) | `bias_ih_l…`, `bias_hh_l…` |
/// | `0.4.0.0.0` | W_ih (qint8, dequantized) | `weight_ih_l…` |
/// | `0.4.1.0.0` | W_hh (qint8, dequantized) | `weight_hh_l…` |
/// | `0.4.0.0.1`, `0.4.1.0.1` | the packed biases (copies of the above) | — |
///
/// k = layer · D + direction. D is not stored: it is the one of 1 and 2 under which every layer's
/// input width fits (layer 0: I; later layers: D·H); when both fit (I = H, an even count), the
/// LSTM is read as unidirectional and a note says so. The module then goes through the same
/// checks as any named LSTM. Other quantized packings (fp16 dynamic, static) are refused by name.
public struct QuantizedLSTMSource: ModuleSource {
    public init() {}

    public func discover(in file: TensorFile, unclaimed: [NamedTensor]) throws(FormatError) -> [DiscoveredModule] {
        var byName: [String: Tensor] = [:]
        for t in unclaimed { byName[t.name] = t.tensor }
        var prefixes: [String] = []
        var modes: [String: String] = [:]
        for (key, value) in file.metadata {
            let parts = key.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 5, parts.suffix(2) == ["0", "0"], parts[parts.count - 3] == "param",
                  parts[parts.count - 5] == "_all_weight_values" else { continue }
            let prefix = parts.dropLast(5).joined(separator: ".")
            if modes[prefix] == nil { prefixes.append(prefix) }
            modes[prefix] = value
        }
        for (key, value) in file.metadata where value.contains("CellParamsBase") && key.hasSuffix(".param") {
            // A CellParamsBase the reader could not open into tensors (an unknown packing).
            let parts = key.split(separator: ".")
            let prefix = parts.dropLast(3).joined(separator: ".")
            if modes[prefix] == nil { throw refusal(key, prefix: prefix, what: "packed weights it cannot open", file: file) }
        }
        var out: [DiscoveredModule] = []
        for prefix in prefixes {
            let p = prefix.isEmpty ? "" : prefix + "."
            guard modes[prefix] == "quantized_dynamic" else {
                throw refusal(p + "_all_weight_values.0.param", prefix: prefix, what: "'\(modes[prefix] ?? "?")' packed weights", file: file)
            }
            if let m = try module(prefix: p, byName: byName, file: file) { out.append(m) }
        }
        return out
    }

    private func refusal(_ entry: String, prefix: String, what: String, file: TensorFile) -> FormatError {
        FormatError(.unsupported, "holds a quantized LSTM\(prefix.isEmpty ? "" : " '\(prefix)'") with \(what) (lstmkit reads torch.ao.quantization.quantize_dynamic's qint8 packing only); save the float model's state_dict, or dequantize it in torch",
                    file: file.path, entry: entry)
    }

    /// nil when no packed tensor is left (metadata carried over by a conversion that already dequantized them).
    private func module(prefix p: String, byName: [String: Tensor], file: TensorFile) throws(FormatError) -> DiscoveredModule? {
        struct Entry { var wih, whh, bih, bhh: NamedTensor; var sources: [String] }
        var entries: [Entry] = []
        for k in 0... {
            let base = p + "_all_weight_values.\(k).param.0."
            let names = [base + "4.0.0.0", base + "4.1.0.0", base + "1.0", base + "1.1"]
            let found = names.map { byName[$0] }
            guard found.contains(where: { $0 != nil }) else { break }
            guard let wih = found[0], let whh = found[1], let bih = found[2], let bhh = found[3] else {
                let missing = zip(names, found).first { $0.1 == nil }?.0 ?? base
                throw FormatError(.corrupt, "quantized LSTM entry \(k) lacks '\(missing)'", file: file.path, entry: missing)
            }
            let extra = [base + "4.0.0.1", base + "4.1.0.1"].filter { byName[$0] != nil }
            entries.append(Entry(wih: NamedTensor(name: names[0], tensor: wih), whh: NamedTensor(name: names[1], tensor: whh),
                                 bih: NamedTensor(name: names[2], tensor: bih), bhh: NamedTensor(name: names[3], tensor: bhh),
                                 sources: names + extra))
            if k >= 2 * (CanonicalName.maxLayerIndex + 1) { break }
        }
        let n = entries.count
        guard n > 0 else { return nil }
        let hidden = entries.first.map { $0.whh.tensor.shape.last ?? 0 } ?? 0
        func fits(_ d: Int) -> Bool {
            guard n > 0, n % d == 0 else { return false }
            return entries.enumerated().allSatisfy { i, e in
                let width = e.wih.tensor.shape.last ?? -1
                return i < d ? width == entries[0].wih.tensor.shape.last : width == d * hidden
            }
        }
        let one = fits(1), two = fits(2)
        let directions = two && !one ? 2 : 1
        var renamed: [NamedTensor] = []
        for (i, e) in entries.enumerated() {
            let layer = i / directions, reverse = i % directions == 1
            for (kind, t) in [(CanonicalName.Kind.weightIH, e.wih), (.weightHH, e.whh), (.biasIH, e.bih), (.biasHH, e.bhh)] {
                renamed.append(NamedTensor(name: p + CanonicalName(kind, layer: layer, reverse: reverse).description, tensor: t.tensor))
            }
        }
        guard var found = LSTMDiscovery.discover(tensors: renamed).first else {
            throw FormatError(.corrupt, "quantized LSTM '\(p)' holds no weights", file: file.path, entry: p + "_all_weight_values")
        }
        found.sourceTensors = entries.flatMap(\.sources)
        found.mapped = true
        found.keepsPrefix = true
        found.notes.append("LSTM \(SchemaProblem.displayName(found.name)) is dynamically quantized (qint8): its weights are read dequantized, (q - zero_point) * scale; torch runs them quantized, so its outputs differ from the float pass by the quantization error")
        if one && two {
            found.notes.append("LSTM \(SchemaProblem.displayName(found.name)): \(n) quantized entries fit both one and two directions (input_size = hidden_size); read as unidirectional")
        }
        return found
    }
}
