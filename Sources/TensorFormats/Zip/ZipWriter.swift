/// Writes a ZIP archive sequentially to an ``OutputFile``. STORED data is streamed from the
/// caller's buffers (mapped input pages can be released behind it, deferred input members are made
/// piece by piece) and its CRC-32 is computed on the way unless the caller knows it; a
/// standard-style local header whose CRC was not known up front gets it patched in after the data.
/// DEFLATED members are compressed on the way too, their CRC and compressed size patched in after.
/// The same members in the same order always give the same bytes (fixed DOS date).
///
/// Styles:
/// - ``Style/standard`` (CPython / NumPy-compatible): sizes and CRC in the local header, flags 0
///   (bit 11 for non-ASCII names), version 20 (45 with zip64), date 1980-01-01, Unix mode 0644;
///   with `alignment` > 1 each local header carries a padding extra field (ID 0x4246 `'FB'`,
///   `'Z'` bytes) so that member data starts at a multiple of `alignment`.
/// - ``Style/pytorch``: byte for byte what `torch.save` (miniz, `PyTorchStreamWriter`) writes —
///   STORED only, flags 0x0808 (0x0800 for empty members), local CRC and sizes 0 with a data
///   descriptor after the data (16 bytes, 24 with zip64), version and date 0, the `'FB'` padding
///   extra in every local header (also when the pad is 0), zip64 extras when a size or offset is
///   ≥ 0xFFFFFFFF, and zip64 end records always.
///
/// Zip64: a size or offset of 0xFFFFFFFF or more is written as the 0xFFFFFFFF sentinel with its
/// value in a zip64 extra field; zip64 end records are added when the entry count, directory size
/// or offset need them, or always with `alwaysWriteZip64EndRecords` (or the pytorch style).
///
/// Member names must be unique (the reader refuses duplicates) and at most 65535 UTF-8 bytes.
/// `finish()` writes the central directory; committing the output is the caller's job.
public final class ZipWriter {
    public enum Style: Sendable {
        case standard
        case pytorch
    }

    public let output: OutputFile
    public let alignment: Int
    public let style: Style
    public let alwaysWriteZip64EndRecords: Bool
    /// Sizes and offsets at or above this are promoted to zip64 (0xFFFFFFFF; lowered only by tests
    /// to exercise zip64 records on small archives).
    var zip64Threshold: UInt64 = 0xFFFF_FFFF

    private struct Record {
        var name: [UInt8]
        var flags: UInt16
        var method: ZipMethod
        var crc: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var localHeaderOffset: UInt64
        var localZip64: Bool
    }

    private var records: [Record] = []
    private var names: Set<String> = []
    private var finished = false

    public init(output: OutputFile, alignment: Int = 0, style: Style = .standard, alwaysWriteZip64EndRecords: Bool = false) {
        self.output = output
        self.alignment = alignment
        self.style = style
        self.alwaysWriteZip64EndRecords = alwaysWriteZip64EndRecords
    }

    /// Adds a member holding `data`.
    public func add(name: String, data: UnsafeRawBufferPointer, method: ZipMethod = .stored) throws(FormatError) {
        try add(name: name, parts: [data], method: method)
    }

    /// Adds a member holding `data`.
    public func add(name: String, data: [UInt8], method: ZipMethod = .stored) throws(FormatError) {
        let result = data.withUnsafeBytes { raw in Result { () throws(FormatError) in try add(name: name, parts: [raw], method: method) } }
        try result.get()
    }

    /// One piece of a member's data: bytes in memory, or a range of a tensor storage (mapped,
    /// owned, or deferred — a compressed input member made piece by piece while it is written).
    public struct Part {
        /// Bytes of the part.
        public let count: Int
        /// The bytes when they are in memory; nil for deferred storage.
        let memory: UnsafeRawBufferPointer?
        /// The CRC-32 of the part when already known (a reader checked it), so the writer does not
        /// compute it again.
        public var crc32: UInt32?
        /// The storage the part lies in, and where: lets the output copy mapped bytes in the kernel,
        /// release mapped pages behind the copy, or stream deferred bytes.
        var source: (storage: TensorStorage, range: Range<Int>)?

        public init(_ bytes: UnsafeRawBufferPointer, crc32: UInt32? = nil) {
            count = bytes.count
            memory = bytes
            self.crc32 = crc32
        }

        /// `range` of `storage`, with the storage's checked CRC-32 when the range is all of it.
        public init(_ storage: TensorStorage, range: Range<Int>) {
            count = range.count
            memory = storage.isDeferred ? nil : UnsafeRawBufferPointer(rebasing: storage.bytes[range])
            crc32 = range == 0..<storage.count ? storage.crc32 : nil
            source = (storage, range)
        }

