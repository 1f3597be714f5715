import Foundation
@testable import TensorFormats

/// Temporary files and byte patching for the ZIP / npy / npz tests.
enum Scratch {
    /// A fresh empty folder under the system's temporary directory.
    static func folder() -> String {
        let path = NSTemporaryDirectory() + "lstmkit-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func file(_ name: String = "f.bin") -> String { folder() + "/" + name }

    static func write(_ bytes: [UInt8], name: String = "f.bin") -> String {
        let path = file(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    static func read(_ path: String) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: path) ?? Data())
    }

    static func map(_ bytes: [UInt8], name: String = "f.bin") throws(FormatError) -> MappedFile {
        try MappedFile(path: write(bytes, name: name))
    }

    static func archive(_ bytes: [UInt8], limits: Limits = .default) throws(FormatError) -> ZipArchive {
        try ZipArchive(file: map(bytes, name: "a.zip"), limits: limits)
    }

    /// Bytes of an archive built by `body` with a ``ZipWriter``.
    static func zip(style: ZipWriter.Style = .standard, alignment: Int = 0, zip64EndRecords: Bool = false,
                    zip64Threshold: UInt64? = nil, _ body: (ZipWriter) throws -> Void) throws -> [UInt8] {
        let path = file("w.zip")
        let out = try OutputFile(path: path, overwrite: false)
        let writer = ZipWriter(output: out, alignment: alignment, style: style, alwaysWriteZip64EndRecords: zip64EndRecords)
        if let zip64Threshold { writer.zip64Threshold = zip64Threshold }
        try body(writer)
        try writer.finish()
        try out.commit()
        return read(path)
    }
}

/// Little-endian patching and searching in test byte arrays.
extension Array where Element == UInt8 {
    func u16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(self[at + $1]) << (8 * UInt32($1)) } }
    func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(self[at + $1]) << (8 * UInt64($1)) } }
    mutating func set16(_ at: Int, _ v: UInt16) { for i in 0..<2 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt16(i))) } }
    mutating func set32(_ at: Int, _ v: UInt32) { for i in 0..<4 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
    mutating func set64(_ at: Int, _ v: UInt64) { for i in 0..<8 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }

    /// Offsets of every occurrence of the 4-byte little-endian `signature`.
    func offsets(ofSignature signature: UInt32) -> [Int] {
        guard count >= 4 else { return [] }
        return (0...(count - 4)).filter { u32($0) == signature }
    }

    /// Offsets of the central directory entries (in order).
    var centralEntries: [Int] { offsets(ofSignature: 0x0201_4B50) }
    var endRecord: Int { offsets(ofSignature: 0x0605_4B50).last ?? -1 }

    init(ascii: String) { self = Array(ascii.utf8) }
}

extension Data {
    init?(base64: String) { self.init(base64Encoded: base64) }
}

extension ZipArchive {
    /// A copy of a member's bytes (keeps the storage alive while copying).
    func contents(_ entry: ZipEntry, verifyCRC: Bool = true) throws -> [UInt8] {
        let storage = try data(of: entry, verifyCRC: verifyCRC)
        return withExtendedLifetime(storage) { Array(storage.bytes) }
    }
}
