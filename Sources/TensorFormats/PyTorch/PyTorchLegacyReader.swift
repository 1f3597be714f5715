/// The legacy pickle stream (`torch/serialization.py:_legacy_save`), pickles and raw storages
/// concatenated without padding:
///
/// | # | content |
/// |---|---|
/// | 1 | pickle of the magic number `0x1950A86A20F9469CFC6C` |
/// | 2 | pickle of the protocol version `1001` |
/// | 3 | pickle of `sys_info` (`{'protocol_version', 'little_endian', 'type_sizes'}`) |
/// | 4 | the object; persistent ids `('storage', class, root_key, location, numel, view_metadata)` and `('module', class, file, source)` |
/// | 5 | pickle of the storage keys, sorted as strings |
/// | 6 | per key in that order: `i64` LE element count, then `count × itemSize` bytes (little-endian) |
///
/// `view_metadata` is None or `(view_key, offset, size)` in elements: the view aliases
/// `root[offset ..< offset + size]`.
public enum PyTorchLegacyReader {
    static let magicNumber = PickleBigInt(bytes: [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19])
    static let protocolVersion = 1001

    public static func read(file: MappedFile, limits: Limits = .default) throws(FormatError) -> TensorFile {
        do throws(FormatError) {
            return try readStream(file, limits: limits)
        } catch {
            throw error.inFile(file.path)
        }
    }

    private static func readStream(_ file: MappedFile, limits: Limits) throws(FormatError) -> TensorFile {
        let bytes = file.bytes
        let machine = PickleMachine(limits: limits)
        defer { withExtendedLifetime(machine) {} }

        let magic = try machine.load(bytes, from: 0, entry: "magic number")
        guard case .bigInt(let m) = magic.value, m == magicNumber else {
            throw FormatError(.unsupported, "a pickle that is not a PyTorch checkpoint (no PyTorch magic number)", offset: 0)
        }
        let proto = try machine.load(bytes, from: magic.end, entry: "protocol version")
        guard case .int(let version) = proto.value, version == protocolVersion else {
            throw FormatError(.unsupported, "legacy protocol version \(proto.value.rendered(limit: 40)) (only \(protocolVersion) is known)", offset: magic.end)
        }
        let sysInfo = try machine.load(bytes, from: proto.end, entry: "sys_info")
        var notes: [String] = []
        if case .dict(let info) = sysInfo.value, case .bool(false)? = info["little_endian"] {
            notes.append("written on a big-endian machine; legacy storages are little-endian on disk regardless")
        }

        let storages = LegacyStorages()
        machine.setPersistentLoad { pid throws(FormatError) in try storages.load(pid) }
        let main = try machine.load(bytes, from: sysInfo.end, entry: "pickle")
        let keysPickle = try machine.load(bytes, from: main.end, entry: "storage keys")
        try PyTorchReader.refuseCodeExecution(machine)
        guard let keyValues = keysPickle.value.sequenceItems else {
            throw FormatError(.corrupt, "the storage key list is \(keysPickle.value.pythonTypeName)", entry: "storage keys", offset: main.end)
        }

        // Raw storages follow in the order of the key list.
        var bound: [String: TensorStorage] = [:]
        var position = keysPickle.end
        for keyValue in keyValues {
            let key: String
            switch keyValue {
            case .string(let s): key = s
            case .int(let i): key = String(i)
            default: throw FormatError(.corrupt, "a storage key is \(keyValue.pythonTypeName)", entry: "storage keys", offset: main.end)
            }
            let record = "storage \(key)"
            guard let storage = storages.roots[key] else {
                throw FormatError(.corrupt, "the stream holds storage '\(key)', which the pickle never refers to, so its element size is unknown", entry: record, offset: position)
            }
            guard bytes.count - position >= 8 else {
                throw FormatError(.truncated, "truncated: the file ends before the element count of storage '\(key)'", entry: record, offset: position)
            }
            let count = bytes.loadUnaligned(fromByteOffset: position, as: Int64.self).littleEndian
            guard count == Int64(storage.numel) else {
                throw FormatError(.corrupt, "storage '\(key)' holds \(count) elements, but the pickle declares \(storage.numel)", entry: record, offset: position)
            }
            let size = try storage.declaredBytes(record: record)
            let start = position + 8
            guard bytes.count - start >= size else {
                throw FormatError(.truncated, "the file ends inside storage '\(key)' (\(size) bytes from byte \(start))", entry: record, offset: start)
            }
            bound[key] = TensorStorage(mapped: file, range: start..<(start + size))
            position = start + size
        }
        if position < bytes.count {
            notes.append("\(bytes.count - position) bytes after the last storage were ignored")
        }

        let builder = PyTorchTensorBuilder(byteOrder: .little) { s throws(FormatError) in
            try legacyBytes(of: s, bound: bound)
        }
        var flat = PyTorchFlattener(mode: .checkpoint, limits: limits)
        try flat.walk(main.value)
        var result = TensorFile(path: file.path, format: .pytorchLegacy, notes: notes)
        try PyTorchReader.append(flat, using: builder, to: &result)
        return result
    }

    private static func legacyBytes(of s: PickleStorage, bound: [String: TensorStorage]) throws(FormatError) -> (bytes: TensorStorage, record: String) {
        let root = s.root ?? s
        let record = "storage \(root.key)"
        guard let whole = bound[root.key] else {
            throw FormatError(.corrupt, "storage '\(root.key)' is missing from the stream", entry: record)
        }
        guard s.root != nil else { return (whole, record) }
        let start = s.viewOffset * root.type.itemSize
        let end = start + s.numel * root.type.itemSize
        return (TensorStorage(slicing: whole, range: start..<end), record)
    }
}

/// Storages named by a legacy stream's persistent ids: roots by key, views by view key.
private final class LegacyStorages {
    var roots: [String: PickleStorage] = [:]
    var views: [String: PickleStorage] = [:]

    func load(_ pid: PickleValue) throws(FormatError) -> PickleValue {
        guard case .tuple(let t) = pid, let kind = t.items.first else {
            throw FormatError(.corrupt, "unexpected persistent id \(pid.rendered(limit: 120))")
        }
        if case .string("module") = kind, t.items.count >= 2 {
            return t.items[1]
        }
        guard case .string("storage") = kind, t.items.count == 5 || t.items.count == 6 else {
            throw FormatError(.corrupt, "unexpected persistent id \(pid.rendered(limit: 120))")
        }
        let parsed = try PyTorchStorageTable.storage(from: Array(t.items[1...4]))
        let root: PickleStorage
        if let existing = roots[parsed.key] {
            root = existing
        } else {
            root = parsed
            roots[parsed.key] = parsed
        }
        guard t.items.count == 6, let view = t.items[5].sequenceItems else { return .storage(root) }
        guard view.count == 3, case .string(let viewKey) = view[0], case .int(let offset) = view[1],
              case .int(let size) = view[2], offset >= 0, size >= 0 else {
            throw FormatError(.corrupt, "malformed view metadata \(t.items[5].rendered(limit: 80)) of storage '\(root.key)'")
        }
        if let existing = views[viewKey] { return .storage(existing) }
        guard let end = Checked.add(offset, size), end <= root.numel else {
            throw FormatError(.corrupt, "view '\(viewKey)' (\(size) elements at \(offset)) reaches past the end of storage '\(root.key)' (\(root.numel) elements)")
        }
        let v = PickleStorage(key: viewKey, type: root.type, numel: size, location: root.location, root: root, viewOffset: offset)
        views[viewKey] = v
        return .storage(v)
    }
}
