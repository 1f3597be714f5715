/// The row-major little-endian bytes of a strided or big-endian tensor (a transposed view), made
/// piece by piece as a writer streams them: a converted file's transposes never exist whole in
/// memory. Reading them through ``TensorStorage/bytes`` makes them once, under the memory budget.
struct RowMajorBytes: DeferredBytes {
    /// The source, its bytes in memory (mapped or owned).
    let tensor: Tensor

    var count: Int { tensor.byteCount }
    var what: String { "a row-major copy of a tensor of shape \(tensor.shape)" }
    var file: String { "" }
    var member: String? { nil }

    func fill(_ destination: UnsafeMutableRawBufferPointer) throws(FormatError) {
        var at = 0
        try stream(0..<count) { piece throws(FormatError) in
            UnsafeMutableRawBufferPointer(rebasing: destination[at..<(at + piece.count)]).copyMemory(from: piece)
            at += piece.count
        }
    }

    func stream(_ range: Range<Int>, into sink: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
        let size = tensor.dtype.itemSize
        guard !range.isEmpty, size > 0 else { return }
        let elements = (range.lowerBound / size)..<((range.upperBound + size - 1) / size)
        try tensor.forEachRun(in: elements) { start, raw, _ throws(FormatError) in
            let runStart = start * size
            let lo = Swift.max(range.lowerBound, runStart) - runStart
            let hi = Swift.min(range.upperBound, runStart + raw.count) - runStart
            if hi > lo { try sink(UnsafeRawBufferPointer(rebasing: raw[lo..<hi])) }
        }
    }
}

extension Tensor {
    /// This tensor in row-major little-endian layout without copying it now: itself when already so,
    /// otherwise a tensor over deferred storage that makes the bytes as they are written
    /// (``RowMajorBytes``). Compressed sources are inflated first (``loaded()``).
    public func rowMajorOnDemand() throws(FormatError) -> Tensor {
        if isContiguousLittleEndian { return self }
        let source = try loaded()
        return try Tensor(dtype: dtype, shape: shape,
                          storage: TensorStorage(deferred: RowMajorBytes(tensor: source), budget: MemoryBudget.current))
    }
}
