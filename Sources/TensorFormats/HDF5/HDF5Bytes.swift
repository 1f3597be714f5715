/// Bounds-checked little-endian reads of an HDF5 file's bytes. Every read names the byte offset
/// where it failed; nothing traps on file content.
///
/// Offsets and lengths are `offsetSize` / `lengthSize` bytes (2, 4 or 8, from the superblock);
/// an address of all 1 bits is HDF5's "undefined address" (``undefined``).
struct HDF5Bytes {
    let bytes: UnsafeRawBufferPointer
    var offsetSize = 8
    var lengthSize = 8
    /// Added to every address read from the file (the superblock's base address).
    var base = 0

    static let undefined = -1

    var count: Int { bytes.count }

    func range(_ at: Int, _ n: Int, _ what: String) throws(FormatError) -> Range<Int> {
        guard at >= 0, n >= 0, let end = Checked.add(at, n), end <= bytes.count else {
            throw FormatError(.truncated, "\(what) at byte \(at) (\(n) bytes) reaches past the end of the \(bytes.count)-byte file", offset: at)
        }
        return at..<end
    }

    func u8(_ at: Int, _ what: String) throws(FormatError) -> Int {
        Int(bytes[try range(at, 1, what).lowerBound])
    }

    /// An unsigned little-endian integer of `size` (1…8) bytes; over Int.max is an error.
    func uint(_ at: Int, size: Int, _ what: String) throws(FormatError) -> Int {
        let r = try range(at, size, what)
        var v: UInt64 = 0
        for i in 0..<size { v |= UInt64(bytes[r.lowerBound + i]) << (8 * UInt64(i)) }
        guard v <= UInt64(Int.max) else {
            throw FormatError(.corrupt, "\(what) \(v) at byte \(at) is too large", offset: at)
        }
        return Int(v)
    }

    func u16(_ at: Int, _ what: String) throws(FormatError) -> Int { try uint(at, size: 2, what) }
    func u32(_ at: Int, _ what: String) throws(FormatError) -> Int { try uint(at, size: 4, what) }

    /// A file address (plus the base address) inside the file, or ``undefined``. Every address
    /// is checked here, so offsets computed from it cannot overflow.
    func address(_ at: Int, _ what: String) throws(FormatError) -> Int {
        let r = try range(at, offsetSize, what)
        if bytes[r].allSatisfy({ $0 == 0xFF }) { return HDF5Bytes.undefined }
        let v = try uint(at, size: offsetSize, what)
        guard let a = Checked.add(v, base), a < bytes.count else {
            throw FormatError(.truncated, "\(what) \(v) at byte \(at) points past the end of the \(bytes.count)-byte file", offset: at)
        }
        return a
    }

    func length(_ at: Int, _ what: String) throws(FormatError) -> Int { try uint(at, size: lengthSize, what) }

    /// Whether the 4 bytes at `at` are `signature` (ASCII).
    func hasSignature(_ at: Int, _ signature: String) -> Bool {
        let s = Array(signature.utf8)
        guard at >= 0, at <= bytes.count - s.count else { return false }
        return (0..<s.count).allSatisfy { bytes[at + $0] == s[$0] }
    }

    func expectSignature(_ at: Int, _ signature: String, _ what: String) throws(FormatError) {
        _ = try range(at, signature.utf8.count, what)
        guard hasSignature(at, signature) else {
            throw FormatError(.corrupt, "\(what) at byte \(at) does not start with \"\(signature)\"", offset: at)
        }
    }

    /// A NUL-terminated string starting at `at`, at most `limit` bytes before the NUL.
    func cString(_ at: Int, limit: Int, _ what: String) throws(FormatError) -> String {
        _ = try range(at, 1, what)
        var end = at
        while end < bytes.count && bytes[end] != 0 {
            end += 1
            guard end - at <= limit else {
                throw FormatError(.limitExceeded, "\(what) at byte \(at) is longer than \(limit) bytes", offset: at)
            }
        }
        guard end < bytes.count else { throw FormatError(.truncated, "\(what) at byte \(at) has no terminating NUL", offset: at) }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<end]), as: UTF8.self)
    }
}
