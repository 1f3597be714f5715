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
}

extension ModuleGraphWriter {
    public static func notes(for module: LSTMModule, request: ConversionRequest) -> [String] { [] }
}

public enum ModuleGraphWriters {
    nonisolated(unsafe) public static let all: [any ModuleGraphWriter.Type] = [ONNXGraphWriter.self]

    public static func writer(for format: FileFormat) -> (any ModuleGraphWriter.Type)? {
        all.first { $0.format == format }
    }

    /// `.onnx` (and any other graph format's extensions), for messages.
    static var extensionList: String {
        all.compactMap { FormatRegistry.descriptor($0.format)?.extensions.first }.joined(separator: " or ")
    }
}
