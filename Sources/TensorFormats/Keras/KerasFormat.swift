extension FileFormat {
    public static let keras = FileFormat(rawValue: "keras")
}

extension FileFormatDescriptor {
    /// Keras 3's `.keras` model file: a ZIP holding `config.json` and `model.weights.h5` (usually
    /// also `metadata.json`). The weights member is read by ``HDF5Reader`` (a STORED member as views
    /// of the mapped file, a DEFLATED one inflated in the memory budget) and `config.json` into
    /// ``KerasModelConfig`` (``TensorFile/kerasConfig``).
    ///
    /// Output (`convert … .keras` / `.weights.h5`) is one LSTM module as a Sequential model,
    /// built by LSTMSchema's Keras writer (``KerasSequentialModel``).
    public static let keras = FileFormatDescriptor(
        format: .keras, displayName: "Keras", extensions: [".keras", ".weights.h5"],
        recognition: .zipMembers { $0.hasRecord("config.json") && $0.hasRecord("model.weights.h5") },
        read: { file, archive, limits throws(FormatError) in
            guard let archive else { throw FormatError(.corrupt, "not a ZIP archive", file: file.path) }
            return try KerasFile.read(archive, limits: limits)
        },
        output: .moduleGraph)
}

enum KerasFile {
    static func read(_ archive: ZipArchive, limits: Limits) throws(FormatError) -> TensorFile {
        let path = archive.path
        guard let weights = archive.entries.first(where: { $0.name == "model.weights.h5" }),
              let config = archive.entries.first(where: { $0.name == "config.json" }) else {
            throw FormatError(.corrupt, "a .keras file needs config.json and model.weights.h5", file: path)
        }
        guard config.uncompressedSize <= limits.safetensorsHeaderBytes else {
            throw FormatError(.limitExceeded, "config.json is \(config.uncompressedSize) bytes, over the limit of \(limits.safetensorsHeaderBytes)",
                              file: path, entry: config.name)
        }
        let configBytes = try archive.data(of: config)
        let settings: KerasModelConfig
        do {
            settings = try KerasModelConfig(json: configBytes.bytes, offset: 0)
        } catch {
            throw error.inFile(path).inEntry(config.name)
        }
        let member = try archive.data(of: weights, tensor: true)
        let mapped = member.mappedSource
        let image: HDF5Reader.Image
        do {
            image = try HDF5Reader.parse(member.bytes, limits: limits) { r throws(FormatError) in
                if let mapped { return TensorStorage(mapped: mapped.file, range: (mapped.offset + r.lowerBound)..<(mapped.offset + r.upperBound)) }
                return try TensorStorage(copying: UnsafeRawBufferPointer(rebasing: member.bytes[r]))
            }
        } catch {
            var located = error.inFile(path)
            located.entry = error.entry.map { weights.name + ":" + $0 } ?? weights.name
            throw located
        }
        var file = TensorFile(path: path, format: .keras, tensors: image.tensors, notes: image.notes)
        file.content = settings
        return file
    }
}
