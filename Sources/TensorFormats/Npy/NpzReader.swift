/// Reads `.npz` archives as `np.savez` (STORED) and `np.savez_compressed` (DEFLATED) write them.
///
/// Every member whose name ends in `.npy` is one tensor, named by the member name without that
/// suffix (`rnn/weight_ih_l0.npy` → `rnn/weight_ih_l0`), in archive order. Other members are
/// skipped with a note. STORED members are zero-copy views of the mapped file (numpy's payloads
/// are usually unaligned; tensors read them with unaligned loads); DEFLATED members are inflated
/// under the archive's limits. CRCs are checked. Errors name the member; offsets are file offsets
/// for STORED members and offsets within the inflated member for DEFLATED ones.
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
                let storage = try archive.data(of: entry, tensor: true)
                let base = entry.method == .stored ? entry.dataOffset : 0
                let (tensor, header) = try NpyReader.tensor(in: storage, limits: archive.limits, baseOffset: base)
                result.tensors.append(NamedTensor(name: name, tensor: tensor))
                if header.bfloat16FromVoid { result.notes.append(NpyReader.bfloat16Note(name)) }
            } catch {
                throw error.inEntry(entry.name).inFile(archive.path)
            }
        }
        result.checksums = archive.backgroundChecksums
        return result
    }
}
