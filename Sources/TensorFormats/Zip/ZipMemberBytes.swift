/// A range of a DEFLATED member's uncompressed bytes, made on demand (``ZipArchive/lazyData(of:range:tensor:)``).
///
/// Every use inflates the whole member in 1 MiB pieces, keeps the bytes of `range`, and checks
/// what any inflate checks: no more and no fewer bytes than the central directory declares, and
/// their CRC-32. Errors name the archive and member; offsets are file offsets.
struct ZipMemberBytes: DeferredBytes {
    let archive: ZipArchive
    let entry: ZipEntry
    let range: Range<Int>
    var verifyCRC = true

    var count: Int { range.count }
    var file: String { archive.path }
    var member: String? { entry.name }
    var what: String { "inflating this member (\(entry.uncompressedSize) bytes from \(entry.compressedSize))" }

    func fill(_ destination: UnsafeMutableRawBufferPointer) throws(FormatError) {
        var written = 0
        try stream(0..<count) { piece in
            UnsafeMutableRawBufferPointer(rebasing: destination[written..<(written + piece.count)]).copyMemory(from: piece)
            written += piece.count
        }
    }

    /// `part` is relative to ``range``.
    func stream(_ part: Range<Int>, into sink: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
        let wanted = (range.lowerBound + part.lowerBound)..<(range.lowerBound + part.upperBound)
        let source = entry.dataRange
        var position = 0
        var crc: UInt32 = 0
        var sinkError: FormatError?
        var released = 0
        let file = archive.file
        // The compressed pages behind zlib's input are released as it goes, so streaming a member
        // keeps neither its inflated nor its compressed bytes resident.
        func release(upTo consumed: Int) {
            guard consumed - released >= Zlib.streamInput else { return }
            file.release((source.lowerBound + released)..<(source.lowerBound + consumed))
            released = consumed
        }
        do throws(FormatError) {
            try Zlib.inflateRaw(UnsafeRawBufferPointer(rebasing: archive.file.bytes[source]),
                                declaredSize: entry.uncompressedSize, consumed: release) { (piece: UnsafeRawBufferPointer) throws(FormatError) -> Bool in
                crc = Zlib.crc32(piece, initial: crc)
                let start = max(wanted.lowerBound, position), end = min(wanted.upperBound, position + piece.count)
                if start < end {
                    do throws(FormatError) {
                        try sink(UnsafeRawBufferPointer(rebasing: piece[(start - position)..<(end - position)]))
                    } catch {
                        sinkError = error
                        return false
                    }
                }
                position += piece.count
                return true
            }
        } catch {
            throw FormatError(error.reason, error.message, file: archive.path, entry: entry.name,
                              offset: error.offset.map { source.lowerBound + $0 })
        }
        file.release((source.lowerBound + released)..<source.upperBound)
        if let sinkError { throw sinkError }
        guard crc == entry.crc32 || !verifyCRC else { throw ZipArchive.crcMismatch(entry, found: crc, in: archive.path) }
    }
}
