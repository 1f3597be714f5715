/// One tensor for a writer: its final name, dtype and shape, and how to get its elements when its
/// turn comes, so that casts are made one tensor at a time and memory stays bounded by one tensor.
public struct TensorEntry {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var load: () throws(FormatError) -> Tensor
    /// The input tensor `load` reads, whose mapped pages are released once the entry is written.
    public var source: Tensor?

    public init(name: String, dtype: DType, shape: [Int], source: Tensor? = nil,
                load: @escaping () throws(FormatError) -> Tensor) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.source = source
        self.load = load
    }

    /// `named` as it is: `load` returns its tensor, which is also the `source`.
    public init(_ named: NamedTensor) {
        let t = named.tensor
        self.init(name: named.name, dtype: t.dtype, shape: t.shape, source: t, load: { t })
    }

    /// The source tensor when `load` returns it unchanged (no cast): writers may keep its layout.
    public var passthrough: Tensor? {
        guard let s = source, s.dtype == dtype, s.shape == shape else { return nil }
        return s
    }

    /// Bytes the entry's elements take (nil on overflow).
    public var byteCount: Int? { Checked.product(shape).flatMap { Checked.mul($0, dtype.itemSize) } }

    /// Loads the tensor and checks that it is what the entry promised. A deferred tensor stays
    /// deferred when its bytes can be streamed as they are (contiguous little-endian); otherwise its
    /// bytes are made (under the memory budget) so that it can be laid out.
    func loadChecked() throws(FormatError) -> Tensor {
        var t = try load()
        guard t.dtype == dtype, t.shape == shape else {
            throw FormatError(.corrupt, "tensor changed from \(dtype.name) \(shape) to \(t.dtype.name) \(t.shape) while being written", entry: name)
        }
        if t.isDeferred, !t.isContiguousLittleEndian {
            do { t = try t.loaded() } catch { throw error.inEntry(name) }
        }
        return t
    }
}
