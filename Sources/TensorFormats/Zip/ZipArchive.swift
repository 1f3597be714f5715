import Synchronization

/// A ZIP archive read from a memory-mapped file: the central directory is parsed and checked once,
/// members are handed out as zero-copy views (STORED) or inflated copies (DEFLATED).
///
/// What is checked when the archive is opened (every failure is a ``FormatError`` naming the file,
/// the member when known, and the byte offset):
/// - the end of central directory record is the one whose comment reaches exactly to the end of
///   the file; a zip64 locator before it is followed to a zip64 end record (signature checked) whose
///   values win (classic fields that are not 0xFFFF / 0xFFFFFFFF must agree with them);
/// - the central directory ends exactly where the end records begin (archives with data prepended,
///   such as self-extractors, are refused); it holds exactly the declared entries, at most
///   `Limits.zipMembers`;
/// - each entry: zip64 extra fields substituted by sentinel (a field is read from the extra only
///   when its 32-bit value is 0xFFFFFFFF, in the order usize, csize, offset, disk); no encryption,
///   only methods 0 and 8, one disk; its local header has the right signature, the same name and
///   method; header and data lie before the central directory; STORED sizes agree;
/// - member ranges (local header through data) do not overlap (refuses quoted-overlap zip bombs).
///
/// Method, sizes and CRC come from the central directory; the local header is read only for its
/// signature, name and the lengths that place the data (local zip64 extras are not parsed: NumPy
/// writes sentinels there and PyTorch zeros).
///
/// Names are opaque keys, never paths: `../x` is just a name. **Duplicate names are refused** — an
/// archive with two `data/0` members is ambiguous (CPython keeps the last, other readers the first).
public final class ZipArchive: Sendable {
    public let file: MappedFile
    public let limits: Limits
    /// Members in central directory order.
    public let entries: [ZipEntry]
    private let index: [String: Int]
    /// Checks of tensor members queued by ``data(of:verifyCRC:tensor:)`` when
    /// `limits.tensorChecksumsInBackground` is on.
    public let backgroundChecksums: BackgroundChecksums?

    public var path: String { file.path }

