/// Reads PyTorch checkpoints without Python: `torch.save` ZIP archives (torch ≥ 1.6), TorchScript
/// archives (`torch.jit.save`) and the legacy pickle stream (torch < 1.6 or
/// `_use_new_zipfile_serialization=False`), told apart by content.
///
/// The pickle runs in ``PickleMachine`` (nothing is imported or run); tensors are zero-copy views
/// of the mapped file whenever their records are STORED (torch always stores), with their
/// storage offset and strides, so shared storages and transposed views cost nothing.
/// Names come from ``PyTorchFlattener`` (`model_state_dict.rnn.weight_ih_l0`, whole-model
/// pickles by their `state_dict()` names); non-tensor leaves become string metadata.
///
/// Checked: the `byteorder` record (`big` → tensors with big-endian ``Tensor/byteOrder``),
/// `version` ≤ 10, each storage record's size = numel × itemSize and CRC-32 (torch checks
/// neither CRC; a CRC of 0, which torch writes when CRCs are disabled, is not checked), each
/// tensor inside its storage.
public enum PyTorchReader {
    /// The newest archive format version torch reads (`kMaxSupportedFileFormatVersion`).
    public static let maxFormatVersion = 10

    /// Reads `file` as a ZIP checkpoint, TorchScript archive or legacy pickle stream.
    public static func read(file: MappedFile, limits: Limits = .default) throws(FormatError) -> TensorFile {
        do throws(FormatError) {
            let head = file.bytes
            if FormatRegistry.startsWith(head, [0x50, 0x4B]) {
                return try read(archive: try ZipArchive(file: file, limits: limits), limits: limits)
            }
            if head.first == 0x80 { return try PyTorchLegacyReader.read(file: file, limits: limits) }
            throw FormatError(.unsupported, "not a PyTorch checkpoint (neither a ZIP archive nor a pickle stream)")
        } catch {
            throw error.inFile(file.path)
        }
    }

    /// Reads an opened ZIP archive holding `data.pkl` (a `torch.save` checkpoint, or TorchScript
    /// when `constants.pkl` is present).
    public static func read(archive: ZipArchive, limits: Limits = .default) throws(FormatError) -> TensorFile {
        do throws(FormatError) {
            return try readZip(archive, limits: limits)
        } catch {
            throw error.inFile(archive.path)
        }
    }

    private static func readZip(_ archive: ZipArchive, limits: Limits) throws(FormatError) -> TensorFile {
        let layout = try PyTorchArchiveLayout(archive: archive)
        var notes: [String] = []

        var versionText = try layout.text("version", in: archive)
        if versionText == nil { versionText = try layout.text(".data/version", in: archive) }
        if let v = versionText {
            guard let version = Int(v), version >= 1 else {
                throw FormatError(.corrupt, "the version record holds '\(v.prefix(20))', not a format version", entry: layout.prefix + "version")
            }
            guard version <= maxFormatVersion else {
                throw FormatError(.unsupported, "archive format version \(version) is newer than the newest torch reads (\(maxFormatVersion))", entry: layout.prefix + "version")
            }
        } else {
            notes.append("the archive has no version record (torch.load would refuse it); read anyway")
        }
        var byteOrder = ByteOrder.little
        if let order = try layout.text("byteorder", in: archive) {
            switch order {
            case "little": byteOrder = .little
            case "big": byteOrder = .big
            default:
                throw FormatError(.corrupt, "the byteorder record holds '\(order.prefix(20))', not 'little' or 'big'", entry: layout.prefix + "byteorder")
            }
        }
        for record in [".format_version", ".storage_alignment"] {
            if let text = try layout.text(record, in: archive), Int(text) == nil {
                throw FormatError(.corrupt, "the \(record) record holds '\(text.prefix(20))', not a number", entry: layout.prefix + record)
            }
        }

        let machine = PickleMachine(limits: limits)
        defer { withExtendedLifetime(machine) {} }
        var file = TensorFile(path: archive.path, format: .pytorch)
        let mode: PyTorchFlattener.Mode
        switch layout.kind {
        case .checkpoint:
            mode = .checkpoint
        case .torchScript(let mobile):
            mode = .torchScript
            file.format = .torchscript
            if mobile { notes.append("mobile (lite interpreter) TorchScript archive: weights read from data.pkl") }
        }

        let root = try unpickle(layout.dataPickle, of: archive, with: machine, folder: "data/", layout: layout)
        var flat = PyTorchFlattener(mode: mode, limits: limits)
        try flat.walk(root.value)
        try assemble(flat, storages: root.table, folder: "data/", layout: layout, archive: archive,
                     byteOrder: byteOrder, into: &file)

        if case .torchScript = layout.kind, let constants = layout.entry("constants.pkl", in: archive) {
            let c = try unpickle(constants, of: archive, with: machine, folder: "constants/", layout: layout)
            var constantsFlat = PyTorchFlattener(mode: .checkpoint, limits: limits)
            try constantsFlat.walk(c.value, path: "constants")
            try assemble(constantsFlat, storages: c.table, folder: "constants/", layout: layout, archive: archive,
                         byteOrder: byteOrder, into: &file)
        }
        file.notes = notes + file.notes
        file.checksums = archive.backgroundChecksums
        return file
    }

