/// One object header (version 1 or 2, with its continuation blocks) as a list of messages.
///
/// | version 1 | bytes |
/// |---|---|
/// | version = 1, reserved, message count (2), reference count (4), header size (4), pad to 16 | 16 |
/// | each message: type (2), size (2), flags (1), reserved (3), data (size, 8-aligned) | 8 + size |
///
/// | version 2 (`OHDR`) | bytes |
/// |---|---|
/// | "OHDR", version = 2, flags; 4 × 4 times when flags bit 5; 2 × 2 phase change when bit 4 | 6… |
/// | chunk 0 size: 1, 2, 4 or 8 bytes (flags bits 0–1) | |
/// | each message: type (1), size (2), flags (1), creation order (2) when flags bit 2, data | 4… + size |
/// | checksum (4) after each chunk's messages (chunk 0's size excludes it); continuation chunks are "OCHK", messages, checksum | |
///
/// A continuation message (type 0x10: offset, length) adds a block; blocks are followed at most
/// ``HDF5Reader/maxHeaderBlocks`` times per header and never twice (a cycle is an error).
struct HDF5ObjectHeader {
    struct Message {
        var type: Int
        /// Where the message's data starts in the file, and its size.
        var offset: Int
        var size: Int
    }

    var address: Int
    var messages: [Message] = []

    func first(_ type: Int) -> Message? { messages.first { $0.type == type } }
    func all(_ type: Int) -> [Message] { messages.filter { $0.type == type } }

    static let continuation = 0x10

    init(at address: Int, in b: HDF5Bytes, limits: HDF5Reader.Caps) throws(FormatError) {
        self.address = address
        guard address >= 0 else {
            throw FormatError(.corrupt, "object header address is undefined", offset: nil)
        }
        var blocks: [(start: Int, end: Int, version2: Bool)] = []
        var seen: Set<Int> = []
        if b.hasSignature(address, "OHDR") {
            let version = try b.u8(address + 4, "object header version")
            guard version == 2 else {
                throw FormatError(.unsupported, "object header version \(version) at byte \(address) (lstmkit reads 1 and 2)", offset: address + 4)
            }
            let flags = try b.u8(address + 5, "object header flags")
            var at = address + 6
            if flags & 0x20 != 0 { at += 16 }
            if flags & 0x10 != 0 { at += 4 }
            let sizeBytes = [1, 2, 4, 8][flags & 3]
            let chunk = try b.uint(at, size: sizeBytes, "object header chunk size")
            at += sizeBytes
            let r = try b.range(at, chunk, "object header chunk")
            blocks.append((r.lowerBound, r.upperBound, true))
            try Self.read(blocks: &blocks, seen: &seen, flags: flags, into: &messages, b, limits)
            return
        }
        let version = try b.u8(address, "object header version")
        guard version == 1 else {
            throw FormatError(.unsupported, "object header version \(version) at byte \(address) (lstmkit reads 1 and 2)", offset: address)
        }
        let size = try b.u32(address + 8, "object header size")
        let r = try b.range(address + 16, size, "object header messages")
        blocks.append((r.lowerBound, r.upperBound, false))
        try Self.read(blocks: &blocks, seen: &seen, flags: 0, into: &messages, b, limits)
    }

    private static func read(blocks: inout [(start: Int, end: Int, version2: Bool)], seen: inout Set<Int>, flags: Int,
                             into messages: inout [Message], _ b: HDF5Bytes, _ limits: HDF5Reader.Caps) throws(FormatError) {
        var i = 0
        while i < blocks.count {
            let block = blocks[i]
            i += 1
            guard seen.insert(block.start).inserted else {
                throw FormatError(.corrupt, "object header continuation at byte \(block.start) is followed twice (a cycle)", offset: block.start)
            }
            guard blocks.count <= limits.maxHeaderBlocks else {
                throw FormatError(.limitExceeded, "an object header has more than \(limits.maxHeaderBlocks) continuation blocks", offset: block.start)
            }
            var at = block.start
            // A gap shorter than a message header may end a version-2 block.
            let end = block.end
            let headerSize = block.version2 ? (flags & 0x04 != 0 ? 6 : 4) : 8
            while at + headerSize <= end {
                let type: Int, size: Int
                if block.version2 {
                    type = try b.u8(at, "message type")
                    size = try b.u16(at + 1, "message size")
                } else {
                    type = try b.u16(at, "message type")
                    size = try b.u16(at + 2, "message size")
                }
                let data = at + headerSize
                guard let next = Checked.add(data, size), next <= end else {
                    throw FormatError(.corrupt, "header message of type \(type) at byte \(at) (\(size) bytes) runs past its header block ending at byte \(end)", offset: at)
                }
                guard messages.count < limits.maxMessages else {
                    throw FormatError(.limitExceeded, "an object header has more than \(limits.maxMessages) messages", offset: at)
                }
                messages.append(Message(type: type, offset: data, size: size))
                if type == continuation {
                    let offset = try b.address(data, "continuation offset")
                    let length = try b.length(data + b.offsetSize, "continuation length")
                    guard offset >= 0 else {
                        throw FormatError(.corrupt, "continuation message at byte \(at) has an undefined address", offset: at)
                    }
                    if block.version2 {
                        try b.expectSignature(offset, "OCHK", "object header continuation")
                        let r = try b.range(offset + 4, length - 8, "object header continuation")
                        blocks.append((r.lowerBound, r.upperBound, true))
                    } else {
                        let r = try b.range(offset, length, "object header continuation")
                        blocks.append((r.lowerBound, r.upperBound, false))
                    }
                }
                at = next
            }
        }
    }
}
