import Foundation
import Testing
@testable import TensorFormats

@Suite struct NpzTests {
    /// `np.savez('s.npz', a=np.arange(6, dtype=np.float32).reshape(2, 3), b=np.array([1, -2], dtype='>i8'), c=np.float64(2.5))`
    /// from numpy 2.4.6 (zip64 local headers with 0xFFFFFFFF sizes, as numpy always writes).
    static let savez = """
    UEsDBC0AAAAAAAAAIQBP6QAq//////////8FABQAYS5ucHkBABAAmAAAAAAAAACYAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCAzKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAAAAAAAgD8AAABAAABAQAAAgEAAAKBAUEsDBC0AAAAAAAAAIQAHV2qU//////////8FABQAYi5ucHkBABAAkAAAAAAAAACQAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJz5pOCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAAAAAAAAAH//////////lBLAwQtAAAAAAAAACEANbQ6k///////////BQAUAGMubnB5AQAQAIgAAAAAAAAAiAAAAAAAAACTTlVNUFkBAHYAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgCgAAAAAAAARAUEsBAi0DLQAAAAAAAAAhAE/pACqYAAAAmAAAAAUAAAAAAAAAAAAAAIABAAAAAGEubnB5UEsBAi0DLQAAAAAAAAAhAAdXapSQAAAAkAAAAAUAAAAAAAAAAAAAAIABzwAAAGIubnB5UEsBAi0DLQAAAAAAAAAhADW0OpOIAAAAiAAAAAUAAAAAAAAAAAAAAIABlgEAAGMubnB5UEsFBgAAAAADAAMAmQAAAFUCAAAAAA==
    """
    /// `np.savez_compressed('c.npz', a=<as above>, f=np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)))`.
    static let savezCompressed = """
    UEsDBC0AAAAIAAAAIQBP6QAq//////////8FABQAYS5ucHkBABAAmAAAAAAAAABVAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6CsaaOgq1CmQDLgYwaLAHEg5ABMQNQLzAAQBQSwMELQAAAAgAAAAhAGjGGA///////////wUAFABmLm5weQEAEACMAAAAAAAAAFEAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNppK6joJ6WX1RSlJgXn1+UkgoSDykqTQUKF2ckFqQCuRpGOgrGmjoKtQrkAy4GBmYGRgYWBiYGVgYAUEsBAi0DLQAAAAgAAAAhAE/pACpVAAAAmAAAAAUAAAAAAAAAAAAAAIABAAAAAGEubnB5UEsBAi0DLQAAAAgAAAAhAGjGGA9RAAAAjAAAAAUAAAAAAAAAAAAAAIABjAAAAGYubnB5UEsFBgAAAAACAAIAZgAAABQBAAAAAA==
    """

    static func decoded(_ base64: String) -> [UInt8] { [UInt8](Data(base64: base64) ?? Data()) }

    static func npz(_ bytes: [UInt8], limits: Limits = .default) throws(FormatError) -> TensorFile {
        try NpzReader.read(file: Scratch.map(bytes, name: "t.npz"), limits: limits)
    }

    @Test func readsNumpySavez() throws {
        let file = try NpzTests.npz(NpzTests.decoded(NpzTests.savez))
        #expect(file.format == .npz)
        #expect(file.tensors.map(\.name) == ["a", "b", "c"])
        let a = try #require(file["a"]), b = try #require(file["b"]), c = try #require(file["c"])
        #expect(a.dtype == .float32 && a.shape == [2, 3] && a.floats() == [0, 1, 2, 3, 4, 5])
        #expect(a.storage.isMapped)
        #expect(b.dtype == .int64 && b.byteOrder == .big && b.int64s() == [1, -2])
        #expect(c.dtype == .float64 && c.shape == [] && c.doubles() == [2.5])
        #expect(file.notes.isEmpty)
    }

