/// The formats `convert` writes, chosen by the output's extension.
///
/// | extension | format | holds |
/// |---|---|---|
/// | `.pt`, `.pth` | PyTorch zip (`torch.save` of a flat state dict) | tensors |
/// | `.npz` | NumPy `savez` archive | tensors (metadata → a note) |
/// | `.safetensors` | safetensors | tensors + string metadata (`__metadata__`) |
/// | `.onnx` | ONNX model with one LSTM graph | one LSTM module (built by LSTMSchema, not here) |
public enum OutputFormat: String, Sendable, CaseIterable {
    case pytorch, npz, safetensors, onnx

    /// The format for `path`'s extension (case-insensitive), nil when none matches.
    public init?(path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "pt", "pth": self = .pytorch
        case "npz": self = .npz
        case "safetensors": self = .safetensors
        case "onnx": self = .onnx
        default: return nil
        }
    }

    /// The extensions accepted, for messages.
    public static let extensionList = ".pt, .pth, .npz, .safetensors, .onnx"
}

/// Writes named tensors (and string metadata) in one of the tensor-map formats, dispatching to
/// the format's writer. ONNX is not a tensor map: its graph is built in LSTMSchema.
///
/// What the target cannot hold is never dropped silently: the returned notes name it.
public enum TensorFileWriter {
    /// Options of a write that only some formats use.
    public struct Options: Sendable {
        /// Deflate npz members (`np.savez_compressed`).
        public var compress = false
        /// Top-level folder inside a PyTorch archive (torch names it after the file's stem).
        public var archiveName: String?
        public init(compress: Bool = false, archiveName: String? = nil) {
            self.compress = compress
            self.archiveName = archiveName
        }
    }

    /// Writes `tensors` to `output` in `format` (not committed: the caller commits). Returns notes
    /// on what the target could not hold.
    ///
    /// `entries` may cast lazily; formats whose writer takes finished tensors load them all first.
    public static func write(_ entries: [SafetensorsWriter.Entry], metadata: [(key: String, value: String)],
                             format: OutputFormat, to output: OutputFile, options: Options = Options(),
                             progress: ((Int) -> Void)? = nil) throws(FormatError) -> [String] {
        do {
            return try dispatch(entries, metadata: metadata, format: format, to: output, options: options, progress: progress)
        } catch {
            throw error.inFile(output.path)
        }
    }

    private static func dispatch(_ entries: [SafetensorsWriter.Entry], metadata: [(key: String, value: String)],
                                 format: OutputFormat, to output: OutputFile, options: Options,
                                 progress: ((Int) -> Void)?) throws(FormatError) -> [String] {
        var notes: [String] = []
        switch format {
        case .safetensors:
            try SafetensorsWriter.write(entries: entries, metadata: metadata, to: output, progress: progress)
        case .npz:
            if !metadata.isEmpty { notes.append(droppedMetadataNote(metadata, target: "npz")) }
            try writeNpz(entries, to: output, compress: options.compress, progress: progress)
        case .pytorch:
            if !metadata.isEmpty { notes.append(droppedMetadataNote(metadata, target: "the .pt state dict")) }
            try PyTorchWriter.write(load(entries), to: output,
                                    archiveName: options.archiveName ?? archiveName(for: output.path))
        case .onnx:
            throw FormatError(.unsupported, "ONNX output holds an LSTM graph, not a tensor map: convert one LSTM module", file: output.path)
        }
        return notes
    }

    /// Writes finished tensors (see ``write(_:metadata:format:to:options:progress:)``).
    public static func write(_ tensors: [NamedTensor], metadata: [(key: String, value: String)],
                             format: OutputFormat, to output: OutputFile, options: Options = Options(),
                             progress: ((Int) -> Void)? = nil) throws(FormatError) -> [String] {
        try write(tensors.map(SafetensorsWriter.Entry.init), metadata: metadata, format: format, to: output,
                  options: options, progress: progress)
    }

    /// The bytes of ``NpzWriter/write(_:to:compress:alignment:)`` (members `<name>.npy` in the given
    /// order, STORED payloads 64-aligned, or deflated), produced one entry at a time so that casts
    /// and mapped input pages never pile up.
    static func writeNpz(_ entries: [SafetensorsWriter.Entry], to output: OutputFile, compress: Bool,
                         progress: ((Int) -> Void)?) throws(FormatError) {
        var seen = Set<String>()
        for e in entries where !seen.insert(e.name).inserted {
            throw FormatError(.unsupported, "two tensors are named '\(e.name)'; an npz needs unique names", entry: e.name)
        }
        let zip = ZipWriter(output: output, alignment: compress ? 0 : 64)
        var done = 0
        for e in entries {
            let tensor = try e.load()
            try NpyWriter.withZipParts(of: tensor) { (header, payload) throws(FormatError) in
                let added = header.withUnsafeBytes { h in
                    Result { () throws(FormatError) in
                        try zip.add(name: e.name + ".npy", parts: [ZipWriter.Part(h), payload], method: compress ? .deflated : .stored)
                    }
                }
                try added.get()
                done += payload.bytes.count
            }
            release(tensor, e.source)
            progress?(done)
        }
        try zip.finish()
    }

    /// Lets the kernel drop the mapped input pages of tensors already written.
    static func release(_ tensors: Tensor?...) {
        for t in tensors { t.map { $0.storage.releasePages(0..<$0.storage.bytes.count) } }
    }

    /// The archive folder torch would use for `path`: the file name without its extension
    /// (`archive` when that is empty or not ASCII; see ``PyTorchWriter/archiveName(forPath:)``).
    public static func archiveName(for path: String) -> String {
        PyTorchWriter.archiveName(forPath: path)
    }

    static func load(_ entries: [SafetensorsWriter.Entry]) throws(FormatError) -> [NamedTensor] {
        var out: [NamedTensor] = []
        out.reserveCapacity(entries.count)
        for e in entries { out.append(NamedTensor(name: e.name, tensor: try e.load())) }
        return out
    }

    static func droppedMetadataNote(_ metadata: [(key: String, value: String)], target: String) -> String {
        let keys = metadata.prefix(3).map(\.key).joined(separator: ", ") + (metadata.count > 3 ? ", ..." : "")
        return "\(metadata.count) metadata entr\(metadata.count == 1 ? "y" : "ies") (\(keys)) not written: \(target) holds tensors only"
    }
}
