extension FileFormat {
    /// One NumPy array (`np.save`): `\x93NUMPY` + header + data.
    public static let npy = FileFormat(rawValue: "npy")
    /// A ZIP of `.npy` members (`np.savez`, `np.savez_compressed`).
    public static let npz = FileFormat(rawValue: "npz")
}

extension FileFormatDescriptor {
    /// `\x93NUMPY` → one tensor named after the file.
    public static let npy = FileFormatDescriptor(
        format: .npy,
        recognition: .leadingBytes { FormatRegistry.startsWith($0, [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) },
        read: { file, _, limits throws(FormatError) in try NpyReader.read(file: file, limits: limits) })

    /// A ZIP holding `.npy` members (or none at all: `np.savez()` of nothing).
    public static let npz = FileFormatDescriptor(
        format: .npz, extensions: [".npz"],
        recognition: .zipMembers { a in a.entries.isEmpty || a.entries.contains { $0.name.hasSuffix(".npy") } },
        read: { file, archive, limits throws(FormatError) in
            guard let archive else { return try NpzReader.read(file: file, limits: limits) }
            return try NpzReader.read(archive: archive)
        },
        output: .tensorMap(NpzWriter.self))
}