        /// Calls `body` with the part's bytes in order, in pieces of bounded size.
        ///
        /// Deferred bytes are made on the way (and checked: size, CRC of the input member).
        func forEachPiece(_ body: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
            if let (storage, range) = source, memory == nil {
                try storage.stream(range, into: body)
                return
            }
            guard let memory else { return }
            var start = 0
            while start < memory.count {
                let end = min(start + OutputFile.streamChunk, memory.count)
                try body(UnsafeRawBufferPointer(rebasing: memory[start..<end]))
                if let (storage, range) = source { storage.releasePages((range.lowerBound + start)..<(range.lowerBound + end)) }
                start = end
            }
        }

        /// Writes the part to `output`; with `summing`, returns the CRC-32 of what it wrote (else 0).
        /// Mapped bytes whose CRC is not needed are copied in the kernel. `head` collects the
        /// member's first bytes (up to ``headBytes``).
        func write(to output: OutputFile, summing: Bool, head: inout [UInt8]) throws(FormatError) -> UInt32 {
            if !summing, let (storage, range) = source, let memory {
                ZipWriter.collect(memory, into: &head)
                try output.write(storage, range: range)
                return 0
            }
            var crc: UInt32 = 0
            var seen = head
            try forEachPiece { piece throws(FormatError) in
                ZipWriter.collect(piece, into: &seen)
                try output.write(piece)
                if summing { crc = Zlib.crc32(piece, initial: crc) }
            }
            head = seen
            return crc
        }
    }

    /// Adds a member holding the concatenation of `parts` (e.g. an npy header and a tensor's bytes,
    /// without copying them together).
    public func add(name: String, parts: [UnsafeRawBufferPointer], method: ZipMethod = .stored) throws(FormatError) {
        try add(name: name, parts: parts.map { Part($0) }, method: method)
    }

