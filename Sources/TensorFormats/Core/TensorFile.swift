/// The name of a file format, as reports print it (`npz`, `pytorch`, `onnx`, ...). Each format
/// declares its own constant beside its ``FileFormatDescriptor`` (see ``FormatRegistry``).
public struct FileFormat: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
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
/// A format that holds more than tensors keeps it in `content` and exposes it through its own
/// accessor (ONNX: ``TensorFile/onnxModel``, the decoded graph).
public struct TensorFile: Sendable {
    public var path: String
    public var format: FileFormat
    public var tensors: [NamedTensor]
    /// Non-tensor values (checkpoint epoch, loss, safetensors `__metadata__`, ONNX metadata_props), in file order.
    public var metadata: [(key: String, value: String)]
    public var notes: [String]
    /// What the format holds beyond tensors, in the format's own type (nil for tensor maps).
    public var content: (any Sendable)?
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
