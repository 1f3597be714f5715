import Foundation
import Testing
@testable import TensorFormats

/// The FormatError `body` throws, or nil.
func formatError(_ body: () throws -> Void) -> FormatError? {
    do {
        try body()
        return nil
    } catch let e as FormatError {
        return e
    } catch {
        return nil
    }
}

/// 0, 1, 2, ... as bytes (period 251, so CRC and compression see varied data).
func pattern(_ n: Int, seed: Int = 0) -> [UInt8] { (0..<n).map { UInt8(($0 &* 7 &+ seed) % 251) } }

@Suite struct ZlibTests {
    @Test func crc32MatchesTheCheckValue() {
        let v = [UInt8](ascii: "123456789").withUnsafeBytes { Zlib.crc32($0) }
        #expect(v == 0xCBF4_3926)
        let split = [UInt8](ascii: "123456789").withUnsafeBytes { raw in
            Zlib.crc32(UnsafeRawBufferPointer(rebasing: raw[4...]), initial: Zlib.crc32(UnsafeRawBufferPointer(rebasing: raw[..<4])))
        }
        #expect(split == 0xCBF4_3926)
    }

    /// The carry-less (PCLMULQDQ) CRC agrees with zlib's at every length around its 16- and
    /// 64-byte steps, at unaligned starts and from any initial value.
    @Test func carrylessCRCMatchesZlib() {
        let data = pattern(70_000, seed: 3)
        data.withUnsafeBytes { raw in
            for length in Array(0...300) + [1023, 1024, 1025, 65_537, 69_990] {
                for start in [0, 1, 7] {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    let initial = UInt32(truncatingIfNeeded: length &* 2_654_435_761)
                    let zlib = Zlib.crc32(slice, initial: initial, chunk: Zlib.chunk, carryless: false)
                    let clmul = Zlib.crc32(slice, initial: initial, chunk: Zlib.chunk, carryless: Zlib.hasCarrylessCRC)
                    #expect(zlib == clmul, "length \(length) start \(start)")
                }
            }
        }
    }

    @Test func crc32CombineJoinsTwoCRCs() {
        let data = pattern(10_000)
        data.withUnsafeBytes { raw in
            let a = UnsafeRawBufferPointer(rebasing: raw[..<3_333]), b = UnsafeRawBufferPointer(rebasing: raw[3_333...])
            #expect(Zlib.crc32Combine(Zlib.crc32(a), Zlib.crc32(b), lengthOfB: b.count) == Zlib.crc32(raw))
        }
    }

    @Test(arguments: [0, 1, 1000, 300_000])
    func deflateThenInflateGivesTheBytesBack(size: Int) throws {
        let data = pattern(size)
        let compressed = try data.withUnsafeBytes { try Zlib.deflateRaw([$0]) }
        var out = [UInt8](repeating: 0xAA, count: size)
        let used = try compressed.withUnsafeBytes { src in
            try out.withUnsafeMutableBytes { try Zlib.inflateRaw(src, into: $0) }
        }
        #expect(out == data)
        #expect(used == compressed.count)
    }

