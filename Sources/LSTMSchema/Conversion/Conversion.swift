import TensorFormats

/// What `lstmkit convert` was asked to do.
public struct ConversionRequest: Sendable {
    public var input: String
    /// The output path; its extension picks the format (``FormatRegistry/output(forPath:)``).
    public var output: String
    /// The LSTM module to extract (written with bare nn.LSTM names); nil = every tensor.
    public var module: String?
    /// Write the module as this kind (`--as`): nn.LSTM names for a cell, or cell names for a
    /// one-layer, one-direction, unprojected LSTM. Implies picking one module. nil = as it is.
    public var kind: ModuleKind?
    /// Cast floating tensors to this dtype (round to nearest even); integers keep theirs.
    public var dtype: DType?
    /// Replace an existing output.
    public var overwrite: Bool
    /// Deflate npz members.
    public var compress: Bool
    /// Wait for the output to reach the disk before renaming it into place (see ``OutputFile``).
    public var durable = false
    /// How an .onnx output is built (batch_first input, h0 / c0 inputs, sequence lengths, opset);
    /// `dtype` above wins.
    public var onnx = ONNXExportOptions()
    /// How an .onnx output stores its tensors (external data for models over 2 GB).
    public var onnxWrite = ONNXWriteOptions()
    /// Caps applied while reading the input (`--max-bytes`).
    public var limits = Limits.default

    public init(input: String, output: String, module: String? = nil, dtype: DType? = nil,
                overwrite: Bool = false, compress: Bool = false) {
        self.input = input
        self.output = output
        self.module = module
        self.dtype = dtype
        self.overwrite = overwrite
        self.compress = compress
    }
}

/// What a conversion wrote.
public struct ConversionReport: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
    }

    public var input: String
    public var inputFormat: FileFormat
    public var output: String
    public var outputFormat: FileFormat
    /// The module extracted (`--module`, or the one module of an ONNX target).
    public var module: String?
    /// The tensors written, in the order given to the writer.
    public var tensors: [Entry]
    /// Bytes of the output file.
    public var bytesWritten: Int
    /// Input notes, then what the target could not hold, in plain sentences.
    public var notes: [String]
}

/// Why a conversion did not happen. `description` is the one sentence the CLI prints; it names the
/// file and, where it applies, the tensor or byte offset.
public struct ConversionError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The request itself is wrong (unknown output extension, no such `--module`, several
        /// modules for an ONNX target and no `--module`): exit 64.
        case usage
        /// The input cannot be used or cannot be represented in the target: exit 2.
        case unusable
        /// The module to convert breaks the nn.LSTM schema: exit 1.
        case schema
    }

    public var kind: Kind
    public var description: String
    /// The underlying format error, when there is one.
    public var formatError: FormatError?
    /// For `.schema`: every problem of the module.
    public var problems: [String]

    public init(_ kind: Kind, _ description: String, formatError: FormatError? = nil, problems: [String] = []) {
        self.kind = kind
        self.description = description
        self.formatError = formatError
        self.problems = problems
    }

    init(_ error: FormatError) {
        self.init(.unusable, error.description, formatError: error)
    }

    /// The process exit code DESIGN §3 assigns.
    public var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .unusable: 2
        case .schema: 1
        }
    }
}

/// Observes the write phase (the CLI draws a progress bar from the temporary file's size).
public protocol ConversionProgress: AnyObject {
    /// The output is being written to `temporaryPath`; it will hold about `expectedBytes` bytes.
    func writing(temporaryPath: String, expectedBytes: Int)
    /// Writing ended (committed or failed).
    func finished()
}

