extension FileFormat {
    public static let onnx = FileFormat(rawValue: "onnx")
}

extension FileFormatDescriptor {
    /// A protobuf whose first field is ModelProto's ir_version (field 1, varint: 0x08), as every
    /// exporter writes it. Read: the initializers as tensors, the graph in ``TensorFile/onnxModel``.
    /// Written: one LSTM module as a graph (built in LSTMSchema, written by ``ONNXModelFile/write(_:to:options:)``).
    public static let onnx = FileFormatDescriptor(
        format: .onnx, displayName: "ONNX", extensions: [".onnx"],
        recognition: .leadingBytes { $0.first == 0x08 },
        read: { file, _, limits throws(FormatError) in try ONNXModelFile.readTensors(file: file, limits: limits) },
        output: .moduleGraph)
}

extension TensorFile {
    /// The decoded ONNX model of a file read as ONNX (nil for every other format).
    public var onnxModel: ONNXModel? { content as? ONNXModel }
}
