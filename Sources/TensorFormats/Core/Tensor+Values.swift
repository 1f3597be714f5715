/// Element values: reading any dtype as Float / Double, building tensors from Swift arrays, casts.
extension Tensor {
    /// Elements in row-major order as Float. float16 / bfloat16 widen exactly; float64 and
    /// integers round to nearest. Bool is 0 or 1.
    public func floats() -> [Float] {
        let n = elementCount
        return [Float](unsafeUninitializedCapacity: n) { out, count in
            forEachRun { start, raw, k in
                Tensor.decode(raw, dtype: dtype, count: k) { i, v in out[start + i] = Float(v) } float: { i, f in out[start + i] = f }
            }
            count = n
        }
    }

    /// Elements in row-major order as Double (exact for every float dtype and for integers up to 2^53).
    public func doubles() -> [Double] {
        let n = elementCount
        return [Double](unsafeUninitializedCapacity: n) { out, count in
            forEachRun { start, raw, k in
                Tensor.decode(raw, dtype: dtype, count: k) { i, v in out[start + i] = v } float: { i, f in out[start + i] = Double(f) }
            }
            count = n
        }
    }

    /// Elements `range` (row-major flat indices) as Double, read in place whatever the layout: how a
    /// consumer walks a large tensor in bounded pieces.
    public func doubles(elements range: Range<Int>) -> [Double] {
        let lower = Swift.max(0, range.lowerBound), upper = Swift.min(elementCount, range.upperBound)
        guard lower < upper else { return [] }
        return [Double](unsafeUninitializedCapacity: upper - lower) { out, count in
            forEachRun(in: lower..<upper) { start, raw, k in
                let at = start - lower
                Tensor.decode(raw, dtype: dtype, count: k) { i, v in out[at + i] = v } float: { i, f in out[at + i] = Double(f) }
            }
            count = upper - lower
        }
    }

