import Foundation
import Testing
@testable import TensorFormats

/// An npy stream with `header` as its dict text (padded like numpy unless `pad` is false).
func npyBytes(_ header: String, data: [UInt8] = [], major: UInt8 = 1, pad: Bool = true) -> [UInt8] {
    var text = Array(header.utf8)
    let prefix = major == 1 ? 10 : 12
    if pad {
        text += [UInt8](repeating: 0x20, count: 63 - (prefix + text.count) % 64)
        text.append(0x0A)
    }
    var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, 0]
    if major == 1 {
        out += [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
    } else {
        out += (0..<4).map { UInt8(truncatingIfNeeded: text.count >> (8 * $0)) }
    }
    return out + text + data
}

func npyHeader(_ descr: String, _ shape: String, fortran: Bool = false) -> String {
    "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
}

/// Reads an npy stream from memory.
func readNpy(_ bytes: [UInt8], limits: Limits = .default) throws(FormatError) -> (tensor: Tensor, header: NpyHeader) {
    try NpyReader.tensor(in: try! TensorStorage(bytes: bytes), limits: limits)
}

/// A tensor of `dtype` and `shape` whose element i has value i (mod the type's range), as raw LE bytes.
func sampleTensor(_ dtype: DType, shape: [Int]) throws -> Tensor {
    let n = shape.reduce(1, *)
    var bytes: [UInt8] = []
    for i in 0..<n {
        let v = Double(i % 100) - (dtype.isSignedInteger || dtype.isFloatingPoint ? 30 : 0)
        switch dtype {
        case .bool: bytes.append(i % 3 == 0 ? 1 : 0)
        case .int8: bytes.append(UInt8(bitPattern: Int8(v)))
        case .uint8: bytes.append(UInt8(v))
        case .int16: withUnsafeBytes(of: Int16(v).littleEndian) { bytes += $0 }
        case .uint16: withUnsafeBytes(of: UInt16(v).littleEndian) { bytes += $0 }
        case .int32: withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 }
        case .uint32: withUnsafeBytes(of: UInt32(v).littleEndian) { bytes += $0 }
        case .int64: withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 }
        case .uint64: withUnsafeBytes(of: UInt64(v).littleEndian) { bytes += $0 }
        case .float16: withUnsafeBytes(of: HalfPrecision.float16(from: Float(v) / 4).littleEndian) { bytes += $0 }
        case .bfloat16: withUnsafeBytes(of: HalfPrecision.bfloat16(from: Float(v) / 4).littleEndian) { bytes += $0 }
        case .float32: withUnsafeBytes(of: (Float(v) / 3).bitPattern.littleEndian) { bytes += $0 }
        case .float64: withUnsafeBytes(of: (v / 3).bitPattern.littleEndian) { bytes += $0 }
        }
    }
    return try Tensor(dtype: dtype, shape: shape, storage: try! TensorStorage(bytes: bytes))
}

/// C-order little-endian bytes of a tensor.
func rawBytes(_ t: Tensor) -> [UInt8] {
    let c = try! t.contiguous()
    return withExtendedLifetime(c) { Array(c.contiguousBytes ?? UnsafeRawBufferPointer(start: nil, count: 0)) }
}

@Suite struct NpyTests {
    // MARK: Writer

