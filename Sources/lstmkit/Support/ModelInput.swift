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

    /// The module called `name`, or the only module when `name` is nil (``LoadedModel/module(named:several:)``):
    /// no such module or several and no name → exit 64; no LSTM or schema problems → exit 1.
    static func module(named name: String?, in model: LoadedModel) throws(CommandFailure) -> LSTMModule {
        do {
            return try model.module(named: name)
        } catch {
            throw CommandFailure(error)
        }
    }
}

extension CommandFailure {
    init(_ error: ModuleSelectionError) {
        switch error.kind {
        case .noSuchModule, .ambiguous: self.init(.usage, error.description)
        case .noModule, .invalid: self.init(.checkFailed, error.description)
        }
    }
}