    public init(file: MappedFile, limits: Limits = .default) throws(FormatError) {
        self.file = file
        self.limits = limits
        backgroundChecksums = limits.tensorChecksumsInBackground && limits.verifyTensorChecksums ? BackgroundChecksums() : nil
        let bytes = file.bytes
        let size = bytes.count
        let path = file.path

        func failure(_ reason: FormatError.Reason, _ message: String, entry: String? = nil, at offset: Int?) -> FormatError {
            FormatError(reason, message, file: path, entry: entry, offset: offset)
        }

        // End of central directory: the last candidate whose comment ends exactly at the end of the file.
        guard size >= ZipFormat.endSize else {
            throw failure(.truncated, "\(size) bytes is too short for a ZIP archive (no end of central directory record)", at: size)
        }
        var eocd = -1
        var pos = size - ZipFormat.endSize
        let lowest = max(0, size - ZipFormat.endSize - 0xFFFF)
        while pos >= lowest {
            if bytes[pos] == 0x50, bytes.le32(pos) == ZipFormat.endSignature,
               pos + ZipFormat.endSize + Int(bytes.le16(pos + 20)) == size {
                eocd = pos
                break
            }
            pos -= 1
        }
        guard eocd >= 0 else {
            throw failure(.truncated, "no end of central directory record (the file is truncated or not a ZIP archive)", at: size)
        }
        var disk = UInt64(bytes.le16(eocd + 4))
        var directoryDisk = UInt64(bytes.le16(eocd + 6))
        var entriesOnDisk = UInt64(bytes.le16(eocd + 8))
        var entryCount64 = UInt64(bytes.le16(eocd + 10))
        var directorySize64 = UInt64(bytes.le32(eocd + 12))
        var directoryOffset64 = UInt64(bytes.le32(eocd + 16))
        var endStart = eocd

        // Zip64 locator (immediately before the EOCD) and the zip64 end record it points to.
        let locator = eocd - ZipFormat.zip64LocatorSize
        if locator >= 0, bytes.le32(locator) == ZipFormat.zip64LocatorSignature {
            let recordDisk = bytes.le32(locator + 4)
            let recordOffset = bytes.le64(locator + 8)
            let totalDisks = bytes.le32(locator + 16)
            guard recordDisk == 0, totalDisks <= 1 else {
                throw failure(.unsupported, "multi-disk (split) ZIP archives are not supported", at: locator)
            }
            guard let z = Checked.int(recordOffset), let zEnd = Checked.add(z, ZipFormat.zip64EndSize), zEnd <= locator else {
                throw failure(.corrupt, "zip64 locator points to byte \(recordOffset), where no zip64 end record fits", at: locator)
            }
            guard bytes.le32(z) == ZipFormat.zip64EndSignature else {
                throw failure(.corrupt, "no zip64 end of central directory record at byte \(z), where the zip64 locator points", at: z)
            }
            let remaining = bytes.le64(z + 4)
            guard remaining >= 44, let recordEnd = Checked.int(remaining).flatMap({ Checked.add(z + 12, $0) }), recordEnd <= locator else {
                throw failure(.corrupt, "zip64 end record declares a size of \(remaining) bytes, which does not fit before the locator", at: z + 4)
            }
            let z64 = (disk: UInt64(bytes.le32(z + 16)), directoryDisk: UInt64(bytes.le32(z + 20)),
                       onDisk: bytes.le64(z + 24), count: bytes.le64(z + 32),
                       size: bytes.le64(z + 40), offset: bytes.le64(z + 48))
            let agrees = (entryCount64 == 0xFFFF || entryCount64 == z64.count)
                && (directorySize64 == 0xFFFF_FFFF || directorySize64 == z64.size)
                && (directoryOffset64 == 0xFFFF_FFFF || directoryOffset64 == z64.offset)
            guard agrees else {
                throw failure(.corrupt, "zip64 end record (\(z64.count) entries, directory of \(z64.size) bytes at \(z64.offset)) disagrees with the end of central directory record (\(entryCount64) entries, \(directorySize64) bytes at \(directoryOffset64))", at: eocd)
            }
            (disk, directoryDisk, entriesOnDisk) = (z64.disk, z64.directoryDisk, z64.onDisk)
            (entryCount64, directorySize64, directoryOffset64) = (z64.count, z64.size, z64.offset)
            endStart = z
        }
        guard disk == 0, directoryDisk == 0, entriesOnDisk == entryCount64 else {
            throw failure(.unsupported, "multi-disk (split) ZIP archives are not supported", at: eocd)
        }
        guard entryCount64 <= UInt64(limits.zipMembers) else {
            throw failure(.limitExceeded, "archive lists \(entryCount64) members, over the limit of \(limits.zipMembers)", at: eocd)
        }
        let entryCount = Int(entryCount64)
        guard let directoryOffset = Checked.int(directoryOffset64), let directorySize = Checked.int(directorySize64),
              Checked.add(directoryOffset, directorySize) == endStart else {
            throw failure(.corrupt, "central directory (\(directorySize64) bytes at byte \(directoryOffset64)) does not end where the end records begin (byte \(endStart)); the file is truncated, or has data prepended, which is not supported", at: endStart)
        }
        guard entryCount <= directorySize / ZipFormat.centralHeaderSize else {
            throw failure(.corrupt, "central directory of \(directorySize) bytes cannot hold the \(entryCount) entries it declares", at: directoryOffset)
        }

        // Central directory entries.
        var entries: [ZipEntry] = []
        entries.reserveCapacity(entryCount)
        var index: [String: Int] = [:]
        index.reserveCapacity(entryCount)
        var p = directoryOffset
        for i in 0..<entryCount {
            guard endStart - p >= ZipFormat.centralHeaderSize else {
                throw failure(.corrupt, "central directory entry \(i) runs past the end of the central directory", at: p)
            }
            guard bytes.le32(p) == ZipFormat.centralHeaderSignature else {
                throw failure(.corrupt, "bad signature for central directory entry \(i)", at: p)
            }
            let flags = bytes.le16(p + 8)
            let methodCode = bytes.le16(p + 10)
            let crc = bytes.le32(p + 16)
            let nameLength = Int(bytes.le16(p + 28))
            let extraLength = Int(bytes.le16(p + 30))
            let commentLength = Int(bytes.le16(p + 32))
            let recordLength = ZipFormat.centralHeaderSize + nameLength + extraLength + commentLength
            guard endStart - p >= recordLength else {
                throw failure(.corrupt, "central directory entry \(i) runs past the end of the central directory", at: p)
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(p + 46)..<(p + 46 + nameLength)])
            guard let name = ZipFormat.decodeName(nameBytes, utf8: flags & ZipFormat.flagUTF8 != 0) else {
                throw failure(.corrupt, "name of central directory entry \(i) is not valid UTF-8", at: p + 46)
            }
            if let previous = index[name] {
                throw failure(.corrupt, "duplicate member name (central directory entries \(previous) and \(i)); an archive with two members of one name is ambiguous", entry: name, at: p)
            }

            // Sizes, offset and disk, with zip64 substitution by sentinel.
            var compressed = UInt64(bytes.le32(p + 20))
            var uncompressed = UInt64(bytes.le32(p + 24))
            var headerOffset = UInt64(bytes.le32(p + 42))
            var diskStart = UInt64(bytes.le16(p + 34))
            let needs = (u: uncompressed == 0xFFFF_FFFF, c: compressed == 0xFFFF_FFFF,
                         o: headerOffset == 0xFFFF_FFFF, d: diskStart == 0xFFFF)
            if needs.u || needs.c || needs.o || needs.d {
                let extraStart = p + 46 + nameLength
                guard let z = ZipArchive.findExtra(ZipFormat.zip64ExtraID, in: bytes, from: extraStart, to: extraStart + extraLength) else {
                    throw failure(.corrupt, "central directory entry has 0xFFFFFFFF size or offset fields but no zip64 extra field", entry: name, at: p)
                }
                var cursor = z.lowerBound
                func next(_ width: Int, _ what: String) throws(FormatError) -> UInt64 {
                    guard z.upperBound - cursor >= width else {
                        throw failure(.corrupt, "zip64 extra field is too short to hold the \(what)", entry: name, at: cursor)
                    }
                    defer { cursor += width }
                    return width == 8 ? bytes.le64(cursor) : UInt64(bytes.le32(cursor))
                }
                if needs.u { uncompressed = try next(8, "uncompressed size") }
                if needs.c { compressed = try next(8, "compressed size") }
                if needs.o { headerOffset = try next(8, "local header offset") }
                if needs.d { diskStart = try next(4, "disk number") }
            }

            if flags & (ZipFormat.flagEncrypted | ZipFormat.flagStrongEncryption | ZipFormat.flagEncryptedDirectory) != 0 {
                throw failure(.unsupported, "encrypted members are not supported", entry: name, at: p + 8)
            }
            guard let method = ZipMethod(rawValue: methodCode) else {
                throw failure(.unsupported, "compression \(ZipFormat.methodName(methodCode)) is not supported (only stored and deflate)", entry: name, at: p + 10)
            }
            guard diskStart == 0 else {
                throw failure(.unsupported, "multi-disk (split) ZIP archives are not supported", entry: name, at: p + 34)
            }
            guard let csize = Checked.int(compressed), let usize = Checked.int(uncompressed), let lho = Checked.int(headerOffset) else {
                throw failure(.corrupt, "sizes or offset out of range (compressed \(compressed), uncompressed \(uncompressed), offset \(headerOffset))", entry: name, at: p)
            }
            if method == .stored, csize != usize {
                throw failure(.corrupt, "stored member has compressed size \(csize) but uncompressed size \(usize)", entry: name, at: p + 20)
            }

            // Local header: signature, name, method, and the lengths that place the data.
            guard lho <= directoryOffset, directoryOffset - lho >= ZipFormat.localHeaderSize else {
                throw failure(.corrupt, "local header offset \(lho) is not before the central directory (byte \(directoryOffset))", entry: name, at: p + 42)
            }
            guard bytes.le32(lho) == ZipFormat.localHeaderSignature else {
                throw failure(.corrupt, "bad local header signature", entry: name, at: lho)
            }
            let localNameLength = Int(bytes.le16(lho + 26))
            let localExtraLength = Int(bytes.le16(lho + 28))
            let dataOffset = lho + ZipFormat.localHeaderSize + localNameLength + localExtraLength
            guard dataOffset <= directoryOffset else {
                throw failure(.corrupt, "local header runs into the central directory", entry: name, at: lho)
            }
            let localName = UnsafeRawBufferPointer(rebasing: bytes[(lho + 30)..<(lho + 30 + localNameLength)])
            guard localName.elementsEqual(nameBytes) else {
                let shown = String(decoding: localName, as: UTF8.self)
                throw failure(.corrupt, "local header name '\(shown)' differs from the central directory name", entry: name, at: lho + 30)
            }
            guard bytes.le16(lho + 8) == methodCode else {
                throw failure(.corrupt, "local header method \(bytes.le16(lho + 8)) differs from the central directory method \(methodCode)", entry: name, at: lho + 8)
            }
            guard csize <= directoryOffset - dataOffset else {
                throw failure(.corrupt, "member data (\(csize) bytes at byte \(dataOffset)) runs past the start of the central directory (byte \(directoryOffset))", entry: name, at: dataOffset)
            }

            index[name] = entries.count
            entries.append(ZipEntry(name: name, method: method, compressedSize: csize, uncompressedSize: usize,
                                    crc32: crc, localHeaderOffset: lho, dataOffset: dataOffset, flags: flags))
            p += recordLength
        }
        guard p == endStart else {
            throw failure(.corrupt, "central directory has \(endStart - p) bytes after its \(entryCount) declared entries", at: p)
        }