    /// Elements as Int64 (integer and bool dtypes exactly; floats truncated toward zero, NaN → 0).
    public func int64s() -> [Int64] {
        guard !dtype.isFloatingPoint else {
            return doubles().map { $0.isFinite ? Int64(clamping: Int64(exactly: $0.rounded(.towardZero)) ?? 0) : 0 }
        }
        let n = elementCount
        let size = dtype.itemSize
        return [Int64](unsafeUninitializedCapacity: n) { out, count in
            forEachRun { start, raw, k in
                for i in 0..<k {
                    let at = i * size
                    let v: Int64
                    switch dtype {
                    case .int8: v = Int64(raw.loadUnaligned(fromByteOffset: at, as: Int8.self))
                    case .int16: v = Int64(raw.loadUnaligned(fromByteOffset: at, as: Int16.self))
                    case .int32: v = Int64(raw.loadUnaligned(fromByteOffset: at, as: Int32.self))
                    case .int64: v = raw.loadUnaligned(fromByteOffset: at, as: Int64.self)
                    case .uint16: v = Int64(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))
                    case .uint32: v = Int64(raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))
                    case .uint64: v = Int64(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                    default: v = Int64(raw[at])  // uint8, bool
                    }
                    out[start + i] = v
                }
            }
            count = n
        }
    }

    /// Calls `body(first, bytes, count)` with the little-endian bytes of the elements `range`
    /// (row-major flat indices; all by default) in order, `count` consecutive elements from element
    /// `first` at a time: the tensor's own bytes in one run when it is contiguous little-endian,
    /// otherwise copies (byte-swapped for big-endian data) of at most 65 536 elements in a scratch
    /// buffer, so no whole-tensor copy is made.
    func forEachRun<E: Error>(in range: Range<Int>? = nil, _ body: (Int, UnsafeRawBufferPointer, Int) throws(E) -> Void) throws(E) {
        let elements = range ?? 0..<elementCount
        guard !elements.isEmpty else { return }
        let size = dtype.itemSize
        let src = storage.bytes
        if isContiguousLittleEndian {
            let from = byteOffset + elements.lowerBound * size
            try body(elements.lowerBound, UnsafeRawBufferPointer(rebasing: src[from..<(from + elements.count * size)]), elements.count)
            return
        }
        let runLength = Swift.min(elements.count, 1 << 16)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: runLength * size, alignment: 16)
        defer { scratch.deallocate() }
        let swap = byteOrder == .big && size > 1
        var index = [Int](repeating: 0, count: rank)
        var rest = elements.lowerBound
        for k in stride(from: rank - 1, through: 0, by: -1) where shape[k] > 0 {
            index[k] = rest % shape[k]
            rest /= shape[k]
        }
        var filled = 0
        var first = elements.lowerBound
        for _ in elements {
            var off = byteOffset
            for k in 0..<rank { off += index[k] * strides[k] * size }
            for b in 0..<size { scratch[filled * size + b] = src[off + (swap ? size - 1 - b : b)] }
            filled += 1
            if filled == runLength {
                try body(first, UnsafeRawBufferPointer(scratch), filled)
                first += filled
                filled = 0
            }
            var k = rank - 1
            while k >= 0 {
                index[k] += 1
                if index[k] < shape[k] { break }
                index[k] = 0
                k -= 1
            }
        }
        if filled > 0 { try body(first, UnsafeRawBufferPointer(rebasing: scratch[0..<(filled * size)]), filled) }
    }

    /// Decodes little-endian contiguous bytes; `float` receives Float-valued dtypes without a
    /// round trip through Double, `value` receives the rest.
    @inline(__always)
    static func decode(_ raw: UnsafeRawBufferPointer, dtype: DType, count n: Int,
                       value: (Int, Double) -> Void, float: (Int, Float) -> Void) {
        switch dtype {
        case .float32: for i in 0..<n { float(i, raw.loadUnaligned(fromByteOffset: i * 4, as: Float.self)) }
        case .float64: for i in 0..<n { value(i, raw.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        case .float16:
            for i in 0..<n { float(i, HalfPrecision.float(fromFloat16: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) }
        case .bfloat16:
            for i in 0..<n { float(i, HalfPrecision.float(fromBFloat16: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) }
        case .bool: for i in 0..<n { value(i, raw[i] != 0 ? 1 : 0) }
        case .int8: for i in 0..<n { value(i, Double(raw.loadUnaligned(fromByteOffset: i, as: Int8.self))) }
        case .int16: for i in 0..<n { value(i, Double(raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))) }
        case .int32: for i in 0..<n { value(i, Double(raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
        case .int64: for i in 0..<n { value(i, Double(raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))) }
        case .uint8: for i in 0..<n { value(i, Double(raw[i])) }
        case .uint16: for i in 0..<n { value(i, Double(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) }
        case .uint32: for i in 0..<n { value(i, Double(raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
        case .uint64: for i in 0..<n { value(i, Double(raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))) }
        }
    }

    /// A float32 tensor holding `values` in row-major order. Throws when the count does not fit `shape`.
    public init(float32 values: [Float], shape: [Int]) throws(FormatError) {
        guard Checked.product(shape) == values.count else {
            throw FormatError(.corrupt, "\(values.count) values do not fill shape \(shape)")
        }
        let storage = try values.withUnsafeBytes { raw in Result { () throws(FormatError) in try TensorStorage(copying: raw) } }.get()
        try self.init(dtype: .float32, shape: shape, storage: storage)
    }

    /// A float64 tensor holding `values` in row-major order.
    public init(float64 values: [Double], shape: [Int]) throws(FormatError) {
        guard Checked.product(shape) == values.count else {
            throw FormatError(.corrupt, "\(values.count) values do not fill shape \(shape)")
        }
        let storage = try values.withUnsafeBytes { raw in Result { () throws(FormatError) in try TensorStorage(copying: raw) } }.get()
        try self.init(dtype: .float64, shape: shape, storage: storage)
    }

    /// An int64 tensor holding `values` in row-major order.
    public init(int64 values: [Int64], shape: [Int]) throws(FormatError) {
        guard Checked.product(shape) == values.count else {
            throw FormatError(.corrupt, "\(values.count) values do not fill shape \(shape)")
        }
        let storage = try values.withUnsafeBytes { raw in Result { () throws(FormatError) in try TensorStorage(copying: raw) } }.get()
        try self.init(dtype: .int64, shape: shape, storage: storage)
    }

    /// A 0-d bool tensor.
    public init(bool value: Bool) {
        // One byte for one element: always admitted, always fits.
        let storage = try! TensorStorage(bytes: [value ? 1 : 0])
        try! self.init(dtype: .bool, shape: [], storage: storage)
    }

    /// This tensor cast to `target` (floating dtypes only; integers pass through unchanged), in new
    /// storage admitted by the memory budget (``MemoryBudget/current``).
    ///
    /// float32 → float16 / bfloat16 rounds to nearest even (bit-equal to torch's `.half()` /
    /// `.bfloat16()`); float64 → float32 rounds to nearest even, and float64 → float16 / bfloat16
    /// narrows through float32 as torch does; widening is exact. Deferred bytes are made first.
    public func converted(to target: DType) throws(FormatError) -> Tensor {
        guard dtype != target, dtype.isFloatingPoint, target.isFloatingPoint else { return try contiguous() }
        let source = try loaded()
        let n = elementCount
        guard let bytes = Checked.mul(n, target.itemSize) else {
            throw FormatError(.limitExceeded, "a \(target.name) copy of shape \(shape) is too large to address")
        }
        let buffer = try MemoryBudget.current.allocate(bytes, for: "casting a tensor of shape \(shape) to \(target.name)")
        let out = buffer.buffer
        source.forEachRun { start, raw, k in
            switch target {
            case .float64:
                let p = out.baseAddress!.assumingMemoryBound(to: Double.self) + start
                Tensor.decode(raw, dtype: dtype, count: k) { i, v in p[i] = v } float: { i, f in p[i] = Double(f) }
            case .float32:
                let p = out.baseAddress!.assumingMemoryBound(to: Float.self) + start
                Tensor.decode(raw, dtype: dtype, count: k) { i, v in p[i] = Float(v) } float: { i, f in p[i] = f }
            case .float16:
                let p = out.baseAddress!.assumingMemoryBound(to: UInt16.self) + start
                Tensor.decode(raw, dtype: dtype, count: k) { i, v in p[i] = HalfPrecision.float16(from: Float(v)) }
                    float: { i, f in p[i] = HalfPrecision.float16(from: f) }
            default:
                let p = out.baseAddress!.assumingMemoryBound(to: UInt16.self) + start
                Tensor.decode(raw, dtype: dtype, count: k) { i, v in p[i] = HalfPrecision.bfloat16(from: Float(v)) }
                    float: { i, f in p[i] = HalfPrecision.bfloat16(from: f) }
            }
        }
        return try Tensor(dtype: target, shape: shape, storage: TensorStorage(budgeted: buffer))
    }
}