    @Test func readsNumpySavezCompressed() throws {
        let file = try NpzTests.npz(NpzTests.decoded(NpzTests.savezCompressed))
        #expect(file.tensors.map(\.name) == ["a", "f"])
        #expect(try #require(file["a"]).floats() == [0, 1, 2, 3, 4, 5])
        let f = try #require(file["f"])
        #expect(f.dtype == .int16 && f.shape == [2, 3] && f.int64s() == [0, 1, 2, 3, 4, 5])
        #expect(!f.storage.isMapped)
    }

    static func write(_ tensors: [NamedTensor], compress: Bool, alignment: Int = 64) throws -> String {
        let path = Scratch.file("out.npz")
        let out = try OutputFile(path: path, overwrite: false)
        try NpzWriter.write(tensors, to: out, compress: compress, alignment: alignment)
        try out.commit()
        return path
    }

    static func everyDType() throws -> [NamedTensor] {
        var tensors: [NamedTensor] = []
        for (i, dtype) in DType.allCases.enumerated() {
            let shape = [[2, 3], [7], [], [0], [3, 1, 2]][i % 5]
            tensors.append(NamedTensor(name: "t_\(dtype)", tensor: try sampleTensor(dtype, shape: shape)))
        }
        let base = try Tensor(float32: (0..<12).map(Float.init), shape: [3, 4])
        tensors.append(NamedTensor(name: "lstm/weight_hh_l0_reverse.T", tensor: try Tensor(dtype: .float32, shape: [4, 3], strides: [1, 4], storage: base.storage)))
        tensors.append(NamedTensor(name: "big_endian", tensor: try Tensor(dtype: .int32, shape: [2], byteOrder: .big,
                                                                         storage: try! TensorStorage(bytes: [0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE]))))
        return tensors
    }

    @Test(arguments: [false, true])
    func writeThenReadGivesTheSameTensors(compress: Bool) throws {
        let tensors = try NpzTests.everyDType()
        let path = try NpzTests.write(tensors, compress: compress)
        let file = try NpzReader.read(file: MappedFile(path: path))
        #expect(file.tensors.map(\.name) == tensors.map(\.name))
        for (written, read) in zip(tensors, file.tensors) {
            #expect(read.tensor.dtype == written.tensor.dtype && read.tensor.shape == written.tensor.shape, "\(written.name)")
            #expect(rawBytes(read.tensor) == rawBytes(written.tensor), "\(written.name)")
            #expect(read.tensor.storage.isMapped == !compress)
        }
        #expect(file.notes == ["'t_bfloat16': descr 'V2' read as bfloat16 (how ml_dtypes saves bfloat16 for numpy)"])
        #expect(try #require(file["big_endian"]).int64s() == [258, -2])
        let archive = try ZipArchive(file: MappedFile(path: path))
        #expect(archive.entries.allSatisfy { $0.method == (compress ? .deflated : .stored) })
    }

    @Test func storedPayloadsAreAlignedTo64() throws {
        let path = try NpzTests.write(try NpzTests.everyDType(), compress: false)
        let file = try NpzReader.read(file: MappedFile(path: path))
        let start = try MappedFile(path: path).bytes.baseAddress.map { Int(bitPattern: $0) } ?? 0
        for t in file.tensors {
            let base = t.tensor.storage.bytes.baseAddress.map { Int(bitPattern: $0) } ?? 0
            #expect(t.tensor.elementCount == 0 || (base - start) % 64 == 0, "\(t.name)")
            #expect(t.tensor.elementCount == 0 || base % 64 == 0, "\(t.name) in memory")
        }
        let unaligned = try NpzTests.write(try NpzTests.everyDType(), compress: false, alignment: 0)
        let archive = try ZipArchive(file: MappedFile(path: unaligned))
        #expect(archive.entries.contains { $0.dataOffset % 64 != 0 })
    }

