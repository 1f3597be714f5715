import TensorFormats

/// Dynamically quantized LSTMs (`torch.ao.quantization.quantize_dynamic`): the state dict holds
/// `P._all_weight_values.<k>.param`, one `CellParamsBase` object per layer and direction with
/// packed qint8 weights (scale and zero point in `LinearPackedParamsBase`), not tensors named like
/// nn.LSTM's. lstmkit does not unpack them yet, so such a file is refused with a sentence naming
/// quantization and the entry, instead of "no LSTM found".
public struct QuantizedLSTMSource: ModuleSource {
    public init() {}

    public func discover(in file: TensorFile, unclaimed: [NamedTensor]) throws(FormatError) -> [DiscoveredModule] {
        for (key, value) in file.metadata {
            let parts = key.split(separator: ".")
            guard parts.count >= 3, parts[parts.count - 1] == "param", parts[parts.count - 3] == "_all_weight_values",
                  value.contains("CellParamsBase") || value.contains("quantized") else { continue }
            let prefix = parts.dropLast(3).joined(separator: ".")
            throw FormatError(.unsupported, "holds the packed weights of a dynamically quantized LSTM\(prefix.isEmpty ? "" : " '\(prefix)'") (torch.ao.quantization.quantize_dynamic: qint8 weights with scale and zero point in CellParamsBase objects), which lstmkit does not unpack; save the float model's state_dict before quantizing, or dequantize it in torch", file: file.path, entry: key)
        }
        return []
    }
}
