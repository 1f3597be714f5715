import Foundation
import Testing
@testable import TensorFormats

/// The writer: byte equality with `torch.save` 2.15, round trips through the reader, determinism.
@Suite struct PyTorchWriterTests {
    private func written(_ tensors: [NamedTensor], archiveName: String) throws -> [UInt8] {
        let path = Scratch.file(archiveName + ".pt")
        let out = try OutputFile(path: path, overwrite: false)
        try PyTorchWriter.write(tensors, to: out, archiveName: archiveName)
        try out.commit()
        return Scratch.read(path)
    }

    @Test func freshTensorsGiveTorchSaveBytes() throws {
        // torch.save(OrderedDict(a=arange(6.).reshape(2,3), b=tensor([1,-2,3]), c=tensor(2.5, float64)))
        let tensors = [
            NamedTensor(name: "a", tensor: try Tensor(float32: [0, 1, 2, 3, 4, 5], shape: [2, 3])),
            NamedTensor(name: "b", tensor: try Tensor(int64: [1, -2, 3], shape: [3])),
            NamedTensor(name: "c", tensor: try Tensor(float64: [2.5], shape: [])),
        ]
        let ours = try written(tensors, archiveName: "writer_fresh")
        let torch = Scratch.read(PyTorchUnitFixture.path("writer_fresh"))
        #expect(ours.count == torch.count)
        #expect(ours == torch)
    }

    @Test func rewritingATorchFileReproducesItExactly() throws {
        // 41 tensors in 40 storages: shared storage + transpose, every dtype torch.save writes (uint16/32/64 via
        // _rebuild_tensor_v3), 0-d, empty, rank 5, 300 elements, more than 256 memo entries.
        let file = try PyTorchUnitFixture.read("writer_reference")
        let ours = try written(file.tensors, archiveName: "writer_reference")
        let torch = Scratch.read(PyTorchUnitFixture.path("writer_reference"))
        #expect(ours.count == torch.count)
        if ours != torch {
            let first = zip(ours, torch).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            Issue.record("first difference at byte \(first.map(String.init) ?? "end")")
        }
    }

    @Test func roundTripKeepsEveryTensor() throws {
        for name in ["views", "big_endian", "legacy", "checkpoint", "whole_model"] {
            let source = try PyTorchUnitFixture.read(name)
            let path = Scratch.file("rt.pt")
            let out = try OutputFile(path: path, overwrite: false)
            try PyTorchWriter.write(source.tensors, to: out, archiveName: "rt")
            try out.commit()
            let back = try PyTorchReader.read(file: MappedFile(path: path))
            #expect(back.format == .pytorch)
            #expect(back.tensors.map(\.name) == source.tensors.map(\.name), "\(name)")
            for (a, b) in zip(source.tensors, back.tensors) {
                #expect(a.tensor.dtype == b.tensor.dtype && a.tensor.shape == b.tensor.shape, "\(name): \(a.name)")
                let x = try a.tensor.contiguous(), y = try b.tensor.contiguous()
                #expect(x.contiguousBytes.map(Array.init) == y.contiguousBytes.map(Array.init), "\(name): \(a.name)")
                #expect(b.tensor.byteOrder == .little)
            }
        }
    }

