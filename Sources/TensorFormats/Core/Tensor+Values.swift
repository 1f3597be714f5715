/// Element values: reading any dtype as Float / Double, building tensors from Swift arrays, casts.
extension Tensor {
    /// Elements in row-major order as Float. float16 / bfloat16 widen exactly; float64 and
    /// integers round to nearest. Bool is 0 or 1.
    public func floats() -> [Float] {
        let c = contiguous()
        let n = c.elementCount
        guard let raw = c.contiguousBytes else { return [] }
        return [Float](unsafeUninitializedCapacity: n) { out, count in
            Tensor.decode(raw, dtype: dtype, count: n) { i, v in out[i] = Float(v) } float: { i, f in out[i] = f }
            count = n
        }
    }

    /// Elements in row-major order as Double (exact for every float dtype and for integers up to 2^53).
    public func doubles() -> [Double] {
        let c = contiguous()
        let n = c.elementCount
        guard let raw = c.contiguousBytes else { return [] }
        return [Double](unsafeUninitializedCapacity: n) { out, count in
            Tensor.decode(raw, dtype: dtype, count: n) { i, v in out[i] = v } float: { i, f in out[i] = Double(f) }
            count = n
        }
    }

    /// Elements as Int64 (integer and bool dtypes exactly; floats truncated toward zero, NaN → 0).
    public func int64s() -> [Int64] {
        let c = contiguous()
        guard let raw = c.contiguousBytes else { return [] }
        let n = c.elementCount
        switch dtype {
        case .int8: return (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0, as: Int8.self)) }
        case .int16: return (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
        case .int32: return (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .int64: return (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        case .uint8, .bool: return (0..<n).map { Int64(raw[$0]) }
        case .uint16: return (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
        case .uint32: return (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        case .uint64: return (0..<n).map { Int64(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        default:
            return doubles().map { $0.isFinite ? Int64(clamping: Int64(exactly: $0.rounded(.towardZero)) ?? 0) : 0 }
        }
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
        let storage = values.withUnsafeBytes { TensorStorage(copying: $0) }
        try self.init(dtype: .float32, shape: shape, storage: storage)
    }

    /// A float64 tensor holding `values` in row-major order.
    public init(float64 values: [Double], shape: [Int]) throws(FormatError) {
        guard Checked.product(shape) == values.count else {
            throw FormatError(.corrupt, "\(values.count) values do not fill shape \(shape)")
        }
        let storage = values.withUnsafeBytes { TensorStorage(copying: $0) }
        try self.init(dtype: .float64, shape: shape, storage: storage)
    }

    /// An int64 tensor holding `values` in row-major order.
    public init(int64 values: [Int64], shape: [Int]) throws(FormatError) {
        guard Checked.product(shape) == values.count else {
            throw FormatError(.corrupt, "\(values.count) values do not fill shape \(shape)")
        }
        let storage = values.withUnsafeBytes { TensorStorage(copying: $0) }
        try self.init(dtype: .int64, shape: shape, storage: storage)
    }

    /// A 0-d bool tensor.
    public init(bool value: Bool) {
        let storage = TensorStorage(bytes: [value ? 1 : 0])
        try! self.init(dtype: .bool, shape: [], storage: storage)  // one byte for one element: always fits
    }

    /// This tensor cast to `target` (floating dtypes only; integers pass through unchanged).
    ///
    /// float32 → float16 / bfloat16 rounds to nearest even (bit-equal to torch's `.half()` /
    /// `.bfloat16()`); float64 → float32 rounds to nearest even; widening is exact.
    public func converted(to target: DType) -> Tensor {
        guard dtype != target, dtype.isFloatingPoint, target.isFloatingPoint else { return contiguous() }
        let storage: TensorStorage
        switch target {
        case .float64:
            let v = doubles()
            storage = v.withUnsafeBytes { TensorStorage(copying: $0) }
        case .float32:
            let v = dtype == .float64 ? doubles().map { Float($0) } : floats()
            storage = v.withUnsafeBytes { TensorStorage(copying: $0) }
        case .float16:
            // float64 narrows through float32, as torch's `.half()` does.
            let v = floats().map { HalfPrecision.float16(from: $0) }
            storage = v.withUnsafeBytes { TensorStorage(copying: $0) }
        case .bfloat16:
            let v = floats().map { HalfPrecision.bfloat16(from: $0) }
            storage = v.withUnsafeBytes { TensorStorage(copying: $0) }
        default:
            return contiguous()
        }
        return try! Tensor(dtype: target, shape: shape, storage: storage)  // sized for exactly these elements
    }
}