    /// zlib takes 32-bit lengths, so big buffers go in pieces; tiny pieces exercise the same loops.
    @Test(arguments: [1, 7, 4096])
    func buffersAreFedToZlibInPieces(chunk: Int) throws {
        let data = pattern(50_000) + [UInt8](repeating: 0, count: 30_000)
        let compressed = try data.withUnsafeBytes { try Zlib.deflateRaw([$0], level: 6, chunk: chunk) }
        #expect(compressed == (try data.withUnsafeBytes { try Zlib.deflateRaw([$0]) }))
        var out = [UInt8](repeating: 0, count: data.count)
        let used = try compressed.withUnsafeBytes { (src: UnsafeRawBufferPointer) throws -> Int in
            try out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) throws -> Int in try Zlib.inflateRaw(src, into: dst, chunk: chunk) }
        }
        #expect(out == data && used == compressed.count)
        #expect(data.withUnsafeBytes { Zlib.crc32($0, initial: 0, chunk: chunk, carryless: false) } == data.withUnsafeBytes { Zlib.crc32($0) })
        var short = [UInt8](repeating: 0, count: data.count - 1)
        let e = formatError {
            _ = try compressed.withUnsafeBytes { (src: UnsafeRawBufferPointer) throws -> Int in
                try short.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) throws -> Int in try Zlib.inflateRaw(src, into: dst, chunk: chunk) }
            }
        }
        #expect(e?.reason == .hostile)
        var long = [UInt8](repeating: 0, count: data.count + 1)
        let f = formatError {
            _ = try compressed.withUnsafeBytes { (src: UnsafeRawBufferPointer) throws -> Int in
                try long.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) throws -> Int in try Zlib.inflateRaw(src, into: dst, chunk: chunk) }
            }
        }
        #expect(f?.reason == .corrupt)
        let cut = Array(compressed.dropLast(5))
        let g = formatError {
            _ = try cut.withUnsafeBytes { (src: UnsafeRawBufferPointer) throws -> Int in
                try out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) throws -> Int in try Zlib.inflateRaw(src, into: dst, chunk: chunk) }
            }
        }
        #expect(g?.reason == .truncated)
    }

    /// The streaming inflate hands over 1 MiB pieces, stops when told to, and checks the declared size.
    @Test func streamingInflateChecksSizesAndStopsEarly() throws {
        let data = pattern(3 << 20)
        let compressed = try data.withUnsafeBytes { try Zlib.deflateRaw([$0]) }
        var pieces: [Int] = []
        var back: [UInt8] = []
        try compressed.withUnsafeBytes { (src: UnsafeRawBufferPointer) throws in
            _ = try Zlib.inflateRaw(src, declaredSize: data.count) { piece in
                pieces.append(piece.count)
                back += piece
                return true
            }
        }
        #expect(back == data && pieces.allSatisfy { $0 <= 1 << 20 } && pieces.count >= 3)
        var seen = 0
        try compressed.withUnsafeBytes { (src: UnsafeRawBufferPointer) throws in
            _ = try Zlib.inflateRaw(src, declaredSize: data.count + 7) { piece in
                seen += piece.count
                return seen < 100
            }
        }
        #expect(seen <= 1 << 20)
        for (size, reason) in [(data.count - 1, FormatError.Reason.hostile), (data.count + 1, .corrupt)] {
            let e = formatError {
                try compressed.withUnsafeBytes { (src: UnsafeRawBufferPointer) throws in
                    _ = try Zlib.inflateRaw(src, declaredSize: size) { _ in true }
                }
            }
            #expect(e?.reason == reason, "declared \(size)")
        }
    }

    @Test func pieceByPieceDeflateIsTheOneShotStream() throws {
        let data = pattern(200_000)
        let whole = try data.withUnsafeBytes { try Zlib.deflateRaw([$0]) }
        let deflater = try Zlib.RawDeflater()
        var out: [UInt8] = []
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            var at = 0
            while at < raw.count {
                let n = min(7_777, raw.count - at)
                try deflater.feed(UnsafeRawBufferPointer(rebasing: raw[at..<(at + n)])) { out += $0 }
                at += n
            }
        }
        try deflater.finish { out += $0 }
        #expect(out == whole)
    }

    @Test func deflateOfSeveralPartsIsOneStream() throws {
        let a = pattern(5000), b = pattern(7000, seed: 3)
        let compressed = try a.withUnsafeBytes { ra in try b.withUnsafeBytes { rb in try Zlib.deflateRaw([ra, rb]) } }
        var out = [UInt8](repeating: 0, count: 12000)
        _ = try compressed.withUnsafeBytes { src in try out.withUnsafeMutableBytes { try Zlib.inflateRaw(src, into: $0) } }
        #expect(out == a + b)
    }

    @Test func inflateRefusesAWrongDeclaredSize() throws {
        let data = pattern(4000)
        let compressed = try data.withUnsafeBytes { try Zlib.deflateRaw([$0]) }
        func inflate(_ src: [UInt8], size: Int) -> FormatError? {
            var out = [UInt8](repeating: 0, count: size)
            return formatError {
                _ = try src.withUnsafeBytes { (s: UnsafeRawBufferPointer) throws -> Int in
                    try out.withUnsafeMutableBytes { (d: UnsafeMutableRawBufferPointer) throws -> Int in try Zlib.inflateRaw(s, into: d) }
                }
            }
        }
        let more = try #require(inflate(compressed, size: 3999))
        #expect(more.reason == .hostile)
        #expect(more.message.contains("more than the 3999 bytes declared"))
        let short = try #require(inflate(compressed, size: 4001))
        #expect(short.reason == .corrupt)
        #expect(short.message.contains("ends after 4000 bytes, 4001 declared"))
        let cut = try #require(inflate(Array(compressed.dropLast(3)), size: 4000))
        #expect(cut.reason == .truncated)
        let garbage = try #require(inflate([0xFF, 0xFF, 0xFF, 0xFF], size: 10))
        #expect(garbage.reason == .corrupt)
        #expect(garbage.message.contains("invalid deflate data"))
    }
}

@Suite struct ZipTests {
    static let memberA = pattern(100)
    static let memberB = pattern(5000, seed: 1)
    static let memberC = pattern(10, seed: 2)