    @Test func aliasingViewsShareOneStorageAndSideBySideTensorsDoNot() throws {
        let source = try PyTorchUnitFixture.read("views")
        let path = Scratch.file("views.pt")
        let out = try OutputFile(path: path, overwrite: false)
        try PyTorchWriter.write(source.tensors, to: out, archiveName: "views")
        try out.commit()
        let archive = try ZipArchive(file: MappedFile(path: path))
        let back = try PyTorchReader.read(archive: archive)
        let w = try #require(back["w"]), wt = try #require(back["wt"]), row = try #require(back["row"])
        #expect(w.storage === wt.storage && w.storage === row.storage && wt.strides == [1, 3])
        // tail / every_other view 6 and 5 of 10 elements without covering them all: written apart.
        #expect(try #require(back["tail"]).storage !== back["every_other"]?.storage)
        #expect(archive.entry(named: "views/data/0")?.uncompressedSize == 24)

        // Two tensors that tile one buffer (as a safetensors file mapped once) stay separate.
        let buffer = try! TensorStorage(bytes: [UInt8](repeating: 1, count: 32))
        let tiled = [NamedTensor(name: "x", tensor: try Tensor(dtype: .float32, shape: [4], storage: buffer)),
                     NamedTensor(name: "y", tensor: try Tensor(dtype: .float32, shape: [4], storage: buffer, byteOffset: 16))]
        let plan = try PyTorchWritePlan(tiled.map(TensorEntry.init))
        #expect(plan.storages.count == 2 && plan.storages.allSatisfy {
            if case .view(_, let range) = $0.content { return range.count == 16 }
            return false
        })
    }

    @Test func layoutIsTorchs() throws {
        let bytes = try written([NamedTensor(name: "w", tensor: try Tensor(float32: [1, 2], shape: [2]))], archiveName: "m")
        let path = Scratch.write(bytes, name: "m.pt")
        let archive = try ZipArchive(file: MappedFile(path: path))
        #expect(archive.entries.map(\.name) == ["m/data.pkl", "m/.format_version", "m/.storage_alignment", "m/byteorder",
                                                "m/data/0", "m/version", "m/.data/serialization_id"])
        for e in archive.entries {
            #expect(e.dataOffset % 64 == 0, "\(e.name)")
            #expect(e.method == .stored)
        }
        #expect(Array(try archive.data(of: archive.entries[5]).bytes) == Array("3\n".utf8))
        #expect(Array(try archive.data(of: archive.entries[3]).bytes) == Array("little".utf8))
        // zip64 end record and locator precede the classic end record.
        #expect(bytes.offsets(ofSignature: 0x0606_4B50).count == 1)
        #expect(bytes.offsets(ofSignature: 0x0706_4B50).count == 1)
    }

    @Test func sameInputSameBytes() throws {
        let source = try PyTorchUnitFixture.read("checkpoint")
        let a = try written(source.tensors, archiveName: "ck")
        let b = try written(source.tensors, archiveName: "ck")
        #expect(a == b)
    }

    @Test func duplicateNamesAndBadArchiveNamesAreRefused() throws {
        let t = try Tensor(float32: [1], shape: [1])
        let out = try OutputFile(path: Scratch.file("d.pt"), overwrite: false)
        #expect(throws: FormatError.self) {
            try PyTorchWriter.write([NamedTensor(name: "a", tensor: t), NamedTensor(name: "a", tensor: t)], to: out, archiveName: "d")
        }
        let out2 = try OutputFile(path: Scratch.file("e.pt"), overwrite: false)
        #expect(throws: FormatError.self) { try PyTorchWriter.write([], to: out2, archiveName: "a/b") }
    }

    @Test func archiveNamesFollowTorch() {
        #expect(PyTorchWriter.archiveName(forPath: "out/model.tar.pth") == "model.tar")
        #expect(PyTorchWriter.archiveName(forPath: "noext") == "noext")
        #expect(PyTorchWriter.archiveName(forPath: "dir.x/y") == "y")
        #expect(PyTorchWriter.archiveName(forPath: "C:\\w\\m.pt") == "m")
        #expect(PyTorchWriter.archiveName(forPath: "ünï.pt") == "archive")
        #expect(PyTorchWriter.archiveName(forPath: "d/.pt") == "archive")
    }

    @Test func serializationIDMatchesTorchForManyRecords() throws {
        // writer_reference.pt holds 46 records, past two rehashes of libstdc++'s set (13 → 29 → 59 buckets).
        let archive = try ZipArchive(file: MappedFile(path: PyTorchUnitFixture.path("writer_reference")))
        var id = PyTorchSerializationID()
        for e in archive.entries where !e.name.hasSuffix(".data/serialization_id") {
            let data = try archive.data(of: e)
            id.add(record: String(e.name.dropFirst("writer_reference/".count)), data: UnsafeRawBufferPointer(rebasing: data.bytes.prefix(8)),
                   crc: e.crc32, size: e.uncompressedSize)
        }
        let recorded = try archive.data(of: try #require(archive.entry(named: "writer_reference/.data/serialization_id")))
        #expect(id.value == String(decoding: recorded.bytes, as: UTF8.self))
        #expect(archive.entries.count == 46)
    }
}
