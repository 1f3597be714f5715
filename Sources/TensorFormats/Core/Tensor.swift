/// An n-dimensional array: a dtype, a shape, strides (in elements) and a view into ``TensorStorage``.
///
/// Layout: element `[i0, i1, ...]` starts at byte `byteOffset + itemSize · Σ ik·strides[k]` of
/// `storage.bytes`, stored in `byteOrder`. Construction checks that every element lies inside the
/// storage (overflow-checked), so no view can read out of bounds. Strides are non-negative.
public struct Tensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let strides: [Int]
    public let byteOrder: ByteOrder
    public let storage: TensorStorage
    /// Byte offset of the first element in `storage.bytes`.
    public let byteOffset: Int

    /// A view with explicit strides; throws when it would reach outside `storage`.
    public init(dtype: DType, shape: [Int], strides: [Int], byteOrder: ByteOrder = .little,
                storage: TensorStorage, byteOffset: Int = 0) throws(FormatError) {
        guard shape.count == strides.count else {
            throw FormatError(.corrupt, "shape \(shape) and strides \(strides) differ in rank")
        }
        guard shape.count <= Limits.default.maxRank else {
            throw FormatError(.limitExceeded, "rank \(shape.count) is over the limit of \(Limits.default.maxRank)")
        }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), byteOffset >= 0 else {
            throw FormatError(.corrupt, "negative size, stride or offset (shape \(shape), strides \(strides), offset \(byteOffset))")
        }
        guard let count = Checked.product(shape) else {
            throw FormatError(.limitExceeded, "element count of shape \(shape) overflows")
        }
        if count > 0 {
            var last = 0
            for (d, s) in zip(shape, strides) {
                guard let step = Checked.mul(d - 1, s), let sum = Checked.add(last, step) else {
                    throw FormatError(.limitExceeded, "extent of shape \(shape) with strides \(strides) overflows")
                }
                last = sum
            }
            guard let endElem = Checked.add(last, 1), let endBytes = Checked.mul(endElem, dtype.itemSize),
                  let end = Checked.add(byteOffset, endBytes), end <= storage.count else {
                throw FormatError(.corrupt, "tensor of shape \(shape) at byte offset \(byteOffset) reaches past the end of its \(storage.count)-byte storage")
            }
        }
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.byteOrder = byteOrder
        self.storage = storage
        self.byteOffset = byteOffset
    }

    /// A C-contiguous view starting at `byteOffset`.
    public init(dtype: DType, shape: [Int], byteOrder: ByteOrder = .little,
                storage: TensorStorage, byteOffset: Int = 0) throws(FormatError) {
        try self.init(dtype: dtype, shape: shape, strides: Tensor.contiguousStrides(shape),
                      byteOrder: byteOrder, storage: storage, byteOffset: byteOffset)
    }

    /// Row-major strides (in elements) for `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for k in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[k] = acc
            acc = acc &* Swift.max(shape[k], 1)
        }
        return strides
    }

    /// This tensor over storage whose bytes are in memory: itself, or (deferred storage: an
    /// inflated member) a copy made under the memory budget that lives as long as the result.
    /// Every consumer of a file's tensor values calls this first; see ``TensorStorage``.
    public func loaded() throws(FormatError) -> Tensor {
        guard storage.isDeferred else { return self }
        let bytes = try storage.materialized()
        return try Tensor(dtype: dtype, shape: shape, strides: strides, byteOrder: byteOrder, storage: bytes, byteOffset: byteOffset)
    }

    /// Whether the elements are made on demand (``loaded()`` makes them).
    public var isDeferred: Bool { storage.isDeferred }

    public var rank: Int { shape.count }

    /// Number of elements (1 for 0-d). Cannot overflow: checked at construction.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Bytes of the elements when laid out contiguously.
    public var byteCount: Int { elementCount * dtype.itemSize }

    /// Row-major, with no gaps (size-1 and empty dimensions ignore their stride).
    public var isContiguous: Bool {
        if elementCount == 0 { return true }
        var expected = 1
        for k in stride(from: rank - 1, through: 0, by: -1) where shape[k] != 1 {
            if strides[k] != expected { return false }
            expected *= shape[k]
        }
        return true
    }

    /// Row-major and little-endian: its bytes can be written out as they are.
    public var isContiguousLittleEndian: Bool {
        isContiguous && (byteOrder == .little || dtype.itemSize == 1)
    }

    /// The raw bytes of a ``isContiguousLittleEndian`` tensor, without copying; nil otherwise.
    public var contiguousBytes: UnsafeRawBufferPointer? {
        guard isContiguousLittleEndian else { return nil }
        return UnsafeRawBufferPointer(rebasing: storage.bytes[byteOffset..<(byteOffset + byteCount)])
    }

    /// This tensor in row-major little-endian layout: itself when already so (deferred bytes stay
    /// deferred), otherwise a copy in storage admitted by the memory budget (``MemoryBudget/current``).
    public func contiguous() throws(FormatError) -> Tensor {
        if isContiguousLittleEndian { return self }
        let source = try loaded()
        let size = dtype.itemSize
        let buffer = try MemoryBudget.current.allocate(byteCount, for: "a row-major copy of a tensor of shape \(shape)")
        let out = buffer.buffer
        source.forEachRun { start, raw, _ in
            UnsafeMutableRawBufferPointer(rebasing: out[(start * size)..<(start * size + raw.count)]).copyMemory(from: raw)
        }
        return try Tensor(dtype: dtype, shape: shape, storage: TensorStorage(budgeted: buffer))
    }

    /// The same elements with a new shape of equal element count (contiguous tensors only copy when needed).
    public func reshaped(_ newShape: [Int]) throws(FormatError) -> Tensor {
        guard Checked.product(newShape) == elementCount else {
            throw FormatError(.corrupt, "cannot reshape \(shape) to \(newShape)")
        }
        let c = try contiguous()
        return try Tensor(dtype: dtype, shape: newShape, storage: c.storage, byteOffset: c.byteOffset)
    }
}
