/// Storages of one pickle: built from persistent ids while unpickling, bound to their bytes
/// afterwards, then turned into ``Tensor`` views.
///
/// Zip persistent id: `('storage', <storage class>, key, location, numel)`; the bytes are the
/// record `<folder><key>` (`data/0`), which must hold exactly `numel × itemSize` bytes. The same
/// key with another dtype reinterprets the same bytes (torch allows it when the sizes agree).
final class PyTorchStorageTable {
    private(set) var storages: [String: PickleStorage] = [:]
    private var bound: [ObjectIdentifier: (bytes: TensorStorage, record: String)] = [:]

    /// The persistent loader for zip archives (`torch.save` and TorchScript).
    func loadZipPersistentId(_ pid: PickleValue) throws(FormatError) -> PickleValue {
        guard case .tuple(let t) = pid, t.items.count == 5, case .string("storage") = t.items[0] else {
            throw FormatError(.corrupt, "unexpected persistent id \(pid.rendered(limit: 120)) (expected ('storage', class, key, location, numel))")
        }
        let storage = try PyTorchStorageTable.storage(from: Array(t.items[1...4]))
        return .storage(remember(storage))
    }

    /// Parses `(class, key, location, numel)`.
    static func storage(from items: [PickleValue]) throws(FormatError) -> PickleStorage {
        guard case .storageType(let type) = items[0] else {
            throw FormatError(.corrupt, "the storage class in a persistent id is \(items[0].pythonTypeName)")
        }
        let key: String
        switch items[1] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw FormatError(.corrupt, "the storage key in a persistent id is \(items[1].pythonTypeName)")
        }
        guard case .int(let numel) = items[3], numel >= 0 else {
            throw FormatError(.corrupt, "the element count of storage '\(key)' is not a non-negative integer")
        }
        let location: String
        if case .string(let l) = items[2] { location = l } else { location = items[2].rendered(limit: 40) }
        return PickleStorage(key: key, type: type, numel: numel, location: location)
    }

    /// One storage object per key and type, so tensors that share a storage share its bytes.
    func remember(_ storage: PickleStorage) -> PickleStorage {
        let id = storage.key + "\u{0}" + storage.type.name
        if let existing = storages[id], existing.numel == storage.numel { return existing }
        storages[id] = storage
        return storage
    }

    /// The bytes of a storage, from a cache filled by `fetch` (called once per storage).
    func bytes(of storage: PickleStorage,
               fetch: (PickleStorage) throws(FormatError) -> (bytes: TensorStorage, record: String)) throws(FormatError) -> (bytes: TensorStorage, record: String) {
        let id = ObjectIdentifier(storage)
        if let b = bound[id] { return b }
        let b = try fetch(storage)
        bound[id] = b
        return b
    }
}

/// Turns tensor descriptors into ``Tensor`` views over their storages' bytes.
struct PyTorchTensorBuilder {
    let byteOrder: ByteOrder
    /// The whole storage's bytes (already size-checked) and the record name, for errors.
    let storageBytes: (PickleStorage) throws(FormatError) -> (bytes: TensorStorage, record: String)

    enum Outcome {
        case tensor(Tensor)
        /// The element type is not one lstmkit reads; the reason is a note.
        case skipped(String)
    }

