import TensorFormats

/// Gate-block permutations between ONNX (i, o, f, c) and PyTorch (i, f, g, o) along the 4H axis.
///
/// | PyTorch block k | 0 = i | 1 = f | 2 = g | 3 = o |
/// |---|---|---|---|---|
/// | ONNX block `toTorch[k]` | 0 (i) | 2 (f) | 3 (c) | 1 (o) |
///
/// and ONNX block k = PyTorch block `toONNX[k]` with `toONNX = [0, 3, 1, 2]`. The same permutation
/// applies to W (weight_ih), R (weight_hh), Wb (bias_ih) and Rb (bias_hh); peepholes P are i, o, f.
enum ONNXGates {
    static let toTorch = [0, 2, 3, 1]
    static let toONNX = [0, 3, 1, 2]

    /// The four gate blocks of `blockElements` elements each, starting at element `start` of `t`
    /// (row-major), reordered so that output block k is input block `perm[k]`, shaped `shape`.
    static func reorder(_ t: Tensor, start: Int, blockElements: Int, perm: [Int], shape: [Int]) throws(FormatError) -> Tensor {
        guard start >= 0, blockElements >= 0, start + 4 * blockElements <= t.elementCount else {
            throw FormatError(.corrupt, "gate blocks \(start)+4×\(blockElements) do not fit \(t.elementCount) elements")
        }
        let c = try t.contiguous()
        let size = c.dtype.itemSize
        let block = blockElements * size
        let src = c.contiguousBytes ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let storage = try TensorStorage(count: 4 * block) { dst in
            guard block > 0 else { return }
            for k in 0..<4 {
                let from = (start + perm[k] * blockElements) * size
                UnsafeMutableRawBufferPointer(rebasing: dst[(k * block)..<((k + 1) * block)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: src[from..<(from + block)]))
            }
        }
        return try Tensor(dtype: c.dtype, shape: shape, storage: storage)
    }

    /// ``reorder(_:start:blockElements:perm:shape:)`` of each source (4 blocks from element 0),
    /// concatenated into one new tensor of `shape` without intermediate copies; each source's mapped
    /// pages are released once copied (exporting a large checkpoint keeps one copy resident).
    static func reorderedConcatenation(_ sources: [Tensor], blockElements: Int, perm: [Int], shape: [Int]) throws(FormatError) -> Tensor {
        let dtype = sources.first?.dtype ?? .float32
        guard sources.allSatisfy({ $0.dtype == dtype && $0.elementCount == 4 * blockElements }), blockElements >= 0 else {
            throw FormatError(.corrupt, "gate blocks of 4×\(blockElements) elements do not fit the tensors to concatenate")
        }
        let block = blockElements * dtype.itemSize
        let storage = try TensorStorage(count: sources.count * 4 * block) { (dst: UnsafeMutableRawBufferPointer) throws(FormatError) in
            guard block > 0 else { return }
            for (j, t) in sources.enumerated() {
                let c = try t.contiguous()
                guard let src = c.contiguousBytes else { continue }
                for k in 0..<4 {
                    let from = perm[k] * block, to = (4 * j + k) * block
                    UnsafeMutableRawBufferPointer(rebasing: dst[to..<(to + block)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: src[from..<(from + block)]))
                }
                c.storage.releasePages(c.byteOffset..<(c.byteOffset + src.count))
            }
        }
        return try Tensor(dtype: dtype, shape: shape, storage: storage)
    }

    /// `count` elements of `t` starting at element `start` (row-major), as a new tensor of `shape`.
    static func slice(_ t: Tensor, start: Int, count: Int, shape: [Int]) throws(FormatError) -> Tensor {
        guard start >= 0, count >= 0, start + count <= t.elementCount else {
            throw FormatError(.corrupt, "elements \(start)..<\(start + count) do not fit \(t.elementCount) elements")
        }
        let c = try t.contiguous()
        let size = c.dtype.itemSize
        let src = c.contiguousBytes ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let storage = try TensorStorage(count: count * size) { dst in
            guard count > 0 else { return }
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[(start * size)..<((start + count) * size)]))
        }
        return try Tensor(dtype: c.dtype, shape: shape, storage: storage)
    }

    /// The tensors' elements one after another (all of one dtype), shaped `shape`.
    static func concatenate(_ parts: [Tensor], shape: [Int]) throws(FormatError) -> Tensor {
        let dtype = parts.first?.dtype ?? .float32
        guard parts.allSatisfy({ $0.dtype == dtype }) else {
            throw FormatError(.corrupt, "tensors of different dtypes cannot be concatenated")
        }
        let contiguous = try parts.map { (t: Tensor) throws(FormatError) -> Tensor in try t.contiguous() }
        let total = contiguous.reduce(0) { $0 + $1.byteCount }
        let storage = try TensorStorage(count: total) { dst in
            var at = 0
            for p in contiguous {
                guard let b = p.contiguousBytes, b.count > 0 else { continue }
                UnsafeMutableRawBufferPointer(rebasing: dst[at..<(at + b.count)]).copyMemory(from: b)
                at += b.count
            }
        }
        return try Tensor(dtype: dtype, shape: shape, storage: storage)
    }
}
