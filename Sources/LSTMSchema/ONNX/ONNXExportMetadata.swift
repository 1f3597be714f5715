import TensorFormats

/// `ModelProto.metadata_props` keys that ``ONNXLSTMExport`` writes so that reading its models back
/// gives the same module (name and config), including lowerings without LSTM nodes.
///
/// | key | value |
/// |---|---|
/// | `lstmkit.module` | the module name |
/// | `lstmkit.lowering` | `lstm-node` (one ONNX LSTM node per layer) or `scan-projection` (Scan loops, proj_size > 0) |
/// | `lstmkit.input_size`, `lstmkit.hidden_size`, `lstmkit.num_layers`, `lstmkit.proj_size` | decimal |
/// | `lstmkit.bidirectional`, `lstmkit.bias`, `lstmkit.batch_first` | `true` / `false` |
/// | `lstmkit.dtype` | numpy name |
enum ONNXExportMetadata {
    static let module = "lstmkit.module"
    static let lowering = "lstmkit.lowering"
    static let nodeLowering = "lstm-node"
    static let scanLowering = "scan-projection"

    static func entries(for m: LSTMModule, lowering: String, batchFirst: Bool) -> [(key: String, value: String)] {
        [(module, m.name), (Self.lowering, lowering)]
            + LSTMConfig.Field.allCases.map { ("lstmkit." + $0.rawValue, $0.value(in: m.config).description) }
            + [("lstmkit.batch_first", String(batchFirst))]
    }

    /// The config recorded in `model`'s metadata; nil when a key is missing or malformed.
    static func config(in model: ONNXModel) -> LSTMConfig? {
        var values: [LSTMConfig.Field: LSTMConfig.Value] = [:]
        for field in LSTMConfig.Field.allCases {
            guard let text = model.metadata("lstmkit." + field.rawValue) else { return nil }
            values[field] = try? field.parse(text)
        }
        return LSTMConfig(values)
    }
}
