import Testing
@testable import TensorFormats

/// ``Tensor/rowMajorOnDemand()``: the bytes a writer streams are ``Tensor/contiguous()``'s, for any range.
@Suite struct RowMajorBytesTests {
    func transposed(_ rows: Int, _ cols: Int, dtype: DType = .float32, order: ByteOrder = .little) throws -> Tensor {
        let t = try Tensor(float32: (0..<(rows * cols)).map { Float($0) * 0.5 - 3 }, shape: [rows, cols]).converted(to: dtype)
        var raw = withExtendedLifetime(t) { Array(t.contiguousBytes ?? UnsafeRawBufferPointer(start: nil, count: 0)) }
        if order == .big {
            let n = dtype.itemSize
            for e in 0..<(rows * cols) { raw[(e * n)..<((e + 1) * n)].reverse() }
        }
        let storage = try TensorStorage(bytes: raw)
        return try Tensor(dtype: dtype, shape: [cols, rows], strides: [1, cols], byteOrder: order, storage: storage)
    }

    @Test(arguments: [(DType.float32, ByteOrder.little), (.float16, .little), (.float64, .big)])
    func streamedRangesAreTheRowMajorBytes(_ dtype: DType, _ order: ByteOrder) throws {
        let view = try transposed(37, 23, dtype: dtype, order: order)
        let copy = try view.contiguous()
        let want = withExtendedLifetime(copy) { Array(copy.contiguousBytes ?? UnsafeRawBufferPointer(start: nil, count: 0)) }
        #expect(want.count == view.byteCount)
        let lazy = try view.rowMajorOnDemand()
        #expect(lazy.isDeferred && lazy.isContiguousLittleEndian)
        for range in [0..<want.count, 1..<(want.count - 3), 5..<6, 100..<(want.count / 2)] {
            var got: [UInt8] = []
            try lazy.storage.stream(range) { got += $0 }
            let same = got == Array(want[range])
            #expect(same, "\(dtype) \(order) \(range)")
        }
        #expect(try lazy.loaded().floats() == view.floats())
    }

    @Test func contiguousTensorsAreThemselves() throws {
        let t = try Tensor(float32: [1, 2, 3], shape: [3])
        #expect(try t.rowMajorOnDemand().storage === t.storage)
    }
}
