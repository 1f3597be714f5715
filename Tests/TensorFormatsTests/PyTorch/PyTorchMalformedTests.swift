import Foundation
import Testing
@testable import TensorFormats

/// Hand-built archives and pickles for the cases torch never writes: each asserts its exact error
/// (reason, record, message) or the exact way it is tolerated.
@Suite struct PyTorchMalformedTests {
    /// `{name: _rebuild_tensor_v2(storage(cls, key, numel), offset, shape, strides, False, OrderedDict()[, metadata])}`.
    private func statePickle(_ name: String = "w", cls: String = "FloatStorage", key: String = "0", numel: UInt8 = 2,
                             offset: UInt8 = 0, shape: [UInt8] = [2], metadata: [UInt8] = []) -> [UInt8] {
        var args = P.storagePid(cls, key: key, numel: numel) + P.int1(offset)
        args += P.mark + shape.flatMap { P.int1($0) } + P.tuple
        args += P.mark + Tensor.contiguousStrides(shape.map(Int.init)).flatMap { P.int1(UInt8($0)) } + P.tuple
        args += P.newFalse + P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce + metadata
        return P.proto(2) + P.emptyDict + P.unicode(name) + P.global("torch._utils", "_rebuild_tensor_v2")
            + P.mark + args + P.tuple + P.reduce + P.setItem + P.stop
    }

    private func archive(_ records: [(String, [UInt8])], folder: String = "x") throws -> String {
        let bytes = try Scratch.zip(style: .pytorch, alignment: 64) { w in
            for (name, data) in records { try w.add(name: folder + "/" + name, data: data) }
        }
        return Scratch.write(bytes, name: "x.pt")
    }

    private func failure(_ path: String) -> FormatError? {
        do {
            _ = try PyTorchReader.read(file: MappedFile(path: path))
            return nil
        } catch {
            return error
        }
    }

    private let eightBytes = [UInt8](repeating: 0, count: 8)

    @Test func wellFormedMinimalArchiveReads() throws {
        let path = try archive([("data.pkl", statePickle()), ("data/0", [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]), ("version", Array("3\n".utf8))])
        let file = try PyTorchReader.read(file: MappedFile(path: path))
        #expect(file["w"]?.floats() == [1, 2])
        // Through the shared dispatcher too.
        #expect(try TensorFileIO.read(path: path)["w"]?.floats() == [1, 2])
    }

