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
        let c = m.config
        return [
            (module, m.name), (Self.lowering, lowering),
            ("lstmkit.input_size", String(c.inputSize)), ("lstmkit.hidden_size", String(c.hiddenSize)),
            ("lstmkit.num_layers", String(c.numLayers)), ("lstmkit.bidirectional", String(c.bidirectional)),
            ("lstmkit.proj_size", String(c.projSize)), ("lstmkit.bias", String(c.bias)),
            ("lstmkit.dtype", c.dtype.name), ("lstmkit.batch_first", String(batchFirst)),
        ]
    }

    /// The config recorded in `model`'s metadata; nil when a key is missing or malformed.
    static func config(in model: ONNXModel) -> LSTMConfig? {
        func int(_ k: String) -> Int? { model.metadata("lstmkit." + k).flatMap { Int($0) } }
        func bool(_ k: String) -> Bool? { model.metadata("lstmkit." + k).flatMap { Bool($0) } }
        guard let i = int("input_size"), let h = int("hidden_size"), let l = int("num_layers"), let p = int("proj_size"),
              let bi = bool("bidirectional"), let b = bool("bias"),
              let dt = model.metadata("lstmkit.dtype").flatMap(DType.init(rawValue:)) else { return nil }
        return LSTMConfig(inputSize: i, hiddenSize: h, numLayers: l, bidirectional: bi, projSize: p, bias: b, dtype: dt)
    }
}
