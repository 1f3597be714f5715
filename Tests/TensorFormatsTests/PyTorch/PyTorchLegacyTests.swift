import Testing
@testable import TensorFormats

/// The legacy stream, hand-assembled: header pickles, views through `view_metadata`, the raw
/// storages after the key list, and each way that tail can be wrong.
@Suite struct PyTorchLegacyTests {
    private static let header = P.proto(2) + P.long1([0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]) + P.stop
        + P.proto(2) + P.int2(1001) + P.stop
        + P.proto(2) + P.emptyDict + P.unicode("little_endian") + P.newTrue + P.setItem + P.stop

    /// `('storage', FloatStorage, '100', 'cpu', 4, view)` where view is None or `('101', 1, 2)`.
    private static func pid(view: Bool) -> [UInt8] {
        P.mark + P.unicode("storage") + P.global("torch", "FloatStorage") + P.unicode("100") + P.unicode("cpu") + P.int1(4)
            + (view ? P.unicode("101") + P.int1(1) + P.int1(2) + P.tuple3 : P.none) + P.tuple + P.binPersId
    }

    private static func tensor(view: Bool, length: UInt8) -> [UInt8] {
        P.global("torch._utils", "_rebuild_tensor_v2") + P.mark + pid(view: view) + P.int1(0) + P.int1(length) + P.tuple1
            + P.int1(1) + P.tuple1 + P.newFalse + P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce + P.tuple + P.reduce
    }

    private static func stream(count: Int64 = 4, values: [Float] = [1, 2, 3, 4]) -> [UInt8] {
        let main = P.proto(2) + P.emptyDict + P.mark + P.unicode("root") + tensor(view: false, length: 4)
            + P.unicode("view") + tensor(view: true, length: 2) + P.setItems + P.stop
        let keys = P.proto(2) + P.emptyList + P.unicode("100") + P.append + P.stop
        let raw = P.le(UInt64(bitPattern: count), 8) + values.flatMap { P.le(UInt64($0.bitPattern), 4) }
        return header + main + keys + raw
    }

    @Test func viewsAliasTheirRootStorage() throws {
        let path = Scratch.write(Self.stream(), name: "legacy.pt")
        let file = try TensorFileIO.read(path: path)
        #expect(file.format == .pytorchLegacy)
        let root = try #require(file["root"]), view = try #require(file["view"])
        #expect(root.floats() == [1, 2, 3, 4])
        #expect(view.floats() == [2, 3])
        #expect(root.storage.isMapped && view.storage.isMapped)
        #expect(view.storage.bytes.baseAddress == root.storage.bytes.baseAddress.map { $0 + 4 })
    }

    @Test func tailErrorsAreNamed() {
        func failure(_ bytes: [UInt8]) -> FormatError? {
            do {
                _ = try PyTorchReader.read(file: MappedFile(path: Scratch.write(bytes, name: "l.pt")))
                return nil
            } catch {
                return error
            }
        }
        let count = failure(Self.stream(count: 5))
        #expect(count?.reason == .corrupt && count?.entry == "storage 100" && count?.message.contains("5 elements") == true)
        var short = Self.stream()
        short.removeLast(3)
        let truncated = failure(short)
        #expect(truncated?.reason == .truncated && truncated?.entry == "storage 100")
        let noCount = failure(Array(Self.stream().dropLast(20)))
        #expect(noCount?.reason == .truncated)
    }
}
