/// Which storages a state dict is written with, and how each tensor views its storage.
///
/// Entries that cast (``TensorEntry/passthrough`` is nil) get their own contiguous storage, filled
/// when the writer reaches it (loaded then, so at most one cast tensor exists at a time).
/// Tensors that alias one ``TensorStorage`` with one dtype (a tensor and its transpose or a row
/// of it, as read from a torch file) keep sharing it — one `data/<key>` record, offsets and
/// strides as they are — when their views overlap, together cover every element of the storage
/// (so nothing unused is written) and the bytes are little-endian; a lone tensor that covers its
/// whole storage keeps its strides too. Tensors that merely sit side by side in one buffer (an
/// npz or safetensors file mapped once) are written separately, as `torch.save` would write
/// tensors that do not alias. Every other tensor gets its own contiguous storage (zero-copy when
/// it already is contiguous little-endian). Keys are `"0"`, `"1"`, … in order of
/// first use, as `torch.save` assigns them.
struct PyTorchWritePlan {
    struct Storage {
        let key: String
        let content: Content

        enum Content {
            /// Bytes of an input already in place: `range` of `owner`.
            case view(owner: TensorStorage, range: Range<Int>)
            /// The contiguous little-endian elements of entry `index`, loaded when written.
            case deferred(index: Int)
        }
    }

    private(set) var storages: [Storage] = []
    private var entries_: [PyTorchPickler.Entry] = []
    /// The pickle's entries, in state-dict order.
    var entries: [PyTorchPickler.Entry] { entries_ }

    init(_ entries: [TensorEntry]) throws(FormatError) {
        try refuseDuplicateNames(entries, "a state dict holds one tensor per name")
        let tensors = entries.compactMap { e in e.passthrough.map { NamedTensor(name: e.name, tensor: $0) } }
        let shared = PyTorchWritePlan.sharedGroups(tensors)
        var groupKeys: [GroupID: String] = [:]
        for (index, e) in entries.enumerated() {
            let dtype = e.dtype
            let size = dtype.itemSize
            let (className, needsV3) = TorchScalarType.storageClassName(for: dtype)
            let storageClass = needsV3 ? PickleGlobal(module: "torch.storage", name: "UntypedStorage")
                                       : PickleGlobal(module: "torch", name: className)
            let v3 = needsV3 ? PickleGlobal(module: "torch", name: dtype.name) : nil
            let numelUnit = needsV3 ? 1 : size
            guard let tensor = e.passthrough else {
                guard let bytes = e.byteCount else {
                    throw FormatError(.limitExceeded, "tensor shape \(e.shape) overflows a byte count", entry: e.name)
                }
                let key = String(storages.count)
                storages.append(Storage(key: key, content: .deferred(index: index)))
                entries_.append(PyTorchPickler.Entry(
                    name: e.name, storageClass: storageClass, storageKey: key,
                    storageNumel: bytes / numelUnit, storageOffset: 0,
                    shape: e.shape, strides: Tensor.contiguousStrides(e.shape), v3DType: v3))
                continue
            }
            let t = NamedTensor(name: e.name, tensor: tensor)

            let group = GroupID(storage: ObjectIdentifier(tensor.storage), dtype: dtype)
            if shared.contains(group) {
                let key: String
                if let k = groupKeys[group] {
                    key = k
                } else {
                    key = String(storages.count)
                    groupKeys[group] = key
                    storages.append(Storage(key: key, content: .view(owner: tensor.storage, range: 0..<tensor.storage.count)))
                }
                entries_.append(PyTorchPickler.Entry(
                    name: t.name, storageClass: storageClass, storageKey: key,
                    storageNumel: tensor.storage.count / numelUnit, storageOffset: tensor.byteOffset / size,
                    shape: tensor.shape, strides: tensor.strides, v3DType: v3))
            } else {
                // Deferred bytes stream as they are when already laid out; otherwise they are made here.
                let c = tensor.isDeferred && !tensor.isContiguousLittleEndian
                    ? try PyTorchWritePlan.loaded(tensor, t.name).contiguous() : try tensor.contiguous()
                guard c.isContiguousLittleEndian else {
                    throw FormatError(.corrupt, "tensor '\(t.name)' could not be laid out contiguously", entry: t.name)
                }
                let byteCount = c.byteCount
                let key = String(storages.count)
                storages.append(Storage(key: key, content: .view(owner: c.storage, range: c.byteOffset..<(c.byteOffset + byteCount))))
                entries_.append(PyTorchPickler.Entry(
                    name: t.name, storageClass: storageClass, storageKey: key,
                    storageNumel: byteCount / numelUnit, storageOffset: 0,
                    shape: tensor.shape, strides: Tensor.contiguousStrides(tensor.shape), v3DType: v3))
            }
        }
    }

    private static func loaded(_ tensor: Tensor, _ name: String) throws(FormatError) -> Tensor {
        do { return try tensor.loaded() } catch { throw error.inEntry(name) }
    }

    private struct GroupID: Hashable {
        let storage: ObjectIdentifier
        let dtype: DType
    }

    /// Groups whose tensors together cover their whole storage with dense views, and alias (or are one tensor).
    private static func sharedGroups(_ tensors: [NamedTensor]) -> Set<GroupID> {
        var intervals: [GroupID: [Range<Int>]] = [:]
        var elements: [GroupID: Int] = [:]
        var viewed: [GroupID: Int] = [:]
        var ineligible: Set<GroupID> = []
        for t in tensors {
            let tensor = t.tensor
            let size = tensor.dtype.itemSize
            let group = GroupID(storage: ObjectIdentifier(tensor.storage), dtype: tensor.dtype)
            guard tensor.byteOrder == .little || size == 1, tensor.byteOffset % size == 0,
                  tensor.storage.count % size == 0 else {
                ineligible.insert(group)
                continue
            }
            elements[group] = tensor.storage.count / size
            let count = tensor.elementCount
            viewed[group, default: 0] += count
            guard count > 0 else {
                intervals[group, default: []].append(0..<0)
                continue
            }
            let start = tensor.byteOffset / size
            var last = start
            for (d, s) in zip(tensor.shape, tensor.strides) { last += (d - 1) * s }
            intervals[group, default: []].append(last - start + 1 == count ? start..<(last + 1) : 0..<0)
        }
        var result: Set<GroupID> = []
        for (group, ranges) in intervals where !ineligible.contains(group) {
            guard let total = elements[group] else { continue }
            var covered = 0
            for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where !r.isEmpty {
                if r.lowerBound > covered { break }
                covered = max(covered, r.upperBound)
            }
            if covered >= total, ranges.count == 1 || viewed[group, default: 0] > total { result.insert(group) }
        }
        return result
    }
}