    /// "a" stored (100 bytes), "b" deflated (5000 bytes), "c" stored (10 bytes).
    static func sample(zip64EndRecords: Bool = false) throws -> [UInt8] {
        try Scratch.zip(zip64EndRecords: zip64EndRecords) { w in
            try w.add(name: "a", data: memberA)
            try w.add(name: "b", data: memberB, method: .deflated)
            try w.add(name: "c", data: memberC)
        }
    }

    // MARK: Round trips

    @Test func storedAndDeflatedMembersRoundTrip() throws {
        let names = ["weights/w.npy", "../evil", "ünïcode", "empty-stored", "empty-deflated", "big"]
        let contents = [pattern(33), pattern(1), pattern(7, seed: 9), [], [], pattern(200_000, seed: 5)]
        let methods: [ZipMethod] = [.stored, .deflated, .stored, .stored, .deflated, .deflated]
        let bytes = try Scratch.zip { w in
            for i in names.indices { try w.add(name: names[i], data: contents[i], method: methods[i]) }
        }
        let archive = try Scratch.archive(bytes)
        #expect(archive.entries.map(\.name) == names)
        for i in names.indices {
            let e = try #require(archive.entry(named: names[i]))
            #expect(e.method == methods[i])
            #expect(e.uncompressedSize == contents[i].count)
            let data = try archive.data(of: e)
            #expect(Array(data.bytes) == contents[i])
            #expect(data.isMapped == (methods[i] == .stored))
        }
        #expect(archive.entry(named: "evil") == nil)
        // Standard style: sizes and CRC in the local header, UTF-8 flag only for the non-ASCII name.
        let first = archive.entries[0]
        #expect(bytes.u32(first.localHeaderOffset + 14) == first.crc32)
        #expect(bytes.u32(first.localHeaderOffset + 22) == 33)
        #expect(archive.entries.map { $0.flags } == [0, 0, 0x0800, 0, 0, 0])
    }

    @Test func emptyArchiveIsValid() throws {
        let bytes = try Scratch.zip { _ in }
        #expect(bytes.count == 22)
        #expect(try Scratch.archive(bytes).entries.isEmpty)
    }

    @Test func writerIsDeterministic() throws {
        let build = { () throws -> [UInt8] in
            try Scratch.zip(alignment: 64) { w in
                try w.add(name: "x", data: pattern(999), method: .deflated)
                try w.add(name: "y", data: pattern(77))
            }
        }
        #expect(try build() == build())
    }

    @Test(arguments: [ZipWriter.Style.standard, .pytorch])
    func alignedMembersStartOnTheBoundary(style: ZipWriter.Style) throws {
        let names = ["a", "bb/ccc", "archive/data/0", String(repeating: "n", count: 61), "e"]
        let bytes = try Scratch.zip(style: style, alignment: 64) { w in
            for (i, n) in names.enumerated() { try w.add(name: n, data: pattern(i * 13 + (i == 4 ? 0 : 5))) }
        }
        let archive = try Scratch.archive(bytes)
        for (i, e) in archive.entries.enumerated() {
            #expect(e.dataOffset % 64 == 0, "member \(e.name) at \(e.dataOffset)")
            #expect(try archive.contents(e) == pattern(i * 13 + (i == 4 ? 0 : 5)))
            // The padding extra field: 'F' 'B', length, 'Z' bytes.
            let extra = e.localHeaderOffset + 30 + e.name.utf8.count
            #expect(bytes[extra] == 0x46 && bytes[extra + 1] == 0x42)
            #expect(bytes[(extra + 4)..<e.dataOffset].allSatisfy { $0 == 0x5A })
        }
    }

