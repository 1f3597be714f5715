import Testing
@testable import TensorFormats

@Suite struct TensorTests {
    @Test func viewOutsideStorageIsRefused() {
        let storage = try! TensorStorage(bytes: [UInt8](repeating: 0, count: 16))
        #expect(throws: FormatError.self) { try Tensor(dtype: .float32, shape: [5], storage: storage) }
        #expect(throws: FormatError.self) { try Tensor(dtype: .float32, shape: [2], storage: storage, byteOffset: 12) }
        #expect((try? Tensor(dtype: .float32, shape: [4], storage: storage)) != nil)
    }

    @Test func transposedViewMaterialisesInRowMajorOrder() throws {
        let t = try Tensor(float32: [0, 1, 2, 3, 4, 5], shape: [2, 3])
        let tt = try Tensor(dtype: .float32, shape: [3, 2], strides: [1, 3], storage: t.storage)
        #expect(!tt.isContiguous)
        #expect(tt.floats() == [0, 3, 1, 4, 2, 5])
    }

    @Test func bigEndianIsSwapped() throws {
        let storage = try! TensorStorage(bytes: [0x3F, 0x80, 0, 0, 0x40, 0, 0, 0])
        let t = try Tensor(dtype: .float32, shape: [2], byteOrder: .big, storage: storage)
        #expect(t.floats() == [1, 2])
    }

    @Test func halfPrecisionRoundsToNearestEven() {
        #expect(HalfPrecision.float16(from: 1.0) == 0x3C00)
        #expect(HalfPrecision.float16(from: 65504) == 0x7BFF)
        #expect(HalfPrecision.float16(from: 65520) == 0x7C00)
        #expect(HalfPrecision.float16(from: 5.960464477539063e-08) == 0x0001)
        #expect(HalfPrecision.float(fromFloat16: 0x0001) == 5.960464477539063e-08)
        // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: goes to the even (1.0).
        #expect(HalfPrecision.float16(from: 1 + Float(1) / 2048) == 0x3C00)
        #expect(HalfPrecision.bfloat16(from: 1.0) == 0x3F80)
        #expect(HalfPrecision.float(fromBFloat16: 0x3F80) == 1.0)
        for bits in stride(from: UInt16(0), to: 0x7C00, by: 7) {
            #expect(HalfPrecision.float16(from: HalfPrecision.float(fromFloat16: bits)) == bits)
        }
    }

    @Test func sizeArithmeticRefusesOverflow() {
        #expect(Checked.product([Int.max, 2]) == nil)
        #expect(Checked.product([]) == 1)
        #expect(Checked.mul(-1, 2) == nil)
    }
}
