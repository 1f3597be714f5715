extension FileFormat {
    /// `torch.save` zip archive (torch ≥ 1.6).
    public static let pytorch = FileFormat(rawValue: "pytorch")
    /// Pre-1.6 pickle stream (`_use_new_zipfile_serialization=False`).
    public static let pytorchLegacy = FileFormat(rawValue: "pytorch-legacy")
    /// `torch.jit.save` archive.
    public static let torchscript = FileFormat(rawValue: "torchscript")
}

extension FileFormatDescriptor {
    /// A ZIP with `constants.pkl` (at the top or in the archive's folder).
    public static let torchscript = FileFormatDescriptor(
        format: .torchscript,
        recognition: .zipMembers { $0.hasRecord("constants.pkl") },
        read: readArchive)

    /// A ZIP with `data.pkl`; written as `torch.save` of a flat state dict.
    public static let pytorch = FileFormatDescriptor(
        format: .pytorch, extensions: [".pt", ".pth"],
        recognition: .zipMembers { $0.hasRecord("data.pkl") },
        read: readArchive,
        output: .tensorMap(PyTorchWriter.self))

    /// A pickle stream (protocol 2+: first byte 0x80).
    public static let pytorchLegacy = FileFormatDescriptor(
        format: .pytorchLegacy,
        recognition: .leadingBytes { $0.first == 0x80 },
        read: { file, _, limits throws(FormatError) in try PyTorchLegacyReader.read(file: file, limits: limits) })

    private static let readArchive: @Sendable (MappedFile, ZipArchive?, Limits) throws(FormatError) -> TensorFile = { file, archive, limits throws(FormatError) in
        if let archive { return try PyTorchReader.read(archive: archive, limits: limits) }
        return try PyTorchReader.read(file: file, limits: limits)
    }
}
