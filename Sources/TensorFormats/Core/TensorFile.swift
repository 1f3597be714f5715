/// The formats lstmkit reads, recognised by content (see ``FileFormat/sniff(_:)``).
public enum FileFormat: String, Sendable, Codable, CaseIterable {
    case npy
    case npz
    /// `torch.save` zip archive (torch ≥ 1.6).
    case pytorch
    /// Pre-1.6 pickle stream (`_use_new_zipfile_serialization=False`).
    case pytorchLegacy = "pytorch-legacy"
    /// `torch.jit.save` archive.
    case torchscript
    case onnx
    case safetensors
}

/// A tensor with its (flattened) name.
public struct NamedTensor: Sendable {
    public var name: String
    public var tensor: Tensor
    public init(name: String, tensor: Tensor) {
        self.name = name
        self.tensor = tensor
    }
}

/// What a reader found in a file: named tensors in file order, string metadata, and notes on
/// anything that was read approximately or skipped (e.g. `V2` read as bfloat16).
///
/// For ONNX files `onnx` holds the graph, which LSTMSchema maps to LSTM modules.
public struct TensorFile: Sendable {
    public var path: String
    public var format: FileFormat
    public var tensors: [NamedTensor]
    /// Non-tensor values (checkpoint epoch, loss, safetensors `__metadata__`, ONNX metadata_props), in file order.
    public var metadata: [(key: String, value: String)]
    public var notes: [String]
    /// The decoded model, for ONNX files (set by ``ONNXModelFile/readTensors(file:limits:)``).
    public var onnx: ONNXModel?
    /// Tensor checksums still running in the background (``Limits/tensorChecksumsInBackground``).
    public var checksums: BackgroundChecksums?

    public init(path: String, format: FileFormat, tensors: [NamedTensor] = [],
                metadata: [(key: String, value: String)] = [], notes: [String] = []) {
        self.path = path
        self.format = format
        self.tensors = tensors
        self.metadata = metadata
        self.notes = notes
    }

    /// Waits for the tensor checksums running in the background, if any; throws the first
    /// mismatch (naming the file and record). Returns at once when they were checked while reading.
    public func finishChecksums() throws(FormatError) {
        try checksums?.wait()
    }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> Tensor? {
        tensors.first { $0.name == name }?.tensor
    }
}
