extension FileFormat {
    public static let hdf5 = FileFormat(rawValue: "hdf5")
}

extension FileFormatDescriptor {
    /// HDF5 (Keras `.weights.h5` and `.h5` files): the superblock signature `\x89HDF\r\n\x1a\n` at
    /// byte 0. (A user block before it, which HDF5 allows, is found by the reader but not sniffed.)
    public static let hdf5 = FileFormatDescriptor(
        format: .hdf5, displayName: "HDF5",
        recognition: .leadingBytes { head in FormatRegistry.startsWith(head, HDF5Reader.signature) },
        read: { file, _, limits throws(FormatError) in
            var read = try HDF5Reader.read(file: file, limits: limits)
            try KerasLegacyModel.annotate(&read)
            return read
        })
}
