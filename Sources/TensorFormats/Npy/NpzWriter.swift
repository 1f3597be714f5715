/// Writes `.npz` archives that `np.load` reads back identically.
///
/// Each tensor becomes the member `<name>.npy` (an npy stream from ``NpyWriter``), in the given
/// order, in a standard-style ZIP (sizes and CRC in the local headers, zip64 only when needed).
/// STORED by default; `compress` deflates every member as `np.savez_compressed` does. STORED
/// members are aligned with a padding extra field so that every array payload starts at a
/// multiple of `alignment` in the file (numpy ignores the field; mmap readers get aligned data);
/// `alignment: 0` gives unpadded members. The caller commits `output`.
public enum NpzWriter {
    public static func write(_ tensors: [NamedTensor], to output: OutputFile, compress: Bool,
                             alignment: Int = 64) throws(FormatError) {
        var seen = Set<String>()
        for t in tensors where !seen.insert(t.name).inserted {
            throw FormatError(.unsupported, "two tensors are named '\(t.name)'; an npz needs unique names", file: output.path, entry: t.name)
        }
        let zip = ZipWriter(output: output, alignment: compress ? 0 : alignment)
        for t in tensors {
            try NpyWriter.withZipParts(of: t.tensor) { (header, payload) throws(FormatError) in
                let added = header.withUnsafeBytes { h in
                    Result { () throws(FormatError) in
                        try zip.add(name: t.name + ".npy", parts: [ZipWriter.Part(h), payload], method: compress ? .deflated : .stored)
                    }
                }
                try added.get()
            }
        }
        try zip.finish()
    }
}
