/// Record signatures, sentinels and little-endian field access shared by ``ZipArchive`` and
/// ``ZipWriter`` (PKWARE APPNOTE 6.3, sections 4.3 and 4.5).
enum ZipFormat {
    static let localHeaderSignature: UInt32 = 0x0403_4B50
    static let centralHeaderSignature: UInt32 = 0x0201_4B50
    static let endSignature: UInt32 = 0x0605_4B50
    static let zip64EndSignature: UInt32 = 0x0606_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    static let dataDescriptorSignature: UInt32 = 0x0807_4B50

    static let localHeaderSize = 30
    static let centralHeaderSize = 46
    static let endSize = 22
    static let zip64EndSize = 56
    static let zip64LocatorSize = 20

    /// A 32-bit field holding this means "see the zip64 extra field".
    static let sentinel32: UInt32 = 0xFFFF_FFFF
    static let sentinel16: UInt16 = 0xFFFF
    static let zip64ExtraID: UInt16 = 0x0001
    /// PyTorch's alignment padding extra field, `'F' 'B'` read little-endian; payload is `'Z'` bytes.
    static let paddingExtraID: UInt16 = 0x4246

    /// 1980-01-01 00:00 in DOS date/time (the earliest representable moment), for reproducible files.
    static let dosDate: UInt16 = 0x0021
    static let dosTime: UInt16 = 0

    /// Flag bits (APPNOTE 4.4.4).
    static let flagEncrypted: UInt16 = 1 << 0
    static let flagDataDescriptor: UInt16 = 1 << 3
    static let flagStrongEncryption: UInt16 = 1 << 6
    static let flagUTF8: UInt16 = 1 << 11
    static let flagEncryptedDirectory: UInt16 = 1 << 13

    /// A readable name for a compression method number, for error messages.
    static func methodName(_ m: UInt16) -> String {
        switch m {
        case 1: "shrink"
        case 6: "implode"
        case 9: "deflate64"
        case 12: "bzip2"
        case 14: "lzma"
        case 93: "zstandard"
        case 95: "xz"
        case 99: "AES encryption"
        default: "method \(m)"
        }
    }

    /// Decodes a member name: UTF-8 when `utf8` (flag bit 11) is set, otherwise code page 437 as
    /// CPython's zipfile does (identical to ASCII for ASCII names). Nil for invalid UTF-8.
    static func decodeName(_ bytes: UnsafeRawBufferPointer, utf8: Bool) -> String? {
        if utf8 || bytes.allSatisfy({ $0 < 0x80 }) {
            return String(validating: bytes, as: UTF8.self)
        }
        var s = String.UnicodeScalarView()
        for b in bytes {
            if b < 0x80 {
                s.append(Unicode.Scalar(b))
            } else if let u = Unicode.Scalar(cp437High[Int(b) - 0x80]) {
                s.append(u)
            }
        }
        return String(s)
    }

    /// Code page 437, bytes 0x80...0xFF (checked against Python's `bytes(range(128, 256)).decode('cp437')`).
    static let cp437High: [UInt16] = [
        0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
        0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, 0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,
        0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
        0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
        0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
        0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B, 0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
        0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
        0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, 0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
    ]
}

/// Little-endian field reads. Callers check bounds first.
extension UnsafeRawBufferPointer {
    @inline(__always) func le16(_ at: Int) -> UInt16 { UInt16(littleEndian: loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    @inline(__always) func le32(_ at: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    @inline(__always) func le64(_ at: Int) -> UInt64 { UInt64(littleEndian: loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
}

/// Little-endian record building for writers.
struct LEBytes {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func append<S: Sequence>(_ s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }
    var count: Int { bytes.count }
}
