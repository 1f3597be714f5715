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
        // Each piece made is handed over clipped to `range`.
        func emit(_ start: Int, _ raw: UnsafeRawBufferPointer) throws(FormatError) {
            let lo = Swift.max(range.lowerBound, start) - start
            let hi = Swift.min(range.upperBound, start + raw.count) - start
            if hi > lo { try sink(UnsafeRawBufferPointer(rebasing: raw[lo..<hi])) }
        }
        if isTransposedMatrix {
            try streamTransposed(range, emit)
        } else {
            let elements = (range.lowerBound / size)..<((range.upperBound + size - 1) / size)
            try tensor.forEachRun(in: elements) { start, raw, _ throws(FormatError) in try emit(start * size, raw) }
        }
        // The source's mapped pages are read again and again while its transpose is made, and not after.
        if range.upperBound == count { tensor.storage.releasePages(sourceBytes) }
    }

    /// A little-endian matrix stored column-major (the transpose of a row-major one): made in blocks of rows.
    private var isTransposedMatrix: Bool {
        tensor.rank == 2 && tensor.strides[0] == 1 && tensor.shape[0] > 1 && tensor.shape[1] > 1
            && (tensor.byteOrder == .little || tensor.dtype.itemSize == 1) && [1, 2, 4, 8].contains(tensor.dtype.itemSize)
    }

    /// The storage bytes the elements lie in.
    private var sourceBytes: Range<Int> {
        let size = tensor.dtype.itemSize
        let last = zip(tensor.shape, tensor.strides).reduce(0) { $0 + Swift.max($1.0 - 1, 0) * $1.1 }
        return tensor.byteOffset..<Swift.min(tensor.storage.count, tensor.byteOffset + (last + 1) * size)
    }

    /// Output rows in blocks of 16: for each column, 16 consecutive source elements (one cache line
    /// of a float32 matrix) go to the block's 16 rows.
    private func streamTransposed(_ range: Range<Int>, _ emit: (Int, UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
        let size = tensor.dtype.itemSize
        let rows = tensor.shape[0], cols = tensor.shape[1], stride = tensor.strides[1]
        let block = 16
        let rowBytes = cols * size
        let first = range.lowerBound / rowBytes, end = (range.upperBound + rowBytes - 1) / rowBytes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: block * rowBytes, alignment: 64)
        defer { buffer.deallocate() }
        guard let src = tensor.storage.bytes.baseAddress?.advanced(by: tensor.byteOffset), let out = buffer.baseAddress else { return }
        var r0 = first
        while r0 < end {
            let n = Swift.min(block, end - r0, rows - r0)
            for c in 0..<cols {
                let from = src + (c * stride + r0) * size
                for b in 0..<n {
                    let to = out + (b * cols + c) * size
                    switch size {
                    case 4: to.storeBytes(of: from.loadUnaligned(fromByteOffset: b * 4, as: UInt32.self), as: UInt32.self)
                    case 2: to.storeBytes(of: from.loadUnaligned(fromByteOffset: b * 2, as: UInt16.self), as: UInt16.self)
                    case 8: to.storeBytes(of: from.loadUnaligned(fromByteOffset: b * 8, as: UInt64.self), as: UInt64.self)
                    default: to.storeBytes(of: from.load(fromByteOffset: b, as: UInt8.self), as: UInt8.self)
                    }
                }
            }
            try emit(r0 * rowBytes, UnsafeRawBufferPointer(rebasing: buffer[0..<(n * rowBytes)]))
            r0 += n
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
