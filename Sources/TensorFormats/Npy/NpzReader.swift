/// Reads `.npz` archives as `np.savez` (STORED) and `np.savez_compressed` (DEFLATED) write them.
///
/// Every member whose name ends in `.npy` is one tensor, named by the member name without that
/// suffix (`rnn/weight_ih_l0.npy` → `rnn/weight_ih_l0`), in archive order. Other members are
/// skipped with a note. STORED members are zero-copy views of the mapped file (numpy's payloads
/// are usually unaligned; tensors read them with unaligned loads), their CRC checked unless
/// `limits.verifyTensorChecksums` is off (metadata-only reads). Of a DEFLATED member only the npy
/// header is inflated here (at most ``NpyReader/headerPrefixBytes(_:)``); its array is deferred
/// storage, made when a consumer loads it (under the memory budget) or streamed by a writer, its
/// size and CRC checked each time. Errors name the member; offsets are file offsets for STORED
/// members and offsets within the inflated member for DEFLATED ones.
public enum NpzReader {
    public static func read(file: MappedFile, limits: Limits = .default) throws(FormatError) -> TensorFile {
        try read(archive: ZipArchive(file: file, limits: limits))
    }

    public static func read(archive: ZipArchive) throws(FormatError) -> TensorFile {
        var result = TensorFile(path: archive.path, format: .npz)
        for entry in archive.entries {
            guard entry.name.hasSuffix(".npy") else {
                result.notes.append("member '\(entry.name)' is not an .npy array and was skipped")
                continue
            }
            let name = String(entry.name.dropLast(4))
            do {
                let (tensor, header) = try array(in: entry, of: archive)
                result.tensors.append(NamedTensor(name: name, tensor: tensor))
                if header.bfloat16FromVoid { result.notes.append(NpyReader.bfloat16Note(name)) }
            } catch {
                throw error.inEntry(entry.name).inFile(archive.path)
            }
        }
        result.checksums = archive.backgroundChecksums
        return result
    }

    /// The array of one `.npy` member, its header read without inflating the data.
    static func array(in entry: ZipEntry, of archive: ZipArchive) throws(FormatError) -> (Tensor, NpyHeader) {
        let limits = archive.limits
        switch entry.method {
        case .stored:
            let storage = try archive.data(of: entry, verifyCRC: limits.verifyTensorChecksums, tensor: true)
            return try NpyReader.tensor(in: storage, limits: limits, baseOffset: entry.dataOffset)
        case .deflated:
            let prefix = try archive.prefix(of: entry, count: NpyReader.headerPrefixBytes(limits))
            let parsed = prefix.withUnsafeBytes { raw in
                Result { () throws(FormatError) in try NpyReader.header(raw, streamSize: entry.uncompressedSize, limits: limits) }
            }
            let header = try parsed.get()
            let data = try archive.lazyData(of: entry, range: header.dataOffset..<(header.dataOffset + header.dataSize))
            return (try NpyReader.tensor(header: header, data: data, baseOffset: 0), header)
        }
    }
}