/// `lstmkit convert` as a library call: read any supported input, pick tensors, cast, write the
/// format named by the output's extension atomically.
///
/// Contract (DESIGN §3):
/// - .pt / .npz / .safetensors get every tensor under its flattened name, or with `module` the one
///   LSTM under bare nn.LSTM names (`weight_ih_l0`, ...; a cell under nn.LSTMCell's) so
///   `load_state_dict` takes it; `kind` renames it as the other kind (refused, naming why, when a
///   module cannot be a cell).
/// - From ONNX, each LSTM becomes canonical nn.LSTM tensors (bare names for a single module, else
///   prefixed `name.`) and the other initializers keep their names; a module that uses a feature
///   nn.LSTM cannot express is refused, naming the feature.
/// - .onnx gets one module (``ConversionRequest/module`` when there are several).
/// - `dtype` casts floating tensors with round-to-nearest-even; integers are unchanged.
/// - Metadata goes to safetensors `__metadata__`; other targets return a note naming it.
/// - The output is written to a temporary file and renamed at the end: an existing output is
///   refused without `overwrite`, the input is never modified, a failure leaves nothing behind.
public enum Conversion {
    public static func run(_ request: ConversionRequest, progress: ConversionProgress? = nil) throws(ConversionError) -> ConversionReport {
        guard let target = FormatRegistry.output(forPath: request.output) else {
            throw ConversionError(.usage, "\(request.output): cannot tell the output format from its extension (use \(FormatRegistry.outputExtensionList))")
        }
        if isSameFile(request.input, request.output) {
            throw ConversionError(.unusable, "\(request.output): the output is the input file (the input is never modified)")
        }
        let output = try converting { () throws(FormatError) in
            try OutputFile(path: request.output, overwrite: request.overwrite, durable: request.durable)
        }
        let model = try converting { () throws(FormatError) in
            try LSTMSchemaLoader.load(file: readInput(request.input, limits: request.limits))
        }
        let file = model.file
        let plan = try ConversionPlan.make(model: model, request: request, target: target)
        progress?.writing(temporaryPath: output.temporaryPath, expectedBytes: plan.expectedBytes)
        defer { progress?.finished() }
        var notes = model.notes + plan.notes
        var sideFiles: [OutputFile] = []
        switch target.output {
        case .moduleGraph?:
            guard let module = plan.graphModule, let writer = ModuleGraphWriters.writer(for: target.format) else {
                throw ConversionError(.unusable, "\(request.output): no LSTM module to write")
            }
            sideFiles = try converting { () throws(FormatError) in try writer.write(module, to: output, request: request) }
            notes += writer.notes(for: module, request: request)
        case .tensorMap(let writer)?:
            if request.compress, target.format != .npz { notes.append("--compress applies to .npz outputs only; ignored") }
            let options = TensorWriteOptions(compress: request.compress, archiveName: TensorFileWriter.archiveName(for: request.output))
            notes += try converting { () throws(FormatError) in
                do throws(FormatError) {
                    return try writer.write(plan.entries, metadata: plan.metadata, to: output, options: options, progress: nil)
                } catch {
                    throw error.inFile(output.path)
                }
            }
        case nil:
            throw ConversionError(.usage, "\(request.output): \(target.format) is read, not written")
        }
        try converting { () throws(FormatError) in
            try file.finishChecksums()
            for side in sideFiles { try side.commit() }
        }
        let size = output.position
        try converting { () throws(FormatError) in try output.commit() }
        return ConversionReport(input: request.input, inputFormat: file.format, output: request.output,
                                outputFormat: target.format, module: plan.moduleName,
                                tensors: plan.entries.map { .init(name: $0.name, dtype: $0.dtype, shape: $0.shape) },
                                bytesWritten: size, notes: notes)
    }

    /// Runs a step of the reading or writing layers, its error becoming exit 2.
    static func converting<T>(_ body: () throws(FormatError) -> T) throws(ConversionError) -> T {
        do throws(FormatError) {
            return try body()
        } catch {
            throw ConversionError(error)
        }
    }

    /// The input through the shared reader (format recognised by content). Tensor checksums run in
    /// the background while the output is written; ``run(_:progress:)`` waits for them before it
    /// commits, so a damaged input still leaves nothing behind.
    static func readInput(_ path: String, limits: Limits = .default) throws(FormatError) -> TensorFile {
        var limits = limits
        limits.tensorChecksumsInBackground = true
        return try TensorFileIO.read(path: path, limits: limits)
    }
}
