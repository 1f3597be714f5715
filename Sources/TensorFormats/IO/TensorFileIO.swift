/// Reading any supported tensor file, recognised by content (never by extension).
///
/// Dispatch: `\x93NUMPY` → npy (one tensor named after the file); a ZIP → by member names:
/// `constants.pkl` (at the top or in the archive's folder) → TorchScript, `data.pkl` → PyTorch,
/// otherwise `.npy` members (or no members) → npz; a pickle → legacy PyTorch; 8-byte length + JSON
/// → safetensors; a protobuf → ONNX (its initializers as tensors).
public enum TensorFileIO {
    /// Reads every tensor in the file at `path`. Errors name the file.
    public static func read(path: String, limits: Limits = .default) throws(FormatError) -> TensorFile {
        let file = try MappedFile(path: path)
        do throws(FormatError) {
            return try read(file: file, limits: limits)
        } catch {
            throw error.inFile(path)
        }
    }

    /// Reads every tensor in `file` (already mapped or copied in memory). Errors do not name a file
    /// unless the reader did; `read(path:)` adds it.
    public static func read(file: MappedFile, limits: Limits = .default) throws(FormatError) -> TensorFile {
        let (format, archive) = try classify(file, limits: limits)
        switch format {
        case .npy:
            return try NpyReader.read(file: file, limits: limits)
        case .npz:
            guard let archive else { throw FormatError(.corrupt, "npz without an archive") }
            return try NpzReader.read(archive: archive)
        case .pytorch, .torchscript:
            guard let archive else { throw FormatError(.corrupt, "PyTorch checkpoint without an archive") }
            return try PyTorchReader.read(archive: archive, limits: limits)
        case .pytorchLegacy:
            return try PyTorchLegacyReader.read(file: file, limits: limits)
        case .safetensors:
            return try SafetensorsReader.read(file: file, limits: limits)
        case .onnx:
            return try ONNXModelFile.readTensors(file: file, limits: limits)
        }
    }

    /// The format of the file at `path`, from its content.
    public static func detect(path: String, limits: Limits = .default) throws(FormatError) -> FileFormat {
        let file = try MappedFile(path: path)
        do {
            return try classify(file, limits: limits).format
        } catch {
            throw error.inFile(path)
        }
    }

    /// The format of `file`, and its ZIP archive when it is one (opened once, reused by readers).
    public static func classify(_ file: MappedFile, limits: Limits = .default) throws(FormatError) -> (format: FileFormat, archive: ZipArchive?) {
        let bytes = file.bytes
        guard let magic = FileFormat.sniffMagic(bytes) else {
            guard !bytes.isEmpty else { throw FormatError(.unsupported, "empty file: not a recognised tensor file", offset: 0) }
            let shown = bytes.prefix(4).map { b -> String in
                let s = String(b, radix: 16)
                return s.count == 1 ? "0" + s : s
            }.joined(separator: " ")
            throw FormatError(.unsupported, "not a recognised tensor file (first bytes: \(shown))", offset: 0)
        }
        switch magic {
        case .npy: return (.npy, nil)
        case .pickle: return (.pytorchLegacy, nil)
        case .safetensors: return (.safetensors, nil)
        case .protobuf: return (.onnx, nil)
        case .zip:
            let archive = try ZipArchive(file: file, limits: limits)
            guard let format = zipFormat(of: archive) else {
                throw FormatError(.unsupported, "ZIP archive holds neither .npy arrays nor a PyTorch data.pkl; not a recognised tensor file")
            }
            return (format, archive)
        }
    }

    /// The tensor format of a ZIP archive from its member names, or nil when it is none of them.
    public static func zipFormat(of archive: ZipArchive) -> FileFormat? {
        func has(_ record: String) -> Bool {
            archive.entries.contains { $0.name == record || $0.name.hasSuffix("/" + record) }
        }
        if has("constants.pkl") { return .torchscript }
        if has("data.pkl") { return .pytorch }
        if archive.entries.isEmpty || archive.entries.contains(where: { $0.name.hasSuffix(".npy") }) { return .npz }
        return nil
    }
}
