import TensorFormats

/// A tensor the constant evaluator owns: row-major little-endian element bytes, its dtype and shape.
/// Data movement (reshape, transpose, slice, gather, concat, broadcast) works on bytes of any dtype;
/// arithmetic and casts go through float64 (floats) or int64 (integers).
struct HostTensor {
    var dtype: DType
    var shape: [Int]
    var bytes: [UInt8]

    var count: Int { shape.reduce(1, *) }
    private var item: Int { dtype.itemSize }

    init(dtype: DType, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    init(_ t: Tensor) throws(FormatError) {
        let c = try t.contiguous()
        self.init(dtype: c.dtype, shape: c.shape, bytes: c.contiguousBytes.map { Array($0) } ?? [])
    }

    init(float v: Float) {
        self.init(dtype: .float32, shape: [], bytes: withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) })
    }

    init(int64 values: [Int64], shape: [Int]) {
        self.init(dtype: .int64, shape: shape, bytes: values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } })
    }

    init(doubles values: [Double], shape: [Int], as dtype: DType) {
        let t = try? Tensor(float64: values, shape: shape).converted(to: dtype)
        self = t.flatMap { try? HostTensor($0) } ?? HostTensor(dtype: dtype, shape: shape, bytes: [])
    }

    func tensor() -> Tensor? {
        guard bytes.count == count * item else { return nil }
        return try? Tensor(dtype: dtype, shape: shape, storage: TensorStorage(bytes: bytes))
    }

    func reshaped(_ newShape: [Int]) -> HostTensor {
        HostTensor(dtype: dtype, shape: newShape, bytes: bytes)
    }

    /// Row-major strides in elements.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = Array(repeating: 1, count: shape.count)
        var acc = 1
        for i in shape.indices.reversed() {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Builds a tensor of `shape` whose element at each index comes from `source(index)` (an element
    /// offset into self). With `rowsContiguous`, consecutive elements of the last axis are
    /// consecutive in self, so each row is copied whole.
    private func gather(into shape: [Int], rowsContiguous: Bool = false, source: ([Int]) -> Int) -> HostTensor {
        let n = shape.reduce(1, *)
        guard n > 0 else { return HostTensor(dtype: dtype, shape: shape, bytes: []) }
        let row = rowsContiguous ? (shape.last ?? 1) : 1
        let step = shape.isEmpty || !rowsContiguous ? shape.count - 1 : shape.count - 2
        var out = [UInt8](repeating: 0, count: n * item)
        var index = Array(repeating: 0, count: shape.count)
        var dst = 0
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dstBytes in
                for _ in 0..<(n / row) {
                    let from = source(index) * item
                    dstBytes.baseAddress!.advanced(by: dst).copyMemory(from: src.baseAddress!.advanced(by: from), byteCount: row * item)
                    dst += row * item
                    var k = step
                    while k >= 0 {
                        index[k] += 1
                        if index[k] < shape[k] { break }
                        index[k] = 0
                        k -= 1
                    }
                }
            }
        }
        return HostTensor(dtype: dtype, shape: shape, bytes: out)
    }

    func transposed(_ perm: [Int]) -> HostTensor {
        let s = Self.strides(shape)
        return gather(into: perm.map { shape[$0] }) { idx in
            var off = 0
            for (k, p) in perm.enumerated() { off += idx[k] * s[p] }
            return off
        }
    }

    func sliced(axis: Int, start: Int, step: Int, count: Int) -> HostTensor {
        var newShape = shape
        newShape[axis] = count
        let s = Self.strides(shape)
        return gather(into: newShape, rowsContiguous: axis != shape.count - 1 || step == 1) { idx in
            var off = 0
            for k in idx.indices { off += (k == axis ? start + idx[k] * step : idx[k]) * s[k] }
            return off
        }
    }

    func gathered(axis: Int, indices: [Int], indexShape: [Int]) -> HostTensor {
        let newShape = Array(shape[..<axis]) + indexShape + Array(shape[(axis + 1)...])
        let s = Self.strides(shape)
        let inner = indexShape.count
        let istr = Self.strides(indexShape)
        return gather(into: newShape, rowsContiguous: axis != shape.count - 1) { idx in
            var off = 0
            for k in 0..<axis { off += idx[k] * s[k] }
            var flat = 0
            for j in 0..<inner { flat += idx[axis + j] * istr[j] }
            off += indices[flat] * s[axis]
            for k in (axis + 1)..<shape.count { off += idx[k - 1 + inner] * s[k] }
            return off
        }
    }

    func broadcast(to target: [Int]) -> HostTensor {
        let s = Self.strides(shape)
        let lead = target.count - shape.count
        return gather(into: target, rowsContiguous: shape.last.map { $0 != 1 } ?? false) { idx in
            var off = 0
            for k in shape.indices where shape[k] != 1 { off += idx[k + lead] * s[k] }
            return off
        }
    }

    static func concat(_ parts: [HostTensor], axis: Int) -> HostTensor? {
        guard let first = parts.first else { return nil }
        for p in parts {
            guard p.dtype == first.dtype, p.shape.count == first.shape.count,
                  p.shape.indices.allSatisfy({ $0 == axis || p.shape[$0] == first.shape[$0] }) else { return nil }
        }
        var shape = first.shape
        shape[axis] = parts.map { $0.shape[axis] }.reduce(0, +)
        let outer = shape[..<axis].reduce(1, *)
        var out: [UInt8] = []
        out.reserveCapacity(shape.reduce(1, *) * first.item)
        for o in 0..<outer {
            for p in parts {
                let block = p.shape[axis...].reduce(1, *) * p.item
                out += p.bytes[(o * block)..<((o + 1) * block)]
            }
        }
        return HostTensor(dtype: first.dtype, shape: shape, bytes: out)
    }

    func doubles() -> [Double] { tensor()?.doubles() ?? [] }
    func int64s() -> [Int64] { tensor()?.int64s() ?? [] }

    func cast(to target: DType) -> HostTensor {
        if target == dtype { return self }
        if target.isFloatingPoint { return HostTensor(doubles: doubles(), shape: shape, as: target) }
        let v: [Int64] = dtype.isFloatingPoint ? doubles().map { Int64(exactly: $0.rounded(.towardZero)) ?? 0 } : int64s()
        if target == .int32 {
            return HostTensor(dtype: .int32, shape: shape, bytes: v.flatMap { x in withUnsafeBytes(of: Int32(truncatingIfNeeded: x).littleEndian) { Array($0) } })
        }
        return HostTensor(int64: v, shape: shape)
    }

    /// `a op b` with numpy broadcasting to `shape`; nil when the dtypes do not combine.
    static func arithmetic(_ op: String, _ a: HostTensor, _ b: HostTensor, shape: [Int]) -> HostTensor? {
        guard a.dtype == b.dtype || (a.dtype.isFloatingPoint == b.dtype.isFloatingPoint) else { return nil }
        let x = a.broadcast(to: shape), y = b.broadcast(to: shape)
        if a.dtype.isFloatingPoint {
            let u = x.doubles(), v = y.doubles()
            let r: [Double] = zip(u, v).map { p, q in
                switch op {
                case "Add": p + q
                case "Sub": p - q
                case "Mul": p * q
                default: p / q
                }
            }
            return HostTensor(doubles: r, shape: shape, as: a.dtype)
        }
        let u = x.int64s(), v = y.int64s()
        var r: [Int64] = []
        for (p, q) in zip(u, v) {
            switch op {
            case "Add": r.append(p &+ q)
            case "Sub": r.append(p &- q)
            case "Mul": r.append(p &* q)
            default:
                guard q != 0 else { return nil }
                r.append(p / q)
            }
        }
        return HostTensor(int64: r, shape: shape).cast(to: a.dtype)
    }
}
