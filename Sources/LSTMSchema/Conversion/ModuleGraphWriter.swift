import TensorFormats

/// A format whose output is one LSTM module as a graph (``FileFormatDescriptor/Output/moduleGraph``),
/// built here from the canonical module. A new graph format plugs in at ``ModuleGraphWriters/all``.
public protocol ModuleGraphWriter {
    static var format: FileFormat { get }
    /// Writes `module` (already cast to the requested dtype) to `output`, not committing it.
    /// Returns the side files written (external data), for the caller to commit with `output`.
    static func write(_ module: LSTMModule, to output: OutputFile, request: ConversionRequest) throws(FormatError) -> [OutputFile]
    /// What the graph does differently from the module as stored, for `convert` to print (none by default).
    static func notes(for module: LSTMModule, request: ConversionRequest) -> [String]
    /// What in `module` the format cannot hold (a phrase such as "proj_size 4 (…)"); nil when it can.
    static func refusal(for module: LSTMModule) -> String?
    /// The tensors the file will hold, under its own names, when they are not the module's
    /// canonical ones (for `convert`'s report); nil = the canonical tensors.
    static func writtenTensors(for module: LSTMModule) throws(FormatError) -> [NamedTensor]?
}

extension ModuleGraphWriter {
    public static func notes(for module: LSTMModule, request: ConversionRequest) -> [String] { [] }
    public static func refusal(for module: LSTMModule) -> String? { nil }
    public static func writtenTensors(for module: LSTMModule) throws(FormatError) -> [NamedTensor]? { nil }
}

public enum ModuleGraphWriters {
    nonisolated(unsafe) public static let all: [any ModuleGraphWriter.Type] = [ONNXGraphWriter.self, KerasGraphWriter.self]

    public static func writer(for format: FileFormat) -> (any ModuleGraphWriter.Type)? {
        all.first { $0.format == format }
    }

    /// `.onnx or .keras`: the graph formats that can hold `module`, for messages.
    static func extensionList(holding module: LSTMModule) -> String {
        all.filter { $0.refusal(for: module) == nil }
            .compactMap { FormatRegistry.descriptor($0.format)?.extensions.first }.joined(separator: " or ")
    }
}
