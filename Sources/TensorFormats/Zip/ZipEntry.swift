/// How a ZIP member's bytes are stored. Only these two are read or written; the reader refuses
/// others (bzip2, lzma, zstd, encryption) by name.
public enum ZipMethod: UInt16, Sendable, Equatable {
    case stored = 0
    case deflated = 8
}

/// One member of a ZIP archive, as its central directory entry describes it (zip64 values already
/// substituted). Offsets are byte positions in the archive file; sizes are in bytes.
public struct ZipEntry: Sendable, Equatable {
    /// The member name: an opaque key (UTF-8 when the entry says so, else code page 437). Names such
    /// as `../x` or `/abs` are never used as paths.
    public let name: String
    public let method: ZipMethod
    public let compressedSize: Int
    public let uncompressedSize: Int
    /// CRC-32 of the uncompressed bytes, as recorded in the central directory.
    public let crc32: UInt32
    public let localHeaderOffset: Int
    /// First byte of the member's (compressed) data: local header offset + 30 + the local header's
    /// name and extra lengths.
    public let dataOffset: Int
    /// General-purpose flags from the central directory (bit 3: data descriptor, bit 11: UTF-8 name).
    public let flags: UInt16

    /// Bytes of the member's data in the archive file.
    public var dataRange: Range<Int> { dataOffset..<(dataOffset + compressedSize) }
}
