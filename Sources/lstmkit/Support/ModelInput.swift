import LSTMSchema
import TensorFormats

/// Loading the file a command works on: path → ``LoadedModel`` (tensors, LSTM modules, problems),
/// and picking one module. Errors come out as ``CommandFailure``s with DESIGN's exit codes.
///
/// ```swift
/// let model = try ModelInput.load(path)                        // exit 2 when unusable
/// let lstm = try ModelInput.module(named: moduleOption, in: model)  // one valid module
/// ```
enum ModelInput {
    /// Replaces the file readers inside `ModelInput.$reader.withValue(…) { … }` (tests run commands
    /// on tensor maps built in code this way). nil: read from disk.
    @TaskLocal static var reader: (@Sendable (String) throws -> TensorFile)?

    /// Reads `path` and discovers its LSTMs. A file that cannot be used → exit 2 with the reader's sentence.
    static func load(_ path: String, limits: Limits = .default) throws(CommandFailure) -> LoadedModel {
        do {
            if let reader { return try LSTMSchemaLoader.load(file: reader(path)) }
            return try LSTMSchemaLoader.load(path: path, limits: limits)
        } catch let error as FormatError {
            throw .unusable(error.inFile(path))
        } catch {
            throw .unusable(FormatError(.unreadable, "\(error)", file: path))
        }
    }

    /// The module called `name`, or the only module when `name` is nil.
    ///
    /// - No such module, or several and no name → exit 64 naming the modules there are.
    /// - The module has schema problems → exit 1 with its first problem (run `validate` for all).
    static func module(named name: String?, in model: LoadedModel) throws(CommandFailure) -> LSTMModule {
        let path = model.file.path
        let names = model.discovered.map { SchemaProblem.displayName($0.name) }.joined(separator: ", ")
        let candidate: DiscoveredModule
        if let name {
            guard let found = model.discovered.first(where: { $0.name == name }) else {
                throw CommandFailure(.usage, model.discovered.isEmpty
                    ? "\(path): --module \(name): the file holds no LSTM"
                    : "\(path): --module \(name): no such LSTM; the file holds \(names)")
            }
            candidate = found
        } else {
            guard let only = model.discovered.first else {
                throw CommandFailure(.checkFailed, "\(path): no LSTM found (no tensor named like weight_ih_l0)")
            }
            guard model.discovered.count == 1 else {
                throw CommandFailure(.usage, "\(path): holds \(model.discovered.count) LSTMs (\(names)); pick one with --module")
            }
            candidate = only
        }
        guard let module = candidate.module else {
            let first = candidate.problems.first.map { ": " + $0.description } ?? ""
            throw CommandFailure(.checkFailed, "\(path): LSTM \(SchemaProblem.displayName(candidate.name)) does not match the nn.LSTM schema (\(candidate.problems.count) problem\(candidate.problems.count == 1 ? "" : "s"); run lstmkit validate)\(first)")
        }
        return module
    }
}
