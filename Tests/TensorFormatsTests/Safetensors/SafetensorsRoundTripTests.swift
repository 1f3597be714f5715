import Testing
@testable import TensorFormats

@Suite struct SafetensorsRoundTripTests {
    /// One tensor per dtype with distinct bytes, plus 0-d and empty tensors.
    static func sampleTensors() throws -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (i, dtype) in DType.allCases.enumerated() {
            let n = 6
            let bytes = (0..<(n * dtype.itemSize)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ i &* 11 &+ 1) }
            let storage = try! TensorStorage(bytes: dtype == .bool ? bytes.map { $0 & 1 } : bytes)
            out.append(NamedTensor(name: "t.\(dtype.name)", tensor: try Tensor(dtype: dtype, shape: [2, 3], storage: storage)))
        }
        out.append(NamedTensor(name: "scalar", tensor: try Tensor(float64: [3.5], shape: [])))
        out.append(NamedTensor(name: "empty", tensor: try Tensor(float32: [], shape: [2, 0])))
        out.append(NamedTensor(name: "empty1", tensor: try Tensor(float32: [], shape: [0])))
        out.append(NamedTensor(name: "flag", tensor: Tensor(bool: true)))
        return out
    }

    static let metadata: [(key: String, value: String)] = [
        ("format", "pt"), ("quote\"back\\slash", "line\nbreak\ttab\u{01}"), ("unicode", "é ✓ 𝄞"),
    ]

    func writeFile(_ scratch: SafetensorsScratch, _ name: String, _ tensors: [NamedTensor],
                   metadata: [(key: String, value: String)] = []) throws -> String {
        let out = try OutputFile(path: scratch.path(name), overwrite: false)
        try SafetensorsWriter.write(tensors, metadata: metadata, to: out)
        try out.commit()
        return scratch.path(name)
    }

    @Test func everyDTypeScalarAndEmptyTensorsRoundTrip() throws {
        let scratch = SafetensorsScratch()
        let tensors = try Self.sampleTensors()
        let path = try writeFile(scratch, "all.safetensors", tensors, metadata: Self.metadata)
        let file = try SafetensorsReader.read(path: path)
        #expect(file.format == .safetensors)
        #expect(file.tensors.count == tensors.count)
        for t in tensors {
            let back = try #require(file[t.name], "missing \(t.name)")
            #expect(back.dtype == t.tensor.dtype, "\(t.name)")
            #expect(back.shape == t.tensor.shape, "\(t.name)")
            #expect(back.leBytes == t.tensor.leBytes, "\(t.name)")
            #expect(back.storage.isMapped, "\(t.name) is not a zero-copy view")
        }
        #expect(file.metadata.map(\.key) == Self.metadata.map(\.key))
        #expect(file.metadata.map(\.value) == Self.metadata.map(\.value))
    }

    @Test func orderIsDTypeDescendingThenNameAndDataIsAligned() throws {
        let scratch = SafetensorsScratch()
        let path = try writeFile(scratch, "o.safetensors", try Self.sampleTensors())
        let file = try SafetensorsReader.read(path: path)
        let names = file.tensors.map(\.name)
        #expect(names == ["t.uint64", "t.int64", "scalar", "t.float64", "empty", "empty1", "t.float32", "t.uint32", "t.int32",
                          "t.bfloat16", "t.float16", "t.uint16", "t.int16", "t.int8", "t.uint8", "flag", "t.bool"])
        let bytes = scratch.bytes("o.safetensors")
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(n % 8 == 0)
        for t in file.tensors where t.tensor.elementCount > 0 {
            let address = Int(bitPattern: t.tensor.storage.bytes.baseAddress)
            #expect(address % t.tensor.dtype.itemSize == 0, "\(t.name) unaligned")
        }
    }

    /// Bytes produced by `safetensors.numpy.save` 0.8.0 for the same input (see the reference note).
    @Test func bytesEqualTheReferenceImplementation() throws {
        let scratch = SafetensorsScratch()
        let a = try writeFile(scratch, "a.safetensors", [
            NamedTensor(name: "w", tensor: try Tensor(float32: [1, 2], shape: [2])),
            NamedTensor(name: "b", tensor: try Tensor(dtype: .uint8, shape: [1], storage: try! TensorStorage(bytes: [1]))),
        ], metadata: [("format", "np")])
        let header = #"{"__metadata__":{"format":"np"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[1],"data_offsets":[8,9]}}       "#
        #expect(scratch.bytes("a.safetensors") == safetensorsBytes(header, data: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 1]))
        _ = a

        _ = try writeFile(scratch, "b.safetensors", [
            NamedTensor(name: "s", tensor: try Tensor(float64: [3.5], shape: [])),
            NamedTensor(name: "e", tensor: try Tensor(dtype: .int16, shape: [2, 0], storage: try! TensorStorage(bytes: []))),
            NamedTensor(name: "\"q\\\n\u{01}é", tensor: try Tensor(dtype: .bool, shape: [1], storage: try! TensorStorage(bytes: [1]))),
        ])
        let header2 = #"{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"e":{"dtype":"I16","shape":[2,0],"data_offsets":[8,8]},"\"q\\\n\u0001é":{"dtype":"BOOL","shape":[1],"data_offsets":[8,9]}}"#
        #expect(scratch.bytes("b.safetensors") == safetensorsBytes(header2, data: [0, 0, 0, 0, 0, 0, 0x0C, 0x40, 1]))
    }

    @Test func outputIsDeterministic() throws {
        let scratch = SafetensorsScratch()
        let tensors = try Self.sampleTensors()
        _ = try writeFile(scratch, "1.safetensors", tensors, metadata: Self.metadata)
        _ = try writeFile(scratch, "2.safetensors", tensors.reversed(), metadata: Self.metadata)
        #expect(scratch.bytes("1.safetensors") == scratch.bytes("2.safetensors"))
    }

    @Test func stridedAndBigEndianInputsAreWrittenRowMajorLittleEndian() throws {
        let scratch = SafetensorsScratch()
        let base = try Tensor(float32: [0, 1, 2, 3, 4, 5], shape: [2, 3])
        let transposed = try Tensor(dtype: .float32, shape: [3, 2], strides: [1, 3], storage: base.storage)
        let big = try Tensor(dtype: .int32, shape: [2], byteOrder: .big, storage: try! TensorStorage(bytes: [0, 0, 1, 2, 0, 0, 0, 7]))
        let path = try writeFile(scratch, "s.safetensors", [NamedTensor(name: "t", tensor: transposed), NamedTensor(name: "b", tensor: big)])
        let file = try SafetensorsReader.read(path: path)
        #expect(try #require(file["t"]).floats() == [0, 3, 1, 4, 2, 5])
        #expect(try #require(file["b"]).int64s() == [258, 7])
    }

    @Test func emptyFileHoldsOnlyBraces() throws {
        let scratch = SafetensorsScratch()
        let path = try writeFile(scratch, "e.safetensors", [])
        #expect(scratch.bytes("e.safetensors") == safetensorsBytes("{}      "))
        let file = try SafetensorsReader.read(path: path)
        #expect(file.tensors.isEmpty && file.metadata.isEmpty)
    }

    @Test func writerRefusesWhatTheFormatCannotHold() throws {
        let scratch = SafetensorsScratch()
        let t = try Tensor(float32: [1], shape: [1])
        let cases: [([NamedTensor], [(key: String, value: String)], String)] = [
            ([NamedTensor(name: "__metadata__", tensor: t)], [], "__metadata__"),
            ([NamedTensor(name: "a", tensor: t), NamedTensor(name: "a", tensor: t)], [], "share this name"),
            ([NamedTensor(name: "a", tensor: t)], [("k", "1"), ("k", "2")], "appears twice"),
        ]
        for (i, (tensors, metadata, message)) in cases.enumerated() {
            let out = try OutputFile(path: scratch.path("r\(i).safetensors"), overwrite: false)
            let error = try #require(throws: FormatError.self) {
                try SafetensorsWriter.write(tensors, metadata: metadata, to: out)
            }
            #expect(error.reason == .unsupported)
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func lazyEntriesAreLoadedInWriteOrder() throws {
        let scratch = SafetensorsScratch()
        let out = try OutputFile(path: scratch.path("lazy.safetensors"), overwrite: false)
        nonisolated(unsafe) var loaded: [String] = []
        let entries = ["b", "a"].map { name in
            TensorEntry(name: name, dtype: .float16, shape: [2]) { () throws(FormatError) in
                loaded.append(name)
                return try Tensor(float32: [1, 2], shape: [2]).converted(to: .float16)
            }
        }
        try SafetensorsWriter.write(entries: entries, metadata: [], to: out)
        try out.commit()
        #expect(loaded == ["a", "b"])
        let file = try SafetensorsReader.read(path: scratch.path("lazy.safetensors"))
        #expect(try #require(file["a"]).dtype == .float16)
        #expect(try #require(file["b"]).floats() == [1, 2])
    }
}
