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
/// by their graph's LSTM nodes (``ONNXLSTMMapping``), whose modules are valid by construction (an
/// inconsistent node is a `FormatError`); their `tensorNames` are the canonical names their weights
/// take under the module's name (the file itself holds ONNX W / R / B initializers).
public enum LSTMSchemaLoader {
    /// Reads `path` (format recognised by content, see `TensorFileIO`) and discovers its LSTMs.
    /// Throws only when the file cannot be used; schema problems are returned in the result.
    public static func load(path: String, limits: Limits = .default) throws(FormatError) -> LoadedModel {
        try load(file: TensorFileIO.read(path: path, limits: limits))
    }

    /// Discovers the LSTMs of tensors already read (ONNX files: from the graph the reader kept).
    public static func load(file: TensorFile, limits: Limits = .default) throws(FormatError) -> LoadedModel {
        guard file.format == .onnx else {
            return LoadedModel(file: file, discovered: LSTMDiscovery.discover(in: file))
        }
        do throws(FormatError) {
            let model = try ONNXModelFile.model(of: file)
            let mapped = try ONNXLSTMMapping.mapped(in: model)
            return LoadedModel(file: file, discovered: mapped.map {
                let prefix = $0.module.name.isEmpty ? "" : $0.module.name + "."
                return DiscoveredModule(name: $0.module.name, config: $0.module.config, problems: [], module: $0.module,
                                        tensorNames: $0.module.canonicalTensors(prefix: prefix).map(\.name))
            })
        } catch {
            throw error.inFile(file.path)
        }
    }
}