    /// Adds a member holding the concatenation of `parts`. STORED data is streamed: each part is
    /// written in pieces (its CRC-32 computed on the way unless known), and a standard-style local
    /// header whose CRC was not known up front is patched once the data is written.
    public func add(name: String, parts: [Part], method: ZipMethod = .stored) throws(FormatError) {
        guard !finished else {
            throw FormatError(.unsupported, "cannot add a member after the archive is finished", file: output.path, entry: name)
        }
        let nameBytes = Array(name.utf8)
        guard nameBytes.count <= 0xFFFF else {
            throw FormatError(.unsupported, "member name is longer than ZIP's 65535 bytes", file: output.path, entry: String(name.prefix(80)))
        }
        guard !names.contains(name) else {
            throw FormatError(.unsupported, "duplicate member name", file: output.path, entry: name)
        }
        guard (0...4096).contains(alignment) else {
            throw FormatError(.unsupported, "ZIP data alignment \(alignment) is outside 0...4096", file: output.path, entry: name)
        }
        guard style == .standard || method == .stored else {
            throw FormatError(.unsupported, "the pytorch ZIP style stores members uncompressed", file: output.path, entry: name)
        }

        var size = 0
        for part in parts {
            guard let s = Checked.add(size, part.count) else {
                throw FormatError(.limitExceeded, "member size overflows", file: output.path, entry: name)
            }
            size = s
        }
        // CRC known before the data when every part's is known or small enough to sum first;
        // otherwise (and always for deflate, whose sizes are known only after) patched in after.
        var crc: UInt32 = 0
        var crcKnown = method == .stored
        for part in parts where crcKnown {
            if let c = part.crc32 {
                crc = Zlib.crc32Combine(crc, c, lengthOfB: part.count)
            } else if let bytes = part.memory, bytes.count <= 4096 {
                crc = Zlib.crc32(bytes, initial: crc)
            } else {
                crcKnown = false
            }
        }
        if !crcKnown { crc = 0 }
        let usize = UInt64(size)
        // Deflate output is at most deflateBound(usize): zip64 fields are reserved when that could reach the threshold.
        let csizeBound = method == .deflated ? Zlib.deflateBound(size) : usize
        var csize = usize
        let lho = UInt64(output.position)
        let nonASCII = nameBytes.contains { $0 >= 0x80 }

        var header = LEBytes()
        var record = Record(name: nameBytes, flags: 0, method: method, crc: crc, compressedSize: csize,
                            uncompressedSize: usize, localHeaderOffset: lho, localZip64: false)
        let t = zip64Threshold
        switch style {
        case .standard:
            let zip64 = usize >= t || csizeBound >= t
            record.localZip64 = zip64
            record.flags = nonASCII ? ZipFormat.flagUTF8 : 0
            var extra = LEBytes()
            if zip64 {
                extra.u16(ZipFormat.zip64ExtraID)
                extra.u16(16)
                extra.u64(usize)
                extra.u64(csize)
            }
            if alignment > 1 {
                let start = Int(lho) + ZipFormat.localHeaderSize + nameBytes.count + extra.count + 4
                appendPadding(to: &extra, pad: (alignment - start % alignment) % alignment)
            }
            header.u32(ZipFormat.localHeaderSignature)
            header.u16(zip64 ? 45 : 20)
            header.u16(record.flags)
            header.u16(method.rawValue)
            header.u16(ZipFormat.dosTime)
            header.u16(ZipFormat.dosDate)
            header.u32(crc)
            header.u32(zip64 ? ZipFormat.sentinel32 : UInt32(csize))
            header.u32(zip64 ? ZipFormat.sentinel32 : UInt32(usize))
            header.u16(UInt16(nameBytes.count))
            header.u16(UInt16(extra.count))
            header.append(nameBytes)
            header.append(extra.bytes)
        case .pytorch:
            let bigSize = usize >= t
            let farOffset = lho >= t
            record.localZip64 = bigSize || farOffset
            record.flags = size > 0 ? ZipFormat.flagUTF8 | ZipFormat.flagDataDescriptor : ZipFormat.flagUTF8
            var extra = LEBytes()
            if bigSize || farOffset {
                extra.u16(ZipFormat.zip64ExtraID)
                extra.u16(UInt16((bigSize ? 16 : 0) + (farOffset ? 8 : 0)))
                if bigSize {
                    extra.u64(usize)
                    extra.u64(0)
                }
                if farOffset { extra.u64(lho) }
            }
            let a = max(alignment, 1)
            let start = Int(lho) + ZipFormat.localHeaderSize + nameBytes.count + extra.count + 4
            appendPadding(to: &extra, pad: (a - start % a) % a)
            header.u32(ZipFormat.localHeaderSignature)
            header.u16(0)
            header.u16(record.flags)
            header.u16(0)
            header.u16(0)
            header.u16(0)
            header.u32(0)
            header.u32(0)
            header.u32(0)
            header.u16(UInt16(nameBytes.count))
            header.u16(UInt16(extra.count))
            header.append(nameBytes)
            header.append(extra.bytes)
        }
        guard header.count - ZipFormat.localHeaderSize - nameBytes.count <= 0xFFFF else {
            throw FormatError(.unsupported, "local header extra field is longer than 65535 bytes", file: output.path, entry: name)
        }

        try output.write(header.bytes)
        let dataStart = output.position
        var head: [UInt8] = []
        if method == .deflated {
            var summed: UInt32 = 0
            do {
                let deflater = try Zlib.RawDeflater()
                for part in parts {
                    try part.forEachPiece { piece throws(FormatError) in
                        ZipWriter.collect(piece, into: &head)
                        summed = Zlib.crc32(piece, initial: summed)
                        try deflater.feed(piece) { out throws(FormatError) in try output.write(out) }
                    }
                }
                try deflater.finish { out throws(FormatError) in try output.write(out) }
            } catch {
                throw error.inFile(output.path).inEntry(name)
            }
            crc = summed
            csize = UInt64(output.position - dataStart)
            record.crc = crc
            record.compressedSize = csize
            var fields = LEBytes()
            fields.u32(crc)
            if record.localZip64 {
                try output.patch(fields.bytes, at: Int(lho) + 14)
                var sizes = LEBytes()
                sizes.u64(usize)
                sizes.u64(csize)
                try output.patch(sizes.bytes, at: Int(lho) + ZipFormat.localHeaderSize + nameBytes.count + 4)
            } else {
                fields.u32(UInt32(csize))
                try output.patch(fields.bytes, at: Int(lho) + 14)
            }
        } else if crcKnown {
            for part in parts { _ = try part.write(to: output, summing: false, head: &head) }
        } else {
            crc = 0
            for part in parts {
                if let known = part.crc32 {
                    _ = try part.write(to: output, summing: false, head: &head)
                    crc = Zlib.crc32Combine(crc, known, lengthOfB: part.count)
                } else {
                    crc = Zlib.crc32Combine(crc, try part.write(to: output, summing: true, head: &head), lengthOfB: part.count)
                }
            }
            record.crc = crc
            if style == .standard {
                var field = LEBytes()
                field.u32(crc)
                try output.patch(field.bytes, at: Int(lho) + 14)
            }
        }
        if style == .pytorch, size > 0 {
            var descriptor = LEBytes()
            descriptor.u32(ZipFormat.dataDescriptorSignature)
            descriptor.u32(crc)
            if record.localZip64 {
                descriptor.u64(csize)
                descriptor.u64(usize)
            } else {
                descriptor.u32(UInt32(csize))
                descriptor.u32(UInt32(usize))
            }
            try output.write(descriptor.bytes)
        }
        records.append(record)
        memberHeads.append(head)
        names.insert(name)
    }

