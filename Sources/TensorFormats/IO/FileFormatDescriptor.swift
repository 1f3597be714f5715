/// One file format: its name, the output extensions it owns, how it is recognised from content,
/// how it is read and, when `convert` can produce it, how it is written.
///
/// A format plugs in with one descriptor in its own folder and one line in ``FormatRegistry/all``.
public struct FileFormatDescriptor: Sendable {
    /// How a file is recognised. Never by extension.
    public enum Recognition: Sendable {
        /// By its first bytes (at most 16 are shown).
        case leadingBytes(@Sendable (UnsafeRawBufferPointer) -> Bool)
        /// As a ZIP archive, by its member names.
        case zipMembers(@Sendable (ZipArchive) -> Bool)
    }

    /// What `convert` writes in this format. (Unchecked: it holds only metatypes of stateless writers.)
    public enum Output: @unchecked Sendable {
        /// A map of named tensors (+ string metadata).
        case tensorMap(any TensorMapWriter.Type)
        /// One LSTM module as a graph; built by a higher layer (LSTMSchema), written by this format's own API.
        case moduleGraph
    }

    public var format: FileFormat
    /// How sentences name the format ("ONNX", "npz").
    public var displayName: String
    /// Lower-case output extensions with their dot, compound ones included (`.weights.h5`).
    public var extensions: [String]
    public var recognition: Recognition
    /// Reads every tensor; `archive` is the opened ZIP for ``Recognition/zipMembers`` formats.
    public var read: @Sendable (_ file: MappedFile, _ archive: ZipArchive?, _ limits: Limits) throws(FormatError) -> TensorFile
    public var output: Output?

    public init(format: FileFormat, displayName: String? = nil, extensions: [String] = [], recognition: Recognition,
                read: @escaping @Sendable (MappedFile, ZipArchive?, Limits) throws(FormatError) -> TensorFile,
                output: Output? = nil) {
        self.format = format
        self.displayName = displayName ?? format.rawValue
        self.extensions = extensions
        self.recognition = recognition
        self.read = read
        self.output = output
    }
}