    private static func unpickle(_ entry: ZipEntry, of archive: ZipArchive, with machine: PickleMachine, folder: String,
                                 layout: PyTorchArchiveLayout) throws(FormatError) -> (value: PickleValue, table: PyTorchStorageTable) {
        let table = PyTorchStorageTable()
        machine.setPersistentLoad { pid throws(FormatError) in try table.loadZipPersistentId(pid) }
        let data = try PyTorchArchiveLayout.bytes(of: entry, in: archive)
        defer { withExtendedLifetime(data) {} }
        let base = entry.method == .stored ? entry.dataOffset : 0
        let value = try machine.load(data.bytes, entry: entry.name, baseOffset: base).value
        try refuseCodeExecution(machine)
        return (value, table)
    }

    /// A checkpoint whose pickle calls `os.system`, `eval`, ... is hostile: such a call only exists
    /// to run code in Python's unpickler. Nothing was run; the file is refused.
    static func refuseCodeExecution(_ machine: PickleMachine) throws(FormatError) {
        guard let first = machine.codeExecutionAttempts.first else { return }
        throw FormatError(.hostile, "the pickle calls \(first.callable), which would run code when loaded with Python's pickle (lstmkit ran nothing)",
                          entry: first.entry, offset: first.offset)
    }

    /// Binds the flattened tensors to their records and appends them (and the metadata) to `file`.
    private static func assemble(_ flat: PyTorchFlattener, storages table: PyTorchStorageTable, folder: String,
                                 layout: PyTorchArchiveLayout, archive: ZipArchive, byteOrder: ByteOrder,
                                 into file: inout TensorFile) throws(FormatError) {
        let builder = PyTorchTensorBuilder(byteOrder: byteOrder) { storage throws(FormatError) in
            try table.bytes(of: storage) { s throws(FormatError) in
                try recordBytes(of: s, folder: folder, layout: layout, archive: archive)
            }
        }
        try append(flat, using: builder, to: &file)
    }

    /// Adds the flattened tensors (built by `builder`), metadata and notes to `file`.
    static func append(_ flat: PyTorchFlattener, using builder: PyTorchTensorBuilder, to file: inout TensorFile) throws(FormatError) {
        var dequantized = 0
        for (name, t) in flat.tensors {
            switch try builder.build(t, name: name) {
            case .tensor(let tensor):
                file.tensors.append(NamedTensor(name: name, tensor: tensor))
                if t.quantization != nil { dequantized += 1 }
            case .skipped(let why): file.notes.append(why)
            }
        }
        if dequantized > 0 {
            file.notes.append("\(dequantized) quantized tensor\(dequantized == 1 ? " was" : "s were") read dequantized to float32 ((q - zero_point) * scale)")
        }
        file.metadata += flat.metadata
        file.notes += flat.notes
    }

    private static func recordBytes(of s: PickleStorage, folder: String, layout: PyTorchArchiveLayout,
                                    archive: ZipArchive) throws(FormatError) -> (bytes: TensorStorage, record: String) {
        let name = folder + s.key
        guard let entry = layout.entry(name, in: archive) ?? layout.entry(name + ".storage", in: archive) else {
            throw FormatError(.corrupt, "the storage record is missing (the pickle refers to storage '\(s.key)')", entry: layout.prefix + name)
        }
        let need = try s.declaredBytes(record: entry.name)
        guard entry.uncompressedSize == need else {
            throw FormatError(.corrupt, "the storage record holds \(entry.uncompressedSize) bytes, but the pickle declares \(s.numel) elements of \(s.type.name) (\(need) bytes)",
                              entry: entry.name, offset: entry.dataOffset)
        }
        let bytes = try PyTorchArchiveLayout.bytes(of: entry, in: archive, isTensorData: true)
        return (bytes, entry.name)
    }
}