    @Test func writerIsDeterministic() throws {
        let tensors = try NpzTests.everyDType()
        for compress in [false, true] {
            #expect(Scratch.read(try NpzTests.write(tensors, compress: compress)) == Scratch.read(try NpzTests.write(tensors, compress: compress)))
        }
    }

    @Test func duplicateTensorNamesAreRefused() throws {
        let t = try Tensor(float32: [1], shape: [1])
        let e = formatError { _ = try NpzTests.write([NamedTensor(name: "x", tensor: t), NamedTensor(name: "x", tensor: t)], compress: false) }
        #expect(e?.message.contains("two tensors are named 'x'") == true)
    }

    @Test func nonNpyMembersAreSkippedWithANote() throws {
        let bytes = try Scratch.zip { w in
            try w.add(name: "w.npy", data: npyBytes(npyHeader("<f4", "(1,)"), data: [0, 0, 0x80, 0x3F]))
            try w.add(name: "meta.json", data: [UInt8](ascii: "{}"))
        }
        let file = try NpzTests.npz(bytes)
        #expect(file.tensors.map(\.name) == ["w"])
        #expect(file.notes == ["member 'meta.json' is not an .npy array and was skipped"])
    }

    @Test func memberErrorsNameTheMemberAndFileOffset() throws {
        var dataOffset = 0
        let bytes = try Scratch.zip { w in
            try w.add(name: "ok.npy", data: npyBytes(npyHeader("<f4", "(1,)"), data: [0, 0, 0x80, 0x3F]))
            try w.add(name: "short.npy", data: npyBytes(npyHeader("<f4", "(2, 3)"), data: [UInt8](repeating: 0, count: 20)))
        }
        dataOffset = try Scratch.archive(bytes).entries[1].dataOffset
        let e = try #require(formatError { _ = try NpzTests.npz(bytes) })
        #expect(e.reason == .truncated && e.entry == "short.npy" && e.file.hasSuffix("t.npz"))
        #expect(e.offset == dataOffset + 148)
        #expect(e.description.contains("t.npz: 'short.npy' at byte \(dataOffset + 148): truncated array data: shape (2, 3) '<f4' needs 24 bytes"))

        let objects = try Scratch.zip(alignment: 64) { w in
            try w.add(name: "o.npy", data: npyBytes(npyHeader("|O", "(1,)"), data: [0x80, 0x02, 0x2E]), method: .deflated)
        }
        let o = try #require(formatError { _ = try NpzTests.npz(objects) })
        #expect(o.reason == .unsupported && o.entry == "o.npy" && o.message == "object arrays are not supported (pickled data)")
        #expect(o.offset == 10)
    }

    @Test func emptyNpzHasNoTensors() throws {
        let file = try NpzTests.npz(try Scratch.zip { _ in })
        #expect(file.tensors.isEmpty)
    }
}

@Suite struct TensorFileIOTests {
    @Test func npyIsNamedAfterTheFile() throws {
        let path = Scratch.write(npyBytes(npyHeader("<f4", "(1,)"), data: [0, 0, 0x80, 0x3F]), name: "weight_ih_l0.npy")
        #expect(try TensorFileIO.detect(path: path) == .npy)
        let file = try TensorFileIO.read(path: path)
        #expect(file.format == .npy && file.tensors.map(\.name) == ["weight_ih_l0"])
        let noExtension = Scratch.write(npyBytes(npyHeader("<f4", "(1,)"), data: [0, 0, 0x80, 0x3F]), name: "w")
        #expect(try TensorFileIO.read(path: noExtension).tensors.map(\.name) == ["w"])
        #expect(NpyReader.fileStem("a/b.c/x.y.npy") == "x.y" && NpyReader.fileStem(".hidden") == ".hidden")
    }

