import TensorFormats

/// A file read and mapped onto the canonical schema: its tensors, its LSTM modules and their problems.
public struct LoadedModel: Sendable {
    /// Everything the reader found (for ONNX files: the initializers).
    public var file: TensorFile
    /// Every module candidate, valid or not, in file order.
    public var discovered: [DiscoveredModule]

    public init(file: TensorFile, discovered: [DiscoveredModule]) {
        self.file = file
        self.discovered = discovered
    }

    /// The modules without problems, ready for conversion or the reference pass.
    public var modules: [LSTMModule] { discovered.compactMap(\.module) }
    /// The schema problems of all modules.
    public var problems: [SchemaProblem] { discovered.flatMap(\.problems) }
}

/// The one entry point from a path to LSTM modules, whatever the format.
///
/// ```swift
/// let model = try LSTMSchemaLoader.load(path: "model.pt")
/// for problem in model.problems { print(problem.description) }
/// let lstm = model.modules.first   // LSTMModule, PyTorch layout, gates i, f, g, o
/// ```
///
/// PyTorch, npz, npy and safetensors files are mapped by tensor names (``LSTMDiscovery``); ONNX files
/// by their graph's LSTM nodes (`ONNXLSTMMapping`).
public enum LSTMSchemaLoader {
    /// Reads `path` (format recognised by content) and discovers its LSTMs. Throws only when the file
    /// cannot be used; schema problems are returned in the result.
    public static func load(path: String, limits: Limits = .default) throws(FormatError) -> LoadedModel {
        try load(file: readTensorFile(path: path, limits: limits))
    }

    /// Discovers the LSTMs of tensors already read.
    public static func load(file: TensorFile) throws(FormatError) -> LoadedModel {
        if file.format == .onnx {
            let modules = try ONNXLSTMMapping.modules(path: file.path)
            let discovered = modules.map { module in
                DiscoveredModule(name: module.name, config: module.config, problems: [], module: module,
                                 tensorNames: module.canonicalTensors(prefix: module.name.isEmpty ? "" : module.name + ".").map(\.name))
            }
            return LoadedModel(file: file, discovered: discovered)
        }
        return LoadedModel(file: file, discovered: LSTMDiscovery.discover(in: file))
    }

    /// Every format through the shared content-based dispatcher.
    static func readTensorFile(path: String, limits: Limits) throws(FormatError) -> TensorFile {
        try TensorFileIO.read(path: path, limits: limits)
    }
}
