/// Writes a state dict (`OrderedDict` name → tensor) as `torch.save` 2.15 does, byte for byte:
///
/// | record (`<archive>/…`) | content |
/// |---|---|
/// | `data.pkl` | protocol-2 pickle (``PyTorchPickler``) |
/// | `.format_version` | `1` |
/// | `.storage_alignment` | `64` |
/// | `byteorder` | `little` |
/// | `data/0`, `data/1`, … | storage bytes, little-endian, keys in order of first use (``PyTorchWritePlan``) |
/// | `version` | `3\n` |
/// | `.data/serialization_id` | 40 digits derived from record names and CRCs (``PyTorchSerializationID``) |
///
/// The ZIP layout is miniz's (``ZipWriter/Style/pytorch``): STORED, every record's data 64-byte
/// aligned, data descriptors, zip64 end records. Files load with `torch.load(weights_only=True)`
/// and `mmap=True`. dtypes: every ``DType`` (uint16/32/64 through `_rebuild_tensor_v3`, torch ≥ 2.3).
/// Same tensors in, same bytes out. The output is not committed here.
public enum PyTorchWriter: TensorMapWriter {
    public static let storageAlignment = 64

    public static func write(_ entries: [TensorEntry], metadata: [(key: String, value: String)], to output: OutputFile,
                             options: TensorWriteOptions, progress: ((Int) -> Void)?) throws(FormatError) -> [String] {
        try write(entries, to: output, archiveName: options.archiveName ?? archiveName(forPath: output.path), progress: progress)
        return metadata.isEmpty ? [] : [droppedMetadataNote(metadata, target: "the .pt state dict")]
    }

    public static func write(_ tensors: [NamedTensor], to output: OutputFile, archiveName: String) throws(FormatError) {
        try write(tensors.map(TensorEntry.init), to: output, archiveName: archiveName)
    }

    /// Writes `entries` as a state dict; cast entries are loaded one at a time as their storage
    /// record is reached.
    public static func write(_ entries: [TensorEntry], to output: OutputFile, archiveName: String,
                             progress: ((Int) -> Void)? = nil) throws(FormatError) {
        do throws(FormatError) {
            guard !archiveName.isEmpty, !archiveName.contains("/"), !archiveName.contains("\\") else {
                throw FormatError(.unsupported, "'\(archiveName)' cannot be a PyTorch archive name (it must be non-empty, without slashes)")
            }
            let plan = try PyTorchWritePlan(entries)
            let pickle = PyTorchPickler.statePickle(plan.entries)
            let archive = ZipWriter(output: output, alignment: storageAlignment, style: .pytorch)
            var written: [(record: String, size: Int)] = []

            func add(_ record: String, _ data: UnsafeRawBufferPointer) throws(FormatError) {
                try add(record, ZipWriter.Part(data))
            }
            func add(_ record: String, _ part: ZipWriter.Part) throws(FormatError) {
                try archive.add(name: archiveName + "/" + record, parts: [part])
                written.append((record, part.count))
            }
            func add(_ record: String, text: String) throws(FormatError) {
                let bytes = Array(text.utf8)
                let r = bytes.withUnsafeBytes { raw in Result { () throws(FormatError) in try add(record, raw) } }
                try r.get()
            }

            let p = pickle.withUnsafeBytes { raw in Result { () throws(FormatError) in try add("data.pkl", raw) } }
            try p.get()
            try add(".format_version", text: "1")
            try add(".storage_alignment", text: String(storageAlignment))
            try add("byteorder", text: "little")
            var done = 0
            for storage in plan.storages {
                switch storage.content {
                case .view(let owner, let range):
                    try add("data/" + storage.key, ZipWriter.Part(owner, range: range))
                    done += range.count
                case .deferred(let index):
                    let e = entries[index]
                    let t = try e.loadChecked().contiguous()
                    guard t.isContiguousLittleEndian else {
                        throw FormatError(.corrupt, "tensor could not be laid out contiguously", entry: e.name)
                    }
                    try add("data/" + storage.key, ZipWriter.Part(t.storage, range: t.byteOffset..<(t.byteOffset + t.byteCount)))
                    done += t.byteCount
                    TensorFileWriter.release(t, e.source)
                }
                progress?(done)
            }
            try add("version", text: "3\n")

            var id = PyTorchSerializationID()
            for ((w, crc), first) in zip(zip(written, archive.memberCRCs), archive.memberHeads) {
                first.withUnsafeBytes { head in
                    id.add(record: w.record, data: head, crc: crc, size: w.size)
                }
            }
            try add(".data/serialization_id", text: id.value)
            try archive.finish()
        } catch {
            throw error.inFile(output.path)
        }
    }

    /// The archive name torch derives from an output path: the file name after the last `/` or
    /// `\`, without its last extension (`model.tar.pth` → `model.tar`); `archive` when that is
    /// empty or not ASCII (torch then writes through a Python stream, which uses `archive`).
    public static func archiveName(forPath path: String) -> String {
        var base = Substring(path)
        if let slash = base.lastIndex(where: { $0 == "/" || $0 == "\\" }) { base = base[base.index(after: slash)...] }
        if let dot = base.lastIndex(of: ".") { base = base[..<dot] }
        guard !base.isEmpty, base.unicodeScalars.allSatisfy({ $0.isASCII }) else { return "archive" }
        return String(base)
    }
}