    @Test func zipArchivesAreToldApartByMemberNames() throws {
        let npz = Scratch.write(NpzTests.decoded(NpzTests.savez), name: "x.pt")
        #expect(try TensorFileIO.detect(path: npz) == .npz)
        #expect(try TensorFileIO.read(path: npz).tensors.count == 3)
        let torch = Scratch.write([UInt8](Data(base64: ZipTests.torchSaveFile) ?? Data()), name: "ckpt.npz")
        #expect(try TensorFileIO.detect(path: torch) == .pytorch)
        let script = Scratch.write(try Scratch.zip { w in
            try w.add(name: "m/data.pkl", data: [0x80, 0x02, 0x2E])
            try w.add(name: "m/constants.pkl", data: [0x80, 0x02, 0x2E])
        })
        #expect(try TensorFileIO.detect(path: script) == .torchscript)
        let other = Scratch.write(try Scratch.zip { w in try w.add(name: "readme.txt", data: [0x41]) }, name: "r.zip")
        let e = try #require(formatError { _ = try TensorFileIO.read(path: other) })
        #expect(e.reason == .unsupported && e.file == other && e.message.contains("neither .npy arrays nor a PyTorch data.pkl"))
        #expect(try TensorFileIO.detect(path: Scratch.write(try Scratch.zip { _ in })) == .npz)
    }

    @Test func otherFormatsAreRecognisedAndReadByTheirReaders() throws {
        let torch = Scratch.write([UInt8](Data(base64: ZipTests.torchSaveFile) ?? Data()), name: "ckpt.pt")
        let file = try TensorFileIO.read(path: torch)
        #expect(file.format == .pytorch && !file.tensors.isEmpty)
        let legacy = Scratch.write([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46])
        #expect(try TensorFileIO.detect(path: legacy) == .pytorchLegacy)
        var safetensors: [UInt8] = [4, 0, 0, 0, 0, 0, 0, 0]
        safetensors += [UInt8](ascii: "{}  ")
        #expect(try TensorFileIO.detect(path: Scratch.write(safetensors)) == .safetensors)
        #expect(try TensorFileIO.detect(path: Scratch.write([0x08, 0x07, 0x12, 0x00])) == .onnx)
    }

    @Test func safetensorsAreReadThroughTheirReader() throws {
        let path = Scratch.file("w.safetensors")
        let out = try OutputFile(path: path, overwrite: false)
        try SafetensorsWriter.write([NamedTensor(name: "w", tensor: Tensor(float32: [1, 2], shape: [2]))], metadata: [], to: out)
        try out.commit()
        let file = try TensorFileIO.read(path: path)
        #expect(file.format == .safetensors && file.tensors.map(\.name) == ["w"] && file["w"]?.floats() == [1, 2])
    }

    @Test func unknownContentIsRefusedWithItsFirstBytes() throws {
        let path = Scratch.write([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01])
        let e = try #require(formatError { _ = try TensorFileIO.read(path: path) })
        #expect(e.reason == .unsupported && e.file == path)
        #expect(e.message == "not a recognised tensor file (first bytes: 7f 45 4c 46)")
        let empty = Scratch.write([])
        #expect(formatError { _ = try TensorFileIO.detect(path: empty) }?.message.contains("empty file") == true)
        let missing = Scratch.folder() + "/nope.npz"
        #expect(formatError { _ = try TensorFileIO.read(path: missing) }?.reason == .unreadable)
    }

    @Test func malformedNpzNamesFileMemberAndOffset() throws {
        var bytes = try Scratch.zip { w in try w.add(name: "w.npy", data: npyBytes(npyHeader("<f4", "(1,)"), data: [0, 0, 0x80, 0x3F])) }
        let archive = try Scratch.archive(bytes)
        bytes[archive.entries[0].dataOffset + 130] ^= 0xFF
        let path = Scratch.write(bytes, name: "bad.npz")
        let e = try #require(formatError { _ = try TensorFileIO.read(path: path) })
        #expect(e.reason == .corrupt && e.file == path && e.entry == "w.npy" && e.offset == archive.entries[0].dataOffset)
        #expect(e.message.contains("CRC-32 mismatch"))
    }
}
