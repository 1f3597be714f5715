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
        let mapped = try MappedFile(path: path)
        let format: FileFormat
        do {
            format = try TensorFileIO.classify(mapped, limits: limits).format
        } catch {
            throw error.inFile(path)
        }
        guard format == .onnx else { return try load(file: TensorFileIO.read(path: path, limits: limits)) }
        let model = try ONNXModelFile.read(file: mapped, limits: limits)
        return try onnx(model, path: path)
    }

    /// Discovers the LSTMs of tensors already read (for ONNX, the graph is read again from `file.path`).
    public static func load(file: TensorFile, limits: Limits = .default) throws(FormatError) -> LoadedModel {
        guard file.format == .onnx else {
            return LoadedModel(file: file, discovered: LSTMDiscovery.discover(in: file))
        }
        let model = try ONNXModelFile.read(path: file.path, limits: limits)
        var loaded = try onnx(model, path: file.path)
        loaded.file = file
        return loaded
    }

    private static func onnx(_ model: ONNXModel, path: String) throws(FormatError) -> LoadedModel {
        let modules: [LSTMModule]
        do {
            modules = try ONNXLSTMMapping.modules(in: model)
        } catch {
            throw error.inFile(path)
        }
        var file = TensorFile(path: path, format: .onnx, metadata: model.metadataProps)
        for t in model.graph.initializers {
            if let value = t.tensor {
                file.tensors.append(NamedTensor(name: t.name, tensor: value))
            } else {
                file.notes.append("initializer '\(t.name)' of \(t.dataType) skipped (no matching dtype)")
            }
        }
        let discovered = modules.map { module in
            DiscoveredModule(name: module.name, config: module.config, problems: [], module: module,
                             tensorNames: module.canonicalTensors(prefix: module.name.isEmpty ? "" : module.name + ".").map(\.name))
        }
        return LoadedModel(file: file, discovered: discovered)
    }
}