    func build(_ t: PickleTensor, name: String) throws(FormatError) -> Outcome {
        if let q = t.quantization { return try dequantized(t, q, name: name) }
        guard let dtype = t.type.dtype else {
            return .skipped("tensor '\(name)' has dtype \(t.type.name), which lstmkit does not read; it was skipped")
        }
        if t.conj || t.neg {
            throw FormatError(.unsupported, "tensor '\(name)' is saved with torch's \(t.conj ? "conjugate" : "negative") bit set (a lazy \(t.conj ? "conj()" : "neg()") view), which lstmkit does not apply",
                              entry: name)
        }
        let (whole, record) = try storageBytes(t.storage)
        guard let byteOffset = Checked.mul(t.storageOffset, dtype.itemSize) else {
            throw FormatError(.corrupt, "tensor '\(name)': storage offset \(t.storageOffset) overflows", entry: record)
        }
        do {
            return .tensor(try Tensor(dtype: dtype, shape: t.shape, strides: t.strides, byteOrder: byteOrder,
                                      storage: whole, byteOffset: byteOffset))
        } catch {
            let view = "tensor '\(name)' (shape \(t.shape), strides \(t.strides), offset \(t.storageOffset) elements of \(dtype.name))"
            if error.reason == .limitExceeded {
                throw FormatError(.limitExceeded, "\(view): \(error.message)", entry: record)
            }
            throw FormatError(.corrupt, "\(view) reaches past the end of its \(whole.count)-byte storage", entry: record)
        }
    }
}

extension PyTorchTensorBuilder {
    /// A quantized tensor (`qint8`, `quint8`, `qint32`) as float32: (q − zero_point) · scale, per
    /// tensor or per channel. The stored integers are checked like any view of their storage; the
    /// float32 values are computed when first needed (``DequantizedBytes``), so metadata-only
    /// commands never read them.
    private func dequantized(_ t: PickleTensor, _ q: PickleTensor.Quantization, name: String) throws(FormatError) -> Outcome {
        let raw: DType
        switch t.type.name {
        case "qint8": raw = .int8
        case "quint8": raw = .uint8
        case "qint32": raw = .int32
        default: return .skipped("tensor '\(name)' is quantized as \(t.type.name), which lstmkit does not dequantize; it was skipped")
        }
        let (whole, record) = try storageBytes(t.storage)
        guard let byteOffset = Checked.mul(t.storageOffset, raw.itemSize) else {
            throw FormatError(.corrupt, "tensor '\(name)': storage offset \(t.storageOffset) overflows", entry: record)
        }
        let ints: Tensor
        do {
            ints = try Tensor(dtype: raw, shape: t.shape, strides: t.strides, byteOrder: byteOrder, storage: whole, byteOffset: byteOffset)
        } catch {
            throw FormatError(.corrupt, "quantized tensor '\(name)' (shape \(t.shape), strides \(t.strides)) reaches past the end of its \(whole.count)-byte storage", entry: record)
        }
        let scheme: DequantizedBytes.Scheme
        switch q {
        case .perTensor(let scale, let zeroPoint):
            scheme = .perTensor(scale: scale, zeroPoint: Int64(zeroPoint))
        case .perChannel(let scalesT, let zeroPointsT, let axis):
            guard axis >= 0, axis < t.shape.count,
                  case .tensor(let s) = try build(scalesT, name: name + " (scales)"),
                  case .tensor(let z) = try build(zeroPointsT, name: name + " (zero points)"),
                  s.elementCount == t.shape[axis], z.elementCount == t.shape[axis] else {
                throw FormatError(.corrupt, "quantized tensor '\(name)': per-channel scales and zero points do not fit axis \(axis) of \(t.shape)", entry: record)
            }
            scheme = .perChannel(scales: s, zeroPoints: z, axis: axis)
        }
        let source = DequantizedBytes(ints: ints, scheme: scheme, record: record)
        do {
            return .tensor(try Tensor(dtype: .float32, shape: t.shape, storage: TensorStorage(deferred: source, budget: .current)))
        } catch {
            throw error.inEntry(record)
        }
    }
}

extension PickleStorage {
    /// Bytes the whole storage declares: `numel × itemSize`.
    func declaredBytes(record: String) throws(FormatError) -> Int {
        guard type.itemSize > 0 else {
            throw FormatError(.unsupported, "storage class \(type.name) is unknown, so the size of its elements is too", entry: record)
        }
        guard let n = Checked.mul(numel, type.itemSize) else {
            throw FormatError(.limitExceeded, "storage of \(numel) elements of \(type.name) overflows", entry: record)
        }
        return n
    }
}
