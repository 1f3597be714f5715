/// Writes `.npz` archives that `np.load` reads back identically.
///
/// Each tensor becomes the member `<name>.npy` (an npy stream from ``NpyWriter``), in the given
/// order, in a standard-style ZIP (sizes and CRC in the local headers, zip64 only when needed).
/// STORED by default; `compress` deflates every member as `np.savez_compressed` does. STORED
/// members are aligned with a padding extra field so that every array payload starts at a
/// multiple of `alignment` in the file (numpy ignores the field; mmap readers get aligned data);
/// `alignment: 0` gives unpadded members. Entries are loaded one at a time and the mapped input
/// pages of each are released once it is written. npz holds no metadata (a note says so). The
/// caller commits `output`.
public enum NpzWriter: TensorMapWriter {
    public static func write(_ entries: [TensorEntry], metadata: [(key: String, value: String)], to output: OutputFile,
                             options: TensorWriteOptions, progress: ((Int) -> Void)?) throws(FormatError) -> [String] {
        try write(entries, to: output, compress: options.compress, progress: progress)
        return metadata.isEmpty ? [] : [droppedMetadataNote(metadata, target: "npz")]
    }

    public static func write(_ tensors: [NamedTensor], to output: OutputFile, compress: Bool,
                             alignment: Int = 64) throws(FormatError) {
        try write(tensors.map(TensorEntry.init), to: output, compress: compress, alignment: alignment)
    }

    public static func write(_ entries: [TensorEntry], to output: OutputFile, compress: Bool, alignment: Int = 64,
                             progress: ((Int) -> Void)? = nil) throws(FormatError) {
        do throws(FormatError) {
            try refuseDuplicateNames(entries, "an npz needs unique names")
            let zip = ZipWriter(output: output, alignment: compress ? 0 : alignment)
            var done = 0
            for e in entries {
                let tensor = try e.loadChecked()
                do throws(FormatError) {
                    try NpyWriter.withZipParts(of: tensor) { (header, payload) throws(FormatError) in
                        let added = header.withUnsafeBytes { h in
                            Result { () throws(FormatError) in
                                try zip.add(name: e.name + ".npy", parts: [ZipWriter.Part(h), payload], method: compress ? .deflated : .stored)
                            }
                        }
                        try added.get()
                        done += payload.count
                    }
                } catch {
                    throw error.inEntry(e.name)
                }
                TensorFileWriter.release(tensor, e.source)
                progress?(done)
            }
            try zip.finish()
        } catch {
            throw error.inFile(output.path)
        }
    }
}