        // No two members may share bytes (local header through data).
        let byOffset = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where b.localHeaderOffset < a.dataRange.upperBound {
            throw failure(.hostile, "member overlaps '\(a.name)' (bytes \(a.localHeaderOffset)..<\(a.dataRange.upperBound)); overlapping members are a zip bomb technique", entry: b.name, at: b.localHeaderOffset)
        }

        self.entries = entries
        self.index = index
    }

    /// The member called `name` (exact, case-sensitive), if any.
    public func entry(named name: String) -> ZipEntry? {
        index[name].map { entries[$0] }
    }

    /// The uncompressed bytes of `entry`: a zero-copy view of the mapped file for STORED members,
    /// a buffer of exactly `uncompressedSize` bytes for DEFLATED ones.
    ///
    /// Before allocating, a DEFLATED member must stay within `limits.maxInflateRatio` (inflated /
    /// compressed size) and its size must be admitted by the memory budget (`limits.memory`). With
    /// `verifyCRC` the CRC-32 of the bytes is compared with the central directory's.
    ///
    /// With `tensor` (the member holds tensor data) and `limits.tensorChecksumsInBackground`, a
    /// STORED member's CRC is checked later by ``backgroundChecksums``; its storage carries the
    /// central directory's CRC meanwhile.
    public func data(of entry: ZipEntry, verifyCRC: Bool = true, tensor: Bool = false) throws(FormatError) -> TensorStorage {
        guard let i = index[entry.name], entries[i] == entry else {
            throw FormatError(.corrupt, "member is not part of this archive", file: path, entry: entry.name)
        }
        let range = entry.dataRange
        let storage: TensorStorage
        switch entry.method {
        case .stored:
            guard verifyCRC else { return TensorStorage(mapped: file, range: range) }
            if tensor, let checks = backgroundChecksums {
                let file = self.file
                checks.add { () -> FormatError? in
                    let crc = ZipArchive.checksum(file, range)
                    return crc == entry.crc32 ? nil : ZipArchive.crcMismatch(entry, found: crc, in: file.path)
                }
                return TensorStorage(mapped: file, range: range, crc32: entry.crc32)
            }
            let crc = ZipArchive.checksum(file, range)
            guard crc == entry.crc32 else { throw ZipArchive.crcMismatch(entry, found: crc, in: path) }
            return TensorStorage(mapped: file, range: range, crc32: crc)
        case .deflated:
            try checkRatio(entry)
            let buffer: BudgetedBuffer
            do {
                buffer = try limits.memory.allocate(entry.uncompressedSize, for: "inflating this member")
            } catch {
                throw error.inFile(path).inEntry(entry.name)
            }
            do {
                try Zlib.inflateRaw(UnsafeRawBufferPointer(rebasing: file.bytes[range]), into: buffer.buffer)
            } catch {
                throw FormatError(error.reason, error.message, file: path, entry: entry.name, offset: range.lowerBound + (error.offset ?? 0))
            }
            storage = TensorStorage(budgeted: buffer)
        }
        if verifyCRC {
            let crc = Zlib.crc32(storage.bytes)
            guard crc == entry.crc32 else { throw ZipArchive.crcMismatch(entry, found: crc, in: path) }
            storage.setCheckedCRC32(crc)
        }
        return storage
    }

    /// `range` of `entry`'s uncompressed bytes as storage that costs nothing until used: a view of
    /// the mapped file for a STORED member (CRC checked as ``data(of:verifyCRC:tensor:)`` would
    /// check the whole member), deferred storage for a DEFLATED one, inflated when loaded (under
    /// the memory budget) or streamed by a writer — each time with the size and CRC checked.
    /// `verifyCRC` false skips the CRC check of a DEFLATED member (writers that leave it 0).
    public func lazyData(of entry: ZipEntry, range: Range<Int>, tensor: Bool = true, verifyCRC: Bool = true) throws(FormatError) -> TensorStorage {
        guard range.lowerBound >= 0, range.upperBound <= entry.uncompressedSize else {
            throw FormatError(.corrupt, "bytes \(range) lie outside the member's \(entry.uncompressedSize) bytes", file: path, entry: entry.name)
        }
        switch entry.method {
        case .stored:
            let whole = try data(of: entry, verifyCRC: verifyCRC && (!tensor || limits.verifyTensorChecksums), tensor: tensor)
            return TensorStorage(slicing: whole, range: range)
        case .deflated:
            try checkRatio(entry)
            return TensorStorage(deferred: ZipMemberBytes(archive: self, entry: entry, range: range, verifyCRC: verifyCRC),
                                 budget: limits.memory)
        }
    }

    /// The first `count` uncompressed bytes of `entry` (fewer when the member is shorter), inflating
    /// only as far as needed: how a reader looks at a header without making the member's bytes.
    public func prefix(of entry: ZipEntry, count: Int) throws(FormatError) -> [UInt8] {
        let n = min(max(0, count), entry.uncompressedSize)
        let range = entry.dataRange
        switch entry.method {
        case .stored:
            return Array(UnsafeRawBufferPointer(rebasing: file.bytes[range.lowerBound..<(range.lowerBound + n)]))
        case .deflated:
            try checkRatio(entry)
            do {
                return try Zlib.inflatePrefix(UnsafeRawBufferPointer(rebasing: file.bytes[range]), declaredSize: entry.uncompressedSize, count: n)
            } catch {
                throw FormatError(error.reason, error.message, file: path, entry: entry.name, offset: range.lowerBound + (error.offset ?? 0))
            }
        }
    }

    /// Refuses a DEFLATED member whose declared size is beyond what its compressed bytes can make.
    func checkRatio(_ entry: ZipEntry) throws(FormatError) {
        let ratioCap = Checked.mul(max(entry.compressedSize, 1), limits.maxInflateRatio) ?? Int.max
        guard entry.uncompressedSize <= ratioCap else {
            throw FormatError(.hostile, "deflated member claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed bytes, over the \(limits.maxInflateRatio):1 ratio limit (a deflate bomb)",
                              file: path, entry: entry.name, offset: entry.localHeaderOffset)
        }
    }

    /// Bytes checksummed between two page releases while checking a STORED member.
    static let checksumChunk = 4 << 20

    /// The CRC-32 of `range` of the mapped file, read in chunks whose pages are released once
    /// summed, so checking a large member does not leave it resident.
    private static func checksum(_ file: MappedFile, _ range: Range<Int>) -> UInt32 {
        var crc: UInt32 = 0
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + ZipArchive.checksumChunk, range.upperBound)
            crc = Zlib.crc32(UnsafeRawBufferPointer(rebasing: file.bytes[start..<end]), initial: crc)
            file.release(start..<end)
            start = end
        }
        return crc
    }

    static func crcMismatch(_ entry: ZipEntry, found crc: UInt32, in path: String) -> FormatError {
        FormatError(.corrupt, "CRC-32 mismatch: the central directory says \(hex(entry.crc32)), the data has \(hex(crc))",
                    file: path, entry: entry.name, offset: entry.dataRange.lowerBound)
    }

    /// The payload range of the first extra field with `id` in `bytes[start..<end]`; stops at a
    /// malformed tail (some writers pad extras with zeros).
    static func findExtra(_ id: UInt16, in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Range<Int>? {
        var q = start
        while end - q >= 4 {
            let fieldID = bytes.le16(q)
            let length = Int(bytes.le16(q + 2))
            guard end - q - 4 >= length else { return nil }
            if fieldID == id { return (q + 4)..<(q + 4 + length) }
            q += 4 + length
        }
        return nil
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - s.count) + s
}
