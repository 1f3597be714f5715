import Foundation
import Testing
@testable import TensorFormats

/// The streaming write paths `convert` uses on large files: in-kernel copies from a mapped input,
/// CRCs reused from the reader or computed on the way (with the local header patched), and CRC
/// checks run in the background.
@Suite struct StreamingWriteTests {
    /// A mapped file of `count` patterned bytes.
    static func mapped(_ count: Int, seed: Int = 1) throws -> MappedFile {
        try Scratch.map(pattern(count, seed: seed), name: "in.bin")
    }

    /// Durable or not (fsync before the rename, `convert --sync`), the committed bytes are the same.
    @Test(arguments: [false, true])
    func storageBytesAreCopiedFromTheMappedFile(durable: Bool) throws {
        let file = try Self.mapped(3 * OutputFile.streamChunk + 12_345)
        let storage = TensorStorage(mapped: file, range: 100..<(file.bytes.count - 7))
        let path = Scratch.file("copy-\(durable).bin")
        let out = try OutputFile(path: path, overwrite: false, durable: durable)
        try out.write([1, 2, 3])
        var reported = 0
        try out.write(storage, range: 5..<(storage.bytes.count - 3)) { reported += $0.count }
        try out.write([4])
        #expect(out.position == 3 + storage.bytes.count - 8 + 1)
        try out.commit()
        let expected = [1, 2, 3] + Array(file.bytes[105..<(file.bytes.count - 10)]) + [4]
        #expect(Scratch.read(path) == expected)
        #expect(reported == storage.bytes.count - 8)
    }

    @Test func ownedStorageIsWrittenFromMemory() throws {
        let bytes = pattern(OutputFile.streamChunk + 99)
        let storage = try! TensorStorage(bytes: bytes)
        let path = Scratch.file("owned.bin")
        let out = try OutputFile(path: path, overwrite: false)
        try out.write(storage, range: 9..<bytes.count)
        try out.commit()
        #expect(Scratch.read(path) == Array(bytes[9...]))
    }

    /// Patching reaches bytes already flushed to the file and bytes still in the buffer.
    @Test func patchOverwritesFlushedAndBufferedBytes() throws {
        let path = Scratch.file("patch.bin")
        let out = try OutputFile(path: path, overwrite: false)
        let big = pattern(3 << 20)
        try out.write(big)
        try out.write([0, 0, 0, 0])
        try out.patch([9, 9, 9, 9], at: 10)
        try out.patch([7, 7, 7, 7, 7, 7], at: big.count - 2)
        #expect(throws: FormatError.self) { try out.patch([1], at: out.position) }
        try out.commit()
        var expected = big + [0, 0, 0, 0]
        for i in 10..<14 { expected[i] = 9 }
        for i in (big.count - 2)..<(big.count + 4) { expected[i] = 7 }
        #expect(Scratch.read(path) == expected)
    }

    /// A large member whose CRC is not known up front is streamed and its local header patched;
    /// both headers agree with the data (the reader checks it).
    @Test(arguments: [ZipWriter.Style.standard, .pytorch])
    func streamedMembersGetTheirCRC(style: ZipWriter.Style) throws {
        let file = try Self.mapped(2 * OutputFile.streamChunk + 5000, seed: 4)
        let storage = TensorStorage(mapped: file, range: 64..<file.bytes.count)
        let head = pattern(100, seed: 9)
        let bytes = try Scratch.zip(style: style, alignment: 64) { w in
            try head.withUnsafeBytes { h in
                try w.add(name: "a", parts: [ZipWriter.Part(h), ZipWriter.Part(storage, range: 10..<storage.bytes.count)])
            }
            try w.add(name: "b", data: [1, 2, 3])
        }
        let archive = try Scratch.archive(bytes)
        let a = try #require(archive.entry(named: "a"))
        let expected = head + Array(storage.bytes[10...])
        #expect(Array(try archive.data(of: a).bytes) == expected)
        #expect(a.crc32 == expected.withUnsafeBytes { Zlib.crc32($0) })
        if style == .standard {
            #expect(bytes.u32(a.localHeaderOffset + 14) == a.crc32)
        }
    }

    /// A whole storage with a checked CRC is copied without summing it again: the CRC written is the
    /// storage's (a deliberately wrong one here, which the reader then refuses).
    @Test func aKnownCRCIsReusedNotRecomputed() throws {
        let file = try Self.mapped(100_000, seed: 2)
        let range = 0..<file.bytes.count
        let right = Zlib.crc32(file.bytes)
        let honest = TensorStorage(mapped: file, range: range, crc32: right)
        let lying = TensorStorage(mapped: file, range: range, crc32: right ^ 1)
        let bytes = try Scratch.zip { w in
            let header = pattern(64, seed: 5)
            try header.withUnsafeBytes { h in
                try w.add(name: "honest", parts: [ZipWriter.Part(h), ZipWriter.Part(honest, range: range)])
            }
            try w.add(name: "lying", parts: [ZipWriter.Part(lying, range: range)])
        }
        let archive = try Scratch.archive(bytes)
        let honestEntry = try #require(archive.entry(named: "honest"))
        #expect(throws: Never.self) { _ = try archive.data(of: honestEntry) }
        let lyingEntry = try #require(archive.entry(named: "lying"))
        #expect(lyingEntry.crc32 == right ^ 1)
        let e = formatError { _ = try archive.data(of: lyingEntry) }
        #expect(e?.reason == .corrupt && e?.message.contains("CRC-32") == true)
    }

    @Test func checkedMembersCarryTheirCRC() throws {
        let data = pattern(70_000, seed: 3)
        let bytes = try Scratch.zip { w in try w.add(name: "x.npy", data: data) }
        let archive = try Scratch.archive(bytes)
        let entry = try #require(archive.entry(named: "x.npy"))
        #expect(try archive.data(of: entry).crc32 == entry.crc32)
        #expect(try archive.data(of: entry, verifyCRC: false).crc32 == nil)
    }

    /// With background checksums a damaged member opens at once; the damage is reported by
    /// `finishChecksums()`, naming the file and the record.
    @Test func backgroundChecksumsReportDamageWhenAwaited() throws {
        let data = pattern(200_000, seed: 7)
        var bytes = try Scratch.zip { w in
            try w.add(name: "ok.npy", data: try npy(pattern(1000)))
            try w.add(name: "bad.npy", data: try npy(data))
        }
        let archive0 = try Scratch.archive(bytes)
        let bad = try #require(archive0.entry(named: "bad.npy"))
        bytes[bad.dataOffset + 5000] ^= 0x10
        var limits = Limits.default
        limits.tensorChecksumsInBackground = true
        let path = Scratch.write(bytes, name: "damaged.npz")
        let file = try TensorFileIO.read(path: path, limits: limits)
        #expect(file.tensors.count == 2)
        let e = formatError { try file.finishChecksums() }
        #expect(e?.reason == .corrupt)
        #expect(e?.entry == "bad.npy" && e?.file == path)
        // Read the plain way, the same file is refused while opening.
        #expect(formatError { _ = try TensorFileIO.read(path: path) }?.entry == "bad.npy")
        // An intact file passes.
        let intact = try TensorFileIO.read(path: Scratch.write(try Scratch.zip { w in try w.add(name: "a.npy", data: try npy(data)) }, name: "ok.npz"),
                                           limits: limits)
        #expect(throws: Never.self) { try intact.finishChecksums() }
    }

    /// An npy stream holding `bytes` as uint8.
    func npy(_ bytes: [UInt8]) throws -> [UInt8] {
        NpyWriter.header(dtype: .uint8, shape: [bytes.count]) + bytes
    }
}