    /// A real `torch.save` file (torch 2.15: `{'w': arange(6).float().reshape(2, 3), 'b': int64 [1, 2],
    /// 'e': zeros(0)}` saved as `ckpt.pt`), read, then rewritten record by record in the pytorch style:
    /// the bytes must be identical.
    @Test func pytorchStyleReproducesTorchSaveByteForByte() throws {
        let golden = try #require(Data(base64: ZipTests.torchSaveFile)).map { $0 }
        let archive = try Scratch.archive(golden)
        #expect(archive.entries.map(\.name) == ["ckpt/data.pkl", "ckpt/.format_version", "ckpt/.storage_alignment",
                                               "ckpt/byteorder", "ckpt/data/0", "ckpt/data/1", "ckpt/data/2",
                                               "ckpt/version", "ckpt/.data/serialization_id"])
        for e in archive.entries { #expect(e.dataOffset % 64 == 0) }
        let w = try #require(archive.entry(named: "ckpt/data/0"))
        let floats = try archive.data(of: w).bytes.withMemoryRebound(to: Float.self) { Array($0) }
        #expect(floats == [0, 1, 2, 3, 4, 5])
        #expect(try archive.contents(#require(archive.entry(named: "ckpt/version"))) == [UInt8](ascii: "3\n"))
        let rewritten = try Scratch.zip(style: .pytorch, alignment: 64) { writer in
            for e in archive.entries { try writer.add(name: e.name, data: archive.data(of: e).bytes) }
        }
        #expect(rewritten.count == golden.count)
        #expect(rewritten == golden)
    }

    @Test func pytorchStyleRefusesCompression() throws {
        let e = formatError { _ = try Scratch.zip(style: .pytorch) { w in try w.add(name: "x", data: [1], method: .deflated) } }
        #expect(e?.reason == .unsupported)
    }

    @Test func writerRefusesDuplicateNamesAndLateMembers() throws {
        let dup = formatError { _ = try Scratch.zip { w in try w.add(name: "x", data: [1]); try w.add(name: "x", data: [2]) } }
        #expect(dup?.message == "duplicate member name")
        let late = formatError {
            _ = try Scratch.zip { w in try w.finish(); try w.add(name: "x", data: [1]) }
        }
        #expect(late?.reason == .unsupported)
    }

    // MARK: Zip64

    /// With the threshold lowered to 100 bytes, every size or offset ≥ 100 goes through zip64
    /// sentinels and extras: size-only, offset-only and both, plus the zip64 end records.
    @Test(arguments: [ZipWriter.Style.standard, .pytorch])
    func zip64RecordsRoundTrip(style: ZipWriter.Style) throws {
        let contents = [pattern(20), pattern(150, seed: 1), pattern(30, seed: 2), pattern(400, seed: 3), []]
        let bytes = try Scratch.zip(style: style, alignment: style == .pytorch ? 64 : 0, zip64Threshold: 100) { w in
            for (i, c) in contents.enumerated() { try w.add(name: "m\(i)", data: c) }
        }
        let cd = bytes.centralEntries
        #expect(cd.count == 5)
        // m0: small, at offset 0: no zip64. m1: big (and at an offset ≥ 100 only in the pytorch style).
        #expect(bytes.u16(cd[0] + 30) == 0)
        #expect(bytes.u32(cd[1] + 20) == 0xFFFF_FFFF && bytes.u32(cd[1] + 24) == 0xFFFF_FFFF)
        // m2: small member far into the file → only its offset is in the zip64 extra (8 bytes).
        #expect(bytes.u32(cd[2] + 20) == 30 && bytes.u32(cd[2] + 42) == 0xFFFF_FFFF)
        #expect(bytes.u16(cd[2] + 30) == 12 && bytes.u16(cd[2] + 46 + 2 + 2) == 8)
        // End records: zip64 end + locator, classic fields as sentinels.
        let eocd = bytes.endRecord
        #expect(bytes.u32(eocd - 20) == 0x0706_4B50)
        #expect(bytes.u32(eocd + 16) == 0xFFFF_FFFF)

        let archive = try Scratch.archive(bytes)
        #expect(archive.entries.count == 5)
        for (i, e) in archive.entries.enumerated() {
            #expect(e.name == "m\(i)")
            #expect(try archive.contents(e) == contents[i])
        }
        #expect(archive.entries[2].localHeaderOffset > 100)
    }

    @Test func alwaysWrittenZip64EndRecordsAreFollowed() throws {
        let bytes = try ZipTests.sample(zip64EndRecords: true)
        let eocd = bytes.endRecord
        let locator = eocd - 20
        #expect(bytes.u32(locator) == 0x0706_4B50)
        let archive = try Scratch.archive(bytes)
        #expect(archive.entries.map(\.name) == ["a", "b", "c"])
        #expect(try archive.contents(archive.entries[1]) == ZipTests.memberB)

        // The locator must point at a zip64 end record.
        var moved = bytes
        moved.set64(locator + 8, bytes.u64(locator + 8) - 1)
        let e = try #require(formatError { _ = try Scratch.archive(moved) })
        #expect(e.reason == .corrupt)
        #expect(e.message.contains("no zip64 end of central directory record"))
        // Zip64 values must agree with non-sentinel classic values.
        var disagree = bytes
        disagree.set16(eocd + 10, 2)
        disagree.set16(eocd + 8, 2)
        #expect(formatError { _ = try Scratch.archive(disagree) }?.message.contains("disagrees") == true)
    }

    /// A sparse file with a real 4 GiB + 16-byte STORED member followed by a small member whose
    /// offset is past 4 GiB (the offset-only zip64 extra). Costs no disk space.
    @Test func realZip64OffsetsPastFourGiB() throws {
        let bigSize: UInt64 = (1 << 32) + 16
        var head = LEBytes()
        head.u32(0x0403_4B50); head.u16(45); head.u16(0); head.u16(0); head.u16(0); head.u16(0x21)
        head.u32(0); head.u32(0xFFFF_FFFF); head.u32(0xFFFF_FFFF); head.u16(3); head.u16(20)
        head.append([UInt8](ascii: "big"))
        head.u16(1); head.u16(16); head.u64(bigSize); head.u64(bigSize)
        let bigData = UInt64(head.count)
        let smallOffset = bigData + bigSize
        let small = [UInt8](ascii: "hello, zip64")
        let smallCRC = small.withUnsafeBytes { Zlib.crc32($0) }
        var tail = LEBytes()
        tail.u32(0x0403_4B50); tail.u16(45); tail.u16(0); tail.u16(0); tail.u16(0); tail.u16(0x21)
        tail.u32(smallCRC); tail.u32(UInt32(small.count)); tail.u32(UInt32(small.count)); tail.u16(5); tail.u16(0)
        tail.append([UInt8](ascii: "small"))
        tail.append(small)
        let cdOffset = smallOffset + UInt64(tail.count)
        var cd = LEBytes()
        cd.u32(0x0201_4B50); cd.u16(0x032D); cd.u16(45); cd.u16(0); cd.u16(0); cd.u16(0); cd.u16(0x21)
        cd.u32(0); cd.u32(0xFFFF_FFFF); cd.u32(0xFFFF_FFFF); cd.u16(3); cd.u16(20); cd.u16(0); cd.u16(0); cd.u16(0); cd.u32(0); cd.u32(0)
        cd.append([UInt8](ascii: "big")); cd.u16(1); cd.u16(16); cd.u64(bigSize); cd.u64(bigSize)
        cd.u32(0x0201_4B50); cd.u16(0x032D); cd.u16(45); cd.u16(0); cd.u16(0); cd.u16(0); cd.u16(0x21)
        cd.u32(smallCRC); cd.u32(UInt32(small.count)); cd.u32(UInt32(small.count)); cd.u16(5); cd.u16(12); cd.u16(0); cd.u16(0); cd.u16(0); cd.u32(0)
        cd.u32(0xFFFF_FFFF)
        cd.append([UInt8](ascii: "small")); cd.u16(1); cd.u16(8); cd.u64(smallOffset)
        let z64 = cdOffset + UInt64(cd.count)
        cd.u32(0x0606_4B50); cd.u64(44); cd.u16(0x032D); cd.u16(45); cd.u32(0); cd.u32(0); cd.u64(2); cd.u64(2)
        cd.u64(UInt64(cd.count) - 0); cd.u64(cdOffset)
        // Directory size excludes the zip64 end record written above: fix it up.
        let directorySize = z64 - cdOffset
        var trailer = cd.bytes
        trailer.set64(Int(directorySize) + 40, directorySize)
        var end = LEBytes()
        end.u32(0x0706_4B50); end.u32(0); end.u64(z64); end.u32(1)
        end.u32(0x0605_4B50); end.u16(0); end.u16(0); end.u16(2); end.u16(2)
        end.u32(UInt32(directorySize)); end.u32(0xFFFF_FFFF); end.u16(0)
        trailer += end.bytes

        let path = Scratch.file("sparse.zip")
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        #expect(fd >= 0)
        defer { unlink(path) }
        _ = head.bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        _ = tail.bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(smallOffset)) }
        _ = trailer.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(cdOffset)) }
        close(fd)

        let archive = try ZipArchive(file: MappedFile(path: path))
        let big = try #require(archive.entry(named: "big"))
        #expect(big.uncompressedSize == Int(bigSize) && big.dataOffset == Int(bigData))
        let view = try archive.data(of: big, verifyCRC: false)
        #expect(view.isMapped && view.bytes.count == Int(bigSize) && view.bytes[Int(bigSize) - 1] == 0)
        let entry = try #require(archive.entry(named: "small"))
        #expect(entry.localHeaderOffset == Int(smallOffset))
        #expect(try archive.contents(entry) == small)
    }

    // MARK: End of central directory

    @Test func commentWithAFakeEndSignatureIsSkipped() throws {
        var bytes = try ZipTests.sample()
        let eocd = bytes.endRecord
        let comment: [UInt8] = [UInt8](ascii: "note ") + [0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0x20, count: 30)
        bytes.set16(eocd + 20, UInt16(comment.count))
        bytes += comment
        let archive = try Scratch.archive(bytes)
        #expect(archive.entries.map(\.name) == ["a", "b", "c"])
    }

    // MARK: Malformed archives

    private func expectFailure(_ bytes: [UInt8], _ reason: FormatError.Reason, _ text: String, entry: String? = nil,
                               offset: Int? = nil, limits: Limits = .default, member: String? = nil,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        let e = formatError {
            let archive = try Scratch.archive(bytes, limits: limits)
            if let member, let entry = archive.entry(named: member) { _ = try archive.data(of: entry) }
        }
        guard let e else {
            Issue.record("no FormatError", sourceLocation: sourceLocation)
            return
        }
        #expect(e.reason == reason, "\(e)", sourceLocation: sourceLocation)
        #expect(e.message.contains(text), "\(e)", sourceLocation: sourceLocation)
        #expect(e.file.hasSuffix("a.zip"), sourceLocation: sourceLocation)
        if let entry { #expect(e.entry == entry, "\(e)", sourceLocation: sourceLocation) }
        if let offset { #expect(e.offset == offset, "\(e)", sourceLocation: sourceLocation) }
    }

    @Test func truncatedArchivesAreRefused() throws {
        let bytes = try ZipTests.sample()
        expectFailure(Array(bytes.dropLast()), .truncated, "no end of central directory record")
        expectFailure(Array(bytes.prefix(10)), .truncated, "too short for a ZIP archive")
        expectFailure([], .truncated, "too short")
        expectFailure(pattern(300), .truncated, "not a ZIP archive")
        // Bytes missing in the middle: the directory is no longer where the end record says.
        let cut = Array(bytes[..<40]) + Array(bytes[50...])
        expectFailure(cut, .corrupt, "does not end where the end records begin")
        expectFailure(pattern(16) + bytes, .corrupt, "data prepended")
    }

    @Test func badSignaturesAreRefused() throws {
        let bytes = try ZipTests.sample()
        let archive = try Scratch.archive(bytes)
        let c = archive.entries[2]
        var local = bytes
        local[c.localHeaderOffset] = 0x51
        expectFailure(local, .corrupt, "bad local header signature", entry: "c", offset: c.localHeaderOffset)
        var central = bytes
        central[bytes.centralEntries[1] + 1] = 0
        expectFailure(central, .corrupt, "bad signature for central directory entry 1", offset: bytes.centralEntries[1])
        var name = bytes
        name[c.localHeaderOffset + 30] = UInt8(ascii: "d")
        expectFailure(name, .corrupt, "local header name 'd' differs", entry: "c")
        var method = bytes
        method.set16(c.localHeaderOffset + 8, 8)
        expectFailure(method, .corrupt, "local header method 8 differs", entry: "c")
    }

    @Test func badCRCIsRefused() throws {
        let bytes = try ZipTests.sample()
        let archive = try Scratch.archive(bytes)
        let a = archive.entries[0]
        var flipped = bytes
        flipped[a.dataOffset + 50] ^= 0x01
        expectFailure(flipped, .corrupt, "CRC-32 mismatch", entry: "a", offset: a.dataOffset, member: "a")
        let unchecked = try Scratch.archive(flipped)
        #expect(try unchecked.data(of: unchecked.entries[0], verifyCRC: false).bytes[50] == ZipTests.memberA[50] ^ 1)
        var deflatedCRC = bytes
        let cdB = bytes.centralEntries[1]
        deflatedCRC.set32(cdB + 16, bytes.u32(cdB + 16) ^ 0x8000_0000)
        expectFailure(deflatedCRC, .corrupt, "CRC-32 mismatch", entry: "b", member: "b")
        var garbled = bytes
        let b = archive.entries[1]
        for i in 0..<8 { garbled[b.dataOffset + 2 + i] ^= 0x5A }
        let e = formatError { let z = try Scratch.archive(garbled); _ = try z.data(of: z.entries[1]) }
        #expect(e?.entry == "b")
    }

    @Test func overlappingMembersAreRefused() throws {
        // Quoted overlap: "a" claims bytes that include the local header of "b".
        let bytes = try ZipTests.sample()
        let archive = try Scratch.archive(bytes)
        let (a, b) = (archive.entries[0], archive.entries[1])
        var overlap = bytes
        let cdA = bytes.centralEntries[0]
        let grown = UInt32(b.localHeaderOffset - a.dataOffset + 10)
        overlap.set32(cdA + 20, grown)
        overlap.set32(cdA + 24, grown)
        expectFailure(overlap, .hostile, "overlaps 'a'", entry: "b", offset: b.localHeaderOffset)
    }

    @Test func duplicateNamesAreRefused() throws {
        var bytes = try ZipTests.sample()
        let archive = try Scratch.archive(bytes)
        bytes[archive.entries[2].localHeaderOffset + 30] = UInt8(ascii: "a")
        bytes[bytes.centralEntries[2] + 46] = UInt8(ascii: "a")
        expectFailure(bytes, .corrupt, "duplicate member name (central directory entries 0 and 2)", entry: "a",
                      offset: bytes.centralEntries[2])
    }

    @Test func membersPastTheDirectoryAreRefused() throws {
        var bytes = try ZipTests.sample()
        let cdC = bytes.centralEntries[2]
        bytes.set32(cdC + 20, 5000)
        bytes.set32(cdC + 24, 5000)
        expectFailure(bytes, .corrupt, "runs past the start of the central directory", entry: "c")
        var offset = try ZipTests.sample()
        offset.set32(cdC + 42, UInt32(offset.centralEntries[0]))
        expectFailure(offset, .corrupt, "is not before the central directory", entry: "c")
        var stored = try ZipTests.sample()
        stored.set32(cdC + 24, 11)
        expectFailure(stored, .corrupt, "stored member has compressed size 10 but uncompressed size 11", entry: "c")
        var sentinel = try ZipTests.sample()
        sentinel.set32(cdC + 20, 0xFFFF_FFFF)
        expectFailure(sentinel, .corrupt, "no zip64 extra field", entry: "c")
    }

    @Test func deflateBombsAreRefusedBeforeInflating() throws {
        var bytes = try ZipTests.sample()
        let archive = try Scratch.archive(bytes)
        let b = archive.entries[1]
        let cdB = bytes.centralEntries[1]
        bytes.set32(cdB + 24, UInt32(b.compressedSize * 1100 + 1))
        expectFailure(bytes, .hostile, "ratio limit", entry: "b", member: "b")
        // The declared size is the cap: a stream that wants more is refused, one that ends short too.
        var smaller = try ZipTests.sample()
        smaller.set32(cdB + 24, 4999)
        expectFailure(smaller, .hostile, "inflates to more than the 4999 bytes declared", entry: "b", member: "b")
        var larger = try ZipTests.sample()
        larger.set32(cdB + 24, 5001)
        expectFailure(larger, .corrupt, "ends after 5000 bytes", entry: "b", member: "b")
    }

    /// Inflated members hold their bytes in the memory budget while they live.
    @Test func inflatedBytesAreAdmittedByTheBudget() throws {
        var limits = Limits()
        limits.memory = MemoryBudget(limit: 6000)
        let archive = try Scratch.archive(try ZipTests.sample(), limits: limits)
        var first: TensorStorage? = try archive.data(of: archive.entries[1])
        #expect(limits.memory.heldBytes == 5000)
        let e = try #require(formatError { _ = try archive.data(of: archive.entries[1]) })
        #expect(e.reason == .limitExceeded && e.entry == "b")
        #expect(e.message.contains("over the memory budget of 5.9 KiB"), "\(e.message)")
        withExtendedLifetime(first) {}
        first = nil
        #expect(limits.memory.heldBytes == 0)
        _ = try archive.data(of: archive.entries[1])
    }

    @Test func unsupportedFeaturesAreRefused() throws {
        let bytes = try ZipTests.sample()
        let cdA = bytes.centralEntries[0]
        var encrypted = bytes
        encrypted.set16(cdA + 8, 1)
        expectFailure(encrypted, .unsupported, "encrypted members are not supported", entry: "a", offset: cdA + 8)
        var bzip2 = bytes
        bzip2.set16(cdA + 10, 12)
        bzip2.set16(0 + 8, 12)
        expectFailure(bzip2, .unsupported, "compression bzip2 is not supported", entry: "a")
        var multiDisk = bytes
        multiDisk.set16(bytes.endRecord + 4, 1)
        expectFailure(multiDisk, .unsupported, "multi-disk")
        var limits = Limits()
        limits.zipMembers = 2
        expectFailure(bytes, .limitExceeded, "archive lists 3 members, over the limit of 2", limits: limits)
    }

    @Test func entriesFromAnotherArchiveAreRefused() throws {
        let one = try Scratch.archive(try ZipTests.sample())
        let other = try Scratch.archive(try Scratch.zip { w in try w.add(name: "a", data: [1, 2, 3]) })
        #expect(formatError { _ = try one.data(of: other.entries[0]) } != nil)
    }
}

extension ZipTests {
    static let torchSaveFile = """
    UEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAANABUAY2twdC9kYXRhLnBrbEZCEQBaWlpaWlpaWlpaWlpaWlpaWoACfXEAKFgBAAAAd3EBY3RvcmNoLl91dGlscwpfcmVidWlsZF90ZW5zb3JfdjIKcQIoKFgHAAAAc3RvcmFnZXEDY3RvcmNoCkZsb2F0U3RvcmFnZQpxBFgBAAAAMHEFWAMAAABjcHVxBksGdHEHUUsASwJLA4ZxCEsDSwGGcQmJY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnEKKVJxC3RxDFJxDVgBAAAAYnEOaAIoKGgDY3RvcmNoCkxvbmdTdG9yYWdlCnEPWAEAAAAxcRBoBksCdHERUUsASwKFcRJLAYVxE4loCilScRR0cRVScRZYAQAAAGVxF2gCKChoA2gEWAEAAAAycRhoBksAdHEZUUsASwCFcRpLAYVxG4loCilScRx0cR1ScR51LlBLBwg7k7kDLAEAACwBAABQSwMEAAAICAAAAAAAAAAAAAAAAAAAAAAAABQAEgBja3B0Ly5mb3JtYXRfdmVyc2lvbkZCDgBaWlpaWlpaWlpaWlpaWjFQSwcIt+/cgwEAAAABAAAAUEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAAXADoAY2twdC8uc3RvcmFnZV9hbGlnbm1lbnRGQjYAWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaNjRQSwcIP3dx6QIAAAACAAAAUEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAAOAEIAY2twdC9ieXRlb3JkZXJGQj4AWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpsaXR0bGVQSwcIhT3jGQYAAAAGAAAAUEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAALAEEAY2twdC9kYXRhLzBGQj0AWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWgAAAAAAAIA/AAAAQAAAQEAAAIBAAACgQFBLBwgXkOeRGAAAABgAAABQSwMEAAAICAAAAAAAAAAAAAAAAAAAAAAAAAsALwBja3B0L2RhdGEvMUZCKwBaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaAQAAAAAAAAACAAAAAAAAAFBLBwi53fYAEAAAABAAAABQSwMEAAAACAAAAAAAAAAAAAAAAAAAAAAAAAsANwBja3B0L2RhdGEvMkZCMwBaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpQSwMEAAAICAAAAAAAAAAAAAAAAAAAAAAAAAwAFgBja3B0L3ZlcnNpb25GQhIAWlpaWlpaWlpaWlpaWlpaWlpaMwpQSwcI0Z5nVQIAAAACAAAAUEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAAbADUAY2twdC8uZGF0YS9zZXJpYWxpemF0aW9uX2lkRkIxAFpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlowODQ5NDg4ODQ3OTY1MDQ4NzM1MDExNjY5MDQzODI5MzU2OTUzNDk1UEsHCCgssaEoAAAAKAAAAFBLAQIAAAAACAgAAAAAAAA7k7kDLAEAACwBAAANAAAAAAAAAAAAAAAAAAAAAABja3B0L2RhdGEucGtsUEsBAgAAAAAICAAAAAAAALfv3IMBAAAAAQAAABQAAAAAAAAAAAAAAAAAfAEAAGNrcHQvLmZvcm1hdF92ZXJzaW9uUEsBAgAAAAAICAAAAAAAAD93cekCAAAAAgAAABcAAAAAAAAAAAAAAAAA0QEAAGNrcHQvLnN0b3JhZ2VfYWxpZ25tZW50UEsBAgAAAAAICAAAAAAAAIU94xkGAAAABgAAAA4AAAAAAAAAAAAAAAAAUgIAAGNrcHQvYnl0ZW9yZGVyUEsBAgAAAAAICAAAAAAAABeQ55EYAAAAGAAAAAsAAAAAAAAAAAAAAAAA1gIAAGNrcHQvZGF0YS8wUEsBAgAAAAAICAAAAAAAALnd9gAQAAAAEAAAAAsAAAAAAAAAAAAAAAAAaAMAAGNrcHQvZGF0YS8xUEsBAgAAAAAACAAAAAAAAAAAAAAAAAAAAAAAAAsAAAAAAAAAAAAAAAAA4AMAAGNrcHQvZGF0YS8yUEsBAgAAAAAICAAAAAAAANGeZ1UCAAAAAgAAAAwAAAAAAAAAAAAAAAAAQAQAAGNrcHQvdmVyc2lvblBLAQIAAAAACAgAAAAAAAAoLLGhKAAAACgAAAAbAAAAAAAAAAAAAAAAAJIEAABja3B0Ly5kYXRhL3NlcmlhbGl6YXRpb25faWRQSwYGLAAAAAAAAAAeAy0AAAAAAAAAAAAJAAAAAAAAAAkAAAAAAAAALAIAAAAAAAA4BQAAAAAAAFBLBgcAAAAAZAcAAAAAAAABAAAAUEsFBgAAAAAJAAkALAIAADgFAAAAAA==
    """
}
