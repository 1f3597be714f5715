import TensorFormats

/// A file read and mapped onto the canonical schema: its tensors, its LSTM modules and their problems.
public struct LoadedModel: Sendable {
    /// Everything the reader found (for ONNX files: the initializers).
    public var file: TensorFile
    /// Every module candidate, valid or not, as ``ModuleSources`` found them.
    public var discovered: [DiscoveredModule]

    public init(file: TensorFile, discovered: [DiscoveredModule]) {
        self.file = file
        self.discovered = discovered
    }

    /// The modules without problems, ready for conversion or the reference pass.
    public var modules: [LSTMModule] { discovered.compactMap(\.module) }
    /// The schema problems of all modules.
    public var problems: [SchemaProblem] { discovered.flatMap(\.problems) }
    /// The reader's notes, then what discovery computed (effective weights), in plain sentences.
    public var notes: [String] { file.notes + discovered.flatMap(\.notes) }

    /// The candidate called `name` (its prefix, or its name as displayed), or the only one when
    /// `name` is nil; valid or not. `several` ends the sentence for a file with several modules
    /// and no name.
    public func candidate(named name: String?, several: String = "pick one with --module") throws(ModuleSelectionError) -> DiscoveredModule {
        let path = file.path
        let names = discovered.map { SchemaProblem.displayName($0.name) }.joined(separator: ", ")
        if let name {
            if let found = discovered.first(where: { $0.name == name || SchemaProblem.displayName($0.name) == name }) {
                return found
            }
            throw ModuleSelectionError(.noSuchModule, discovered.isEmpty
                ? "\(path): --module \(name): the file holds no LSTM"
                : "\(path): --module \(name): no such LSTM; the file holds \(names)")
        }
        switch discovered.count {
        case 0: throw ModuleSelectionError(.noModule, "\(path): no LSTM found (no tensor named like weight_ih_l0 or a cell's weight_ih)")
        case 1: return discovered[0]
        default: throw ModuleSelectionError(.ambiguous, "\(path): holds \(discovered.count) LSTMs (\(names)); \(several)")
        }
    }

    /// The valid module called `name`, or the only module when `name` is nil (see
    /// ``candidate(named:several:)``); a module with problems is ``ModuleSelectionError/Kind/invalid``
    /// with its first problem (`lstmkit validate` lists all).
    public func module(named name: String?, several: String = "pick one with --module") throws(ModuleSelectionError) -> LSTMModule {
        let c = try candidate(named: name, several: several)
        guard let module = c.module else { throw ModuleSelectionError.invalid(c, file: file.path) }
        return module
    }
}

/// Why ``LoadedModel/module(named:several:)`` found no module; `description` is the one sentence
/// to print, naming the file.
public struct ModuleSelectionError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// `--module` names no module of the file (a usage error).
        case noSuchModule
        /// The file holds no LSTM at all.
        case noModule
        /// Several modules and no name (a usage error).
        case ambiguous
        /// The module breaks the schema (a check failure).
        case invalid
    }

    public var kind: Kind
    public var description: String
    /// For ``Kind/invalid``: every problem of the module.
    public var problems: [SchemaProblem]

    public init(_ kind: Kind, _ description: String, problems: [SchemaProblem] = []) {
        self.kind = kind
        self.description = description
        self.problems = problems
    }

    static func invalid(_ c: DiscoveredModule, file: String) -> ModuleSelectionError {
        let n = c.problems.count
        return ModuleSelectionError(.invalid, "\(file): LSTM \(SchemaProblem.displayName(c.name)) does not match the \(c.kind.torchName) schema (\(n) problem\(n == 1 ? "" : "s"); run lstmkit validate)"
                                    + (c.problems.first.map { ": " + $0.description } ?? ""), problems: c.problems)
    }
}

/// The one entry point from a path to LSTM modules, whatever the format.
///
/// ```swift
/// let model = try LSTMSchemaLoader.load(path: "model.pt")
/// for problem in model.problems { print(problem.description) }
/// let lstm = try model.module(named: nil)   // LSTMModule, PyTorch layout, gates i, f, g, o
/// ```
///
/// Modules come from every ``ModuleSource`` (tensor names; an ONNX graph's LSTM nodes, whose
/// `sourceTensors` are the initializers they consume).
public enum LSTMSchemaLoader {
    /// Reads `path` (format recognised by content, see `TensorFileIO`) and discovers its LSTMs.
    /// Throws only when the file cannot be used; schema problems are returned in the result.
    public static func load(path: String, limits: Limits = .default) throws(FormatError) -> LoadedModel {
        try load(file: TensorFileIO.read(path: path, limits: limits))
    }

    /// Discovers the LSTMs of tensors already read.
    public static func load(file: TensorFile, limits: Limits = .default) throws(FormatError) -> LoadedModel {
        LoadedModel(file: file, discovered: try ModuleSources.discover(in: file))
    }
}