    @Test func storageCRCsAreCheckedUnlessTorchWroteNone() throws {
        let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]
        var bytes = try Scratch.zip(style: .pytorch, alignment: 64) { w in
            try w.add(name: "x/data.pkl", data: statePickle())
            try w.add(name: "x/data/0", data: data)
        }
        let dataAt = try #require((0..<(bytes.count - 8)).first { Array(bytes[$0..<($0 + 8)]) == data })
        var flipped = bytes
        flipped[dataAt + 7] ^= 0x01
        let e = failure(Scratch.write(flipped, name: "crc.pt"))
        #expect(e?.reason == .corrupt && e?.entry == "x/data/0" && e?.message.contains("CRC") == true)
        // torch.serialization.set_crc32_options(False): every CRC field is 0, and nothing is checked.
        for cd in bytes.offsets(ofSignature: 0x0201_4B50) { bytes.set32(cd + 16, 0) }
        for dd in bytes.offsets(ofSignature: 0x0807_4B50) { bytes.set32(dd + 4, 0) }
        bytes[dataAt + 7] ^= 0x01
        let file = try PyTorchReader.read(file: MappedFile(path: Scratch.write(bytes, name: "nocrc.pt")))
        #expect(file["w"]?.floats() == [1, 8])   // 2.0 (0x40000000) with an exponent bit flipped
    }

    @Test func negAndConjBitsAreRefused() throws {
        let neg = P.emptyDict + P.unicode("neg") + P.newTrue + P.setItem
        let path = try archive([("data.pkl", statePickle(metadata: neg)), ("data/0", eightBytes), ("version", Array("3\n".utf8))])
        let e = failure(path)
        #expect(e?.reason == .unsupported && e?.message.contains("tensor 'w'") == true && e?.message.contains("negative") == true)
    }

    @Test func unreadableDtypesAreSkippedWithANote() throws {
        let path = try archive([("data.pkl", statePickle(cls: "ComplexFloatStorage", numel: 1, shape: [1])), ("data/0", eightBytes)])
        let file = try PyTorchReader.read(file: MappedFile(path: path))
        #expect(file.tensors.isEmpty)
        #expect(file.notes.contains { $0.contains("'w'") && $0.contains("complex64") })
        #expect(file.notes.contains { $0.contains("no version record") })
    }

    @Test func missingRecordAndBadSmallRecordsAreNamed() throws {
        let missing = failure(try archive([("data.pkl", statePickle(key: "7")), ("version", Array("3\n".utf8))]))
        #expect(missing?.reason == .corrupt && missing?.entry == "x/data/7")

        let newer = failure(try archive([("data.pkl", statePickle()), ("data/0", eightBytes), ("version", Array("11\n".utf8))]))
        #expect(newer?.reason == .unsupported && newer?.entry == "x/version")

        let order = failure(try archive([("data.pkl", statePickle()), ("data/0", eightBytes), ("byteorder", Array("middle".utf8))]))
        #expect(order?.reason == .corrupt && order?.entry == "x/byteorder")

        let long = failure(try archive([("data.pkl", statePickle()), ("data/0", eightBytes), ("version", [UInt8](repeating: 0x33, count: 100))]))
        #expect(long?.reason == .corrupt && long?.entry == "x/version")
    }

    @Test func pickleErrorsCarryTheFileOffset() throws {
        var pickle = statePickle()
        pickle.removeLast()                                    // no STOP
        let path = try archive([("data.pkl", pickle), ("data/0", eightBytes)])
        let e = failure(path)
        #expect(e?.reason == .truncated && e?.entry == "x/data.pkl" && e?.file == path)
        // data.pkl's data starts at byte 64 (aligned), so the offset is 64 + the pickle's length.
        #expect(e?.offset == 64 + pickle.count)
    }

    @Test func unexpectedPersistentIdIsCorrupt() throws {
        let pickle = P.proto(2) + P.unicode("storage") + P.tuple1 + P.binPersId + P.stop
        let e = failure(try archive([("data.pkl", pickle)]))
        #expect(e?.reason == .corrupt && e?.message.contains("persistent id") == true && e?.entry == "x/data.pkl")
    }

    @Test func otherArchivesAreNamed() throws {
        let json = failure(try archive([("model.json", Array("{}".utf8))]))
        #expect(json?.reason == .unsupported && json?.message.contains("model.json") == true)
        let package = failure(try archive([(".data/version", Array("6\n".utf8))]))
        #expect(package?.reason == .unsupported && package?.message.contains("torch.package") == true)
    }

    @Test func topFolderIsFoundWhateverItsName() throws {
        let path = try archive([("data.pkl", statePickle()), ("data/0", eightBytes)], folder: "my.model.v2")
        #expect(try PyTorchReader.read(file: MappedFile(path: path))["w"] != nil)
    }

    @Test func bareAndForeignPicklesAreNotCheckpoints() throws {
        let bare = Scratch.write(P.proto(2) + P.emptyDict + P.stop, name: "bare.pt")
        #expect(failure(bare)?.reason == .unsupported)
        let legacyTruncated = Scratch.write(P.proto(2) + P.long1([0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]) + P.stop
                                            + P.proto(2) + P.int2(1001) + P.stop, name: "legacy.pt")
        #expect(failure(legacyTruncated)?.reason == .truncated)
    }

    // MARK: Walk limits

    private func flatten(_ value: PickleValue, limits: Limits = .default) throws(FormatError) -> PyTorchFlattener {
        var f = PyTorchFlattener(mode: .checkpoint, limits: limits)
        try f.walk(value)
        return f
    }

    @Test func nestingIsCappedInTheWalk() throws {
        func nested(_ depth: Int) -> [UInt8] {
            P.proto(2) + Array(repeating: P.emptyDict + P.unicode("a"), count: depth).flatMap { $0 } + P.int1(1)
                + Array(repeating: P.setItem, count: depth).flatMap { $0 } + P.stop
        }
        var limits = Limits()
        limits.pickleNesting = 50
        let ok = try Unpickled(nested(40))
        let flat = try flatten(ok.value, limits: limits)
        #expect(flat.metadata.first?.key == Array(repeating: "a", count: 40).joined(separator: "."))
        let deep = try Unpickled(nested(60))
        #expect(throws: FormatError.self) { try flatten(deep.value, limits: limits) }
    }

    @Test func sharedSubtreesCannotMakeTheWalkExponential() throws {
        // t = (t0, t0) forty times over: 2^40 paths to one tensor-free leaf.
        let bytes = P.proto(2) + P.emptyList + P.none + P.append + Array(repeating: P.dup + P.tuple2, count: 40).flatMap { $0 } + P.stop
        let r = try Unpickled(bytes)
        var limits = Limits()
        limits.pickleWalkNodes = 10_000
        do {
            _ = try flatten(r.value, limits: limits)
            Issue.record("no error")
        } catch {
            #expect(error.reason == .limitExceeded)
        }
    }

    @Test func metadataIsCapped() throws {
        var bytes = P.proto(2) + P.emptyDict + P.mark
        for i in 0..<50 { bytes += P.unicode("k\(i)") + P.unicode(String(repeating: "v", count: 100)) }
        bytes += P.setItems + P.stop
        let r = try Unpickled(bytes)
        var limits = Limits()
        limits.metadataBytes = 1000
        let flat = try flatten(r.value, limits: limits)
        #expect(flat.metadata.count == 10)
        #expect(flat.notes.contains { $0.contains("metadata past 1000 bytes") })
    }
}