    /// Bytes of each member's start kept in ``memberHeads``.
    public static let headBytes = 8

    static func collect(_ piece: UnsafeRawBufferPointer, into head: inout [UInt8]) {
        if head.count < headBytes { head.append(contentsOf: piece.prefix(headBytes - head.count)) }
    }

    /// The first ``headBytes`` uncompressed bytes of each member (fewer for shorter ones), in the
    /// order the members were added (PyTorch's serialization id hashes them).
    public private(set) var memberHeads: [[UInt8]] = []

    /// CRC-32 of each member's uncompressed bytes, in the order the members were added.
    public var memberCRCs: [UInt32] { records.map(\.crc) }

    /// Writes the central directory and end records. No member can be added afterwards.
    public func finish() throws(FormatError) {
        guard !finished else { return }
        finished = true
        let t = zip64Threshold
        let directoryOffset = UInt64(output.position)
        for r in records {
            var extra = LEBytes()
            let bigU = r.uncompressedSize >= t
            let bigC = r.compressedSize >= t
            let farOffset = r.localHeaderOffset >= t
            if bigU || bigC || farOffset {
                extra.u16(ZipFormat.zip64ExtraID)
                extra.u16(UInt16((bigU ? 8 : 0) + (bigC ? 8 : 0) + (farOffset ? 8 : 0)))
                if bigU { extra.u64(r.uncompressedSize) }
                if bigC { extra.u64(r.compressedSize) }
                if farOffset { extra.u64(r.localHeaderOffset) }
            }
            var h = LEBytes()
            h.u32(ZipFormat.centralHeaderSignature)
            switch style {
            case .standard:
                let version: UInt16 = (extra.count > 0 || r.localZip64) ? 45 : 20
                h.u16(0x0300 | version)
                h.u16(version)
                h.u16(r.flags)
                h.u16(r.method.rawValue)
                h.u16(ZipFormat.dosTime)
                h.u16(ZipFormat.dosDate)
            case .pytorch:
                h.u16(0)
                h.u16(0)
                h.u16(r.flags)
                h.u16(0)
                h.u16(0)
                h.u16(0)
            }
            h.u32(r.crc)
            h.u32(bigC ? ZipFormat.sentinel32 : UInt32(r.compressedSize))
            h.u32(bigU ? ZipFormat.sentinel32 : UInt32(r.uncompressedSize))
            h.u16(UInt16(r.name.count))
            h.u16(UInt16(extra.count))
            h.u16(0)
            h.u16(0)
            h.u16(0)
            h.u32(style == .standard ? 0o100644 << 16 : 0)
            h.u32(farOffset ? ZipFormat.sentinel32 : UInt32(r.localHeaderOffset))
            h.append(r.name)
            h.append(extra.bytes)
            try output.write(h.bytes)
        }
        let directorySize = UInt64(output.position) - directoryOffset
        let count = UInt64(records.count)
        let needZip64 = style == .pytorch || alwaysWriteZip64EndRecords
            || count >= 0xFFFF || directorySize >= t || directoryOffset >= t
        var end = LEBytes()
        if needZip64 {
            let recordOffset = UInt64(output.position)
            end.u32(ZipFormat.zip64EndSignature)
            end.u64(44)
            end.u16(style == .pytorch ? 0x031E : 0x032D)
            end.u16(45)
            end.u32(0)
            end.u32(0)
            end.u64(count)
            end.u64(count)
            end.u64(directorySize)
            end.u64(directoryOffset)
            end.u32(ZipFormat.zip64LocatorSignature)
            end.u32(0)
            end.u64(recordOffset)
            end.u32(1)
        }
        end.u32(ZipFormat.endSignature)
        end.u16(0)
        end.u16(0)
        end.u16(UInt16(min(count, 0xFFFF)))
        end.u16(UInt16(min(count, 0xFFFF)))
        end.u32(directorySize >= t ? ZipFormat.sentinel32 : UInt32(directorySize))
        end.u32(directoryOffset >= t ? ZipFormat.sentinel32 : UInt32(directoryOffset))
        end.u16(0)
        try output.write(end.bytes)
    }

    private func appendPadding(to extra: inout LEBytes, pad: Int) {
        extra.u16(ZipFormat.paddingExtraID)
        extra.u16(UInt16(pad))
        extra.append(repeatElement(UInt8(ascii: "Z"), count: pad))
    }
}