    /// Expected headers are `np.lib.format.write_array` output from numpy 2.4.6.
    @Test func headersAreNumpysBytes() {
        let cases: [(DType, [Int], String)] = [
            (.float32, [3], "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"),
            (.float64, [2, 3], "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"),
            (.bool, [], "{'descr': '|b1', 'fortran_order': False, 'shape': (), }"),
            (.int64, [0], "{'descr': '<i8', 'fortran_order': False, 'shape': (0,), }"),
            (.bfloat16, [4], "{'descr': '<V2', 'fortran_order': False, 'shape': (4,), }"),
            (.uint16, [3, 0], "{'descr': '<u2', 'fortran_order': False, 'shape': (3, 0), }"),
            (.int8, [0], "{'descr': '|i1', 'fortran_order': False, 'shape': (0,), }"),
            (.float16, [2, 1, 1, 1, 1, 2], "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 1, 1, 1, 1, 2), }"),
            (.float32, [12_345_678_901, 2], "{'descr': '<f4', 'fortran_order': False, 'shape': (12345678901, 2), }"),
        ]
        for (dtype, shape, text) in cases {
            let h = NpyWriter.header(dtype: dtype, shape: shape)
            let expected = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0x76, 0] + Array(text.utf8)
                + [UInt8](repeating: 0x20, count: 118 - text.utf8.count - 1) + [0x0A]
            #expect(h == expected, "\(dtype) \(shape)")
        }
        let long = NpyWriter.header(dtype: .int32, shape: Array(1...30))
        let text = "{'descr': '<i4', 'fortran_order': False, 'shape': (" + (1...30).map(String.init).joined(separator: ", ") + "), }"
        #expect(long.count == 256 && long[8] == 0xF6 && long[9] == 0)
        #expect(Array(long[10..<(10 + text.utf8.count)]) == Array(text.utf8))
        #expect(long[(10 + text.utf8.count)..<255].allSatisfy { $0 == 0x20 } && long[255] == 0x0A)
    }

    @Test(arguments: DType.allCases)
    func everyDTypeRoundTripsThroughAFile(dtype: DType) throws {
        for shape in [[2, 3], [], [0], [3, 0, 2], [5]] {
            let t = try sampleTensor(dtype, shape: shape)
            let path = Scratch.file("w_\(dtype).npy")
            let out = try OutputFile(path: path, overwrite: false)
            try NpyWriter.write(t, to: out)
            try out.commit()
            let file = try NpyReader.read(file: MappedFile(path: path))
            #expect(file.format == .npy)
            #expect(file.tensors.map(\.name) == ["w_\(dtype)"])
            let back = file.tensors[0].tensor
            #expect(back.dtype == dtype && back.shape == shape)
            #expect(back.storage.isMapped)
            #expect(rawBytes(back) == rawBytes(t))
            #expect(file.notes.isEmpty == (dtype != .bfloat16))
        }
    }

    @Test func nonContiguousAndBigEndianTensorsAreWrittenInCOrder() throws {
        let t = try Tensor(float32: [0, 1, 2, 3, 4, 5], shape: [2, 3])
        let transposed = try Tensor(dtype: .float32, shape: [3, 2], strides: [1, 3], storage: t.storage)
        let big = try Tensor(dtype: .int16, shape: [2], byteOrder: .big, storage: try! TensorStorage(bytes: [0x01, 0x02, 0xFF, 0xFE]))
        for (tensor, values) in [(transposed, [0.0, 3, 1, 4, 2, 5]), (big, [258, -2])] {
            let path = Scratch.file("t.npy")
            let out = try OutputFile(path: path, overwrite: false)
            try NpyWriter.write(tensor, to: out)
            try out.commit()
            let back = try NpyReader.read(file: MappedFile(path: path)).tensors[0].tensor
            #expect(back.doubles() == values)
            #expect(back.byteOrder == .little)
        }
    }

    // MARK: Reader

    @Test func bigEndianDataIsSwapped() throws {
        let f4 = try readNpy(npyBytes(npyHeader(">f4", "(2,)"), data: [0x3F, 0x80, 0, 0, 0xC0, 0, 0, 0])).tensor
        #expect(f4.byteOrder == .big && f4.floats() == [1, -2])
        let i8 = try readNpy(npyBytes(npyHeader(">i8", "(1,)"), data: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE])).tensor
        #expect(i8.int64s() == [-2])
        let u2 = try readNpy(npyBytes(npyHeader(">u2", "()"), data: [0x12, 0x34])).tensor
        #expect(u2.int64s() == [0x1234] && u2.shape == [])
        let f2 = try readNpy(npyBytes(npyHeader(">f2", "(1,)"), data: [0x3C, 0x00])).tensor
        #expect(f2.floats() == [1])
        let f8 = try readNpy(npyBytes(npyHeader(">f8", "(1,)"), data: [0x40, 0x04, 0, 0, 0, 0, 0, 0])).tensor
        #expect(f8.doubles() == [2.5])
    }

    @Test func everyByteOrderSpellingReads() throws {
        let one: [UInt8] = [0, 0, 0x80, 0x3F]
        for descr in ["<f4", "=f4", "|f4", "f4", "float32"] {
            let (t, h) = try readNpy(npyBytes(npyHeader(descr, "(1,)"), data: one))
            #expect(t.dtype == .float32 && t.byteOrder == .little && t.floats() == [1], "\(descr)")
            #expect(h.descr == descr)
        }
        for (descr, dtype) in [("|b1", DType.bool), ("?", .bool), ("|i1", .int8), ("<u1", .uint8), ("|u1", .uint8),
                               (">i1", .int8), ("<i2", .int16), ("<i4", .int32), ("<u4", .uint32), ("<u8", .uint64), ("uint16", .uint16)] {
            let t = try readNpy(npyBytes(npyHeader(descr, "(1,)"), data: [UInt8](repeating: 1, count: dtype.itemSize))).tensor
            #expect(t.dtype == dtype, "\(descr)")
        }
    }

    @Test func fortranOrderReadsBackInCOrder() throws {
        // numpy: np.asfortranarray(np.arange(6).reshape(2, 3)) stores 0 3 1 4 2 5.
        let data = [0, 3, 1, 4, 2, 5].flatMap { v in withUnsafeBytes(of: Int32(v).littleEndian) { Array($0) } }
        let (t, h) = try readNpy(npyBytes(npyHeader("<i4", "(2, 3)", fortran: true), data: data))
        #expect(h.fortranOrder && t.shape == [2, 3] && t.strides == [1, 2])
        #expect(t.int64s() == [0, 1, 2, 3, 4, 5])
        let cube = (0..<24).map { Float($0) }
        let bytes = cube.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        let t3 = try readNpy(npyBytes(npyHeader("<f4", "(2, 3, 4)", fortran: true), data: bytes)).tensor
        // Element (i, j, k) sits at i + 2·(j + 3·k).
        #expect(t3.floats()[1 * 12 + 2 * 4 + 3] == Float(1 + 2 * (2 + 3 * 3)))
    }

    @Test func zeroDimensionalAndEmptyArrays() throws {
        let scalar = try readNpy(npyBytes(npyHeader("<f8", "()"), data: [0, 0, 0, 0, 0, 0, 0x04, 0x40])).tensor
        #expect(scalar.shape == [] && scalar.doubles() == [2.5])
        for shape in ["(0,)", "(3, 0)", "(0, 0, 5)"] {
            let t = try readNpy(npyBytes(npyHeader("<f4", shape))).tensor
            #expect(t.elementCount == 0)
        }
    }

    @Test func bfloat16FromVoidIsNoted() throws {
        let (t, h) = try readNpy(npyBytes(npyHeader("<V2", "(2,)"), data: [0x80, 0x3F, 0x00, 0xC0]))
        #expect(t.dtype == .bfloat16 && h.bfloat16FromVoid && t.floats() == [1, -2])
        let path = Scratch.write(npyBytes(npyHeader("|V2", "(1,)"), data: [0x80, 0x3F]), name: "bf.npy")
        let file = try NpyReader.read(file: MappedFile(path: path))
        #expect(file.notes == ["'bf': descr 'V2' read as bfloat16 (how ml_dtypes saves bfloat16 for numpy)"])
    }

    @Test func headerLiteralVariantsThatNumpyAccepts() throws {
        let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]
        let variants = [
            #"{"descr": "<f4", "fortran_order": False, "shape": (2,)}"#,
            "{'shape': (2,), 'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }",
            "{'descr':'<f4','fortran_order':False,'shape':(2,)}",
            "{\n\t'descr' : u'<f4' ,\r\n 'fortran_order' : False , 'shape' : ( 2 , ) , }",
            "{'descr': U\"<f4\", 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '\\x3cf4', 'fortran_order': False, 'shape': (+2,)}",
            "{'descr': '<f' '4', 'fortran_order': False, 'shape': (2,)}".replacingOccurrences(of: "' '", with: ""),
        ]
        for header in variants {
            let t = try readNpy(npyBytes(header, data: data)).tensor
            #expect(t.floats() == [1, 2], "\(header)")
        }
        // No padding at all, and a version 2.0 / 3.0 preamble.
        #expect(try readNpy(npyBytes(npyHeader("<f4", "(2,)"), data: data, pad: false)).tensor.floats() == [1, 2])
        #expect(try readNpy(npyBytes(npyHeader("<f4", "(2,)"), data: data, major: 2)).header.dataOffset % 64 == 0)
        #expect(try readNpy(npyBytes(npyHeader("<f4", "(2,)"), data: data, major: 3)).tensor.floats() == [1, 2])
        // Trailing bytes after the data are ignored, as numpy does.
        #expect(try readNpy(npyBytes(npyHeader("<f4", "(2,)"), data: data + [9, 9, 9])).tensor.floats() == [1, 2])
    }

    // MARK: Errors

    private func expectFailure(_ bytes: [UInt8], _ reason: FormatError.Reason, _ text: String, offset: Int? = nil,
                               limits: Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = formatError({ _ = try readNpy(bytes, limits: limits) }) else {
            Issue.record("no FormatError", sourceLocation: sourceLocation)
            return
        }
        #expect(e.reason == reason, "\(e)", sourceLocation: sourceLocation)
        #expect(e.message.contains(text), "\(e)", sourceLocation: sourceLocation)
        if let offset { #expect(e.offset == offset, "\(e)", sourceLocation: sourceLocation) }
    }

    @Test func badPreambleIsRefused() {
        let good = npyBytes(npyHeader("<f4", "(1,)"), data: [0, 0, 0, 0])
        var magic = good
        magic[1] = 0x4F
        expectFailure(magic, .corrupt, "no \\x93NUMPY magic", offset: 0)
        var version = good
        version[6] = 4
        expectFailure(version, .unsupported, "npy format version 4.0 is not supported", offset: 6)
        var minor = good
        minor[7] = 1
        expectFailure(minor, .unsupported, "version 1.1")
        expectFailure(Array(good.prefix(8)), .truncated, "ends inside its preamble")
        expectFailure(Array(good.prefix(60)), .truncated, "runs past the end")
    }

    /// libFuzzer finding: a `u` ending the header was taken for a `u'…'` prefix and the parser read
    /// past the header (Fixtures/malformed/npy_header_ends_in_u.npy).
    @Test func bareUIsANameNotAStringPrefix() {
        for (header, word) in [("{'descr': u", "'u'"), ("{'descr': U", "'U'"), ("{'descr': u, 'shape': (2,)}", "'u'"),
                               ("{'descr': ux'<f4'}", "'ux'")] {
            expectFailure(npyBytes(header, pad: false), .corrupt, "\(word) is not a literal", offset: 10 + 10)
        }
    }

    @Test func oversizedHeaderIsRefusedBeforeReading() {
        var huge: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0]
        huge += [0x20, 0x4E, 0, 0]  // 20000
        huge += [UInt8](repeating: 0x20, count: 100)
        expectFailure(huge, .limitExceeded, "npy header of 20000 bytes is over the limit of 10000", offset: 8)
        var limits = Limits()
        limits.npyHeaderBytes = 100
        expectFailure(npyBytes(npyHeader("<f4", "(1,)"), data: [0, 0, 0, 0]), .limitExceeded, "over the limit of 100", limits: limits)
    }

    @Test func wrongKeysAndValuesAreRefused() {
        let d: [UInt8] = [0, 0, 0, 0]
        expectFailure(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", data: d), .corrupt, "has unexpected 'extra'")
        expectFailure(npyBytes("{'descr': '<f4', 'shape': (1,)}", data: d), .corrupt, "lacks 'fortran_order'")
        expectFailure(npyBytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", data: d), .corrupt, "repeats the key 'descr'")
        expectFailure(npyBytes(npyHeader("<f4", "[1]"), data: d), .corrupt, "'shape' must be a tuple of integers, found [1]")
        expectFailure(npyBytes(npyHeader("<f4", "(1)"), data: d), .corrupt, "'shape' must be a tuple of integers, found 1")
        expectFailure(npyBytes(npyHeader("<f4", "(1, 'a')"), data: d), .corrupt, "'shape' must be a tuple")
        expectFailure(npyBytes(npyHeader("<f4", "(-1,)"), data: d), .corrupt, "negative dimension")
        expectFailure(npyBytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", data: d), .corrupt, "'fortran_order' must be True or False, found 0")
        expectFailure(npyBytes("{'descr': 4, 'fortran_order': False, 'shape': (1,)}", data: d), .corrupt, "'descr' must be a string")
        expectFailure(npyBytes("['descr', '<f4']", data: d), .corrupt, "is not a dict")
        expectFailure(npyBytes("{1: '<f4'}", data: d), .corrupt, "key that is not a string")
        expectFailure(npyBytes(npyHeader("<f4", "(9223372036854775807, 2)"), data: d), .limitExceeded, "too large to address")
        expectFailure(npyBytes(npyHeader("<f4", "(99999999999999999999,)"), data: d), .limitExceeded, "integer too large")
        expectFailure(npyBytes(npyHeader("<f4", "(" + String(repeating: "1, ", count: 33) + ")")), .limitExceeded, "rank 33")
    }

    @Test func unsupportedDTypesAreRefusedByName() {
        let d = [UInt8](repeating: 0, count: 64)
        expectFailure(npyBytes(npyHeader("|O", "(1,)"), data: d), .unsupported, "object arrays are not supported (pickled data)")
        expectFailure(npyBytes(npyHeader("<c8", "(1,)"), data: d), .unsupported, "dtype '<c8' (complex numbers) is not supported")
        expectFailure(npyBytes(npyHeader("<U5", "(1,)"), data: d), .unsupported, "dtype '<U5' (strings)")
        expectFailure(npyBytes(npyHeader("|S3", "(1,)"), data: d), .unsupported, "(strings)")
        expectFailure(npyBytes(npyHeader("<M8[ns]", "(1,)"), data: d), .unsupported, "(datetimes)")
        expectFailure(npyBytes(npyHeader("<f16", "(1,)"), data: d), .unsupported, "long double")
        expectFailure(npyBytes(npyHeader("|V4", "(1,)"), data: d), .unsupported, "raw void")
        expectFailure(npyBytes(npyHeader("<f1", "(1,)"), data: d), .unsupported, "float8_e5m2")
        expectFailure(npyBytes(npyHeader("<i3", "(1,)"), data: d), .unsupported, "dtype '<i3' is not supported")
        expectFailure(npyBytes("{'descr': [('x', '<f4'), ('y', '<i2')], 'fortran_order': False, 'shape': (1,)}", data: d),
                      .unsupported, "structured dtypes")
    }

    @Test func shapeClaimingMoreDataThanExistsIsTruncated() {
        let bytes = npyBytes(npyHeader("<f4", "(2, 3)"), data: [UInt8](repeating: 0, count: 20))
        expectFailure(bytes, .truncated, "truncated array data: shape (2, 3) '<f4' needs 24 bytes from byte 128, but only 20 follow", offset: 148)
    }

    @Test func badLiteralsAreRefusedWithTheirOffset() {
        let d: [UInt8] = [0, 0, 0, 0]
        expectFailure(npyBytes("{'descr': '<f4', 'fortran_order': Fals, 'shape': (1,)}", data: d), .corrupt, "'Fals' is not a literal", offset: 10 + 34)
        expectFailure(npyBytes("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", data: d), .corrupt, "not a valid Python literal")
        expectFailure(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", data: d), .corrupt, "unexpected character 'x' after the header dict")
        expectFailure(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", data: d), .corrupt, "'{' at byte 0 is never closed", offset: 10)
        expectFailure(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", data: d), .corrupt, "only decimal integers")
        expectFailure(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (01,)}", data: d), .corrupt, "leading zeros")
        expectFailure(npyBytes("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", data: d), .corrupt, "expected ',' or '}'")
        expectFailure(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2L,)}", data: d, major: 3), .corrupt, "not a valid Python literal")
        expectFailure(npyBytes(String(repeating: "(", count: 70), data: d), .corrupt, "nested more than 64 levels")
        expectFailure(npyBytes("", data: d), .corrupt, "ends where a value was expected")
    }
}
