/// Writes named tensors (and string metadata) in any tensor-map format of ``FormatRegistry``
/// through its ``TensorMapWriter``. A module-graph format (ONNX) is built a layer up, in LSTMSchema.
public enum TensorFileWriter {
    /// Writes `entries` to `output` in `format` (not committed: the caller commits). Returns notes
    /// on what the target could not hold. Errors name the output.
    public static func write(_ entries: [TensorEntry], metadata: [(key: String, value: String)],
                             format: FileFormat, to output: OutputFile, options: TensorWriteOptions = TensorWriteOptions(),
                             progress: ((Int) -> Void)? = nil) throws(FormatError) -> [String] {
        do throws(FormatError) {
            guard let descriptor = FormatRegistry.descriptor(format), case .tensorMap(let writer)? = descriptor.output else {
                throw FormatError(.unsupported, "\(format) output is not a tensor map: convert one LSTM module")
            }
            return try writer.write(entries, metadata: metadata, to: output, options: options, progress: progress)
        } catch {
            throw error.inFile(output.path)
        }
    }

    /// Writes finished tensors (see ``write(_:metadata:format:to:options:progress:)-(TensorEntry...)``).
    public static func write(_ tensors: [NamedTensor], metadata: [(key: String, value: String)],
                             format: FileFormat, to output: OutputFile, options: TensorWriteOptions = TensorWriteOptions(),
                             progress: ((Int) -> Void)? = nil) throws(FormatError) -> [String] {
        try write(tensors.map(TensorEntry.init), metadata: metadata, format: format, to: output,
                  options: options, progress: progress)
    }

    /// The archive folder torch would use for `path` (see ``PyTorchWriter/archiveName(forPath:)``).
    public static func archiveName(for path: String) -> String {
        PyTorchWriter.archiveName(forPath: path)
    }

    /// Lets the kernel drop the mapped input pages of tensors already written.
    static func release(_ tensors: Tensor?...) {
        for t in tensors { t.map { $0.storage.releasePages(0..<$0.storage.count) } }
    }
}
