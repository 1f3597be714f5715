/// The string-valued attributes of an object header (message 0x0C), as Keras writes them:
/// `model_config` / `keras_version` (scalar variable-length strings), `layer_names` and
/// `weight_names` (1-D arrays of fixed- or variable-length strings).
///
/// | attribute message | layout |
/// |---|---|
/// | v1 | version, reserved, name size (2), datatype size (2), dataspace size (2); name, datatype, dataspace each padded to 8; data |
/// | v2 | version, flags, sizes as v1; name, datatype, dataspace unpadded; data |
/// | v3 | as v2 with a name encoding byte before the name |
///
/// | string datatype | element |
/// |---|---|
/// | fixed (class 3), size n | n bytes, cut at the first NUL (null-terminated / padded) or trailing spaces (space-padded) |
/// | variable-length (class 9, type 1) | length (4), global heap collection address (O), object index (4) |
///
/// A global heap collection ("GCOL", version 1, size L) holds objects of index (2), reference
/// count (2), reserved (4), size (L), data padded to 8; index 0 is the free space. Dense attribute
/// storage (attribute info message 0x15: version, flags, max creation index (2, flags bit 0),
/// fractal heap, name index) is read through ``HDF5DenseStorage``. Attributes of other datatypes
/// and shared datatypes are left out (not errors); a malformed string attribute is an error
/// naming its byte offset.
enum HDF5Attributes {
    /// At most this many bytes of attribute text per object (Keras's `model_config` of a large model is a few MB).
    static let maxTextBytes = 64 << 20

    static func strings(of header: HDF5ObjectHeader, _ b: HDF5Bytes) throws(FormatError) -> [(name: String, values: [String])] {
        var out: [(name: String, values: [String])] = []
        var budget = maxTextBytes
        var messages = header.all(0x0C)
        if let info = header.first(0x15) {
            let flags = try b.u8(info.offset + 1, "attribute info flags")
            let at = info.offset + 2 + (flags & 1 != 0 ? 2 : 0)
            let heap = try b.address(at, "attribute fractal heap address")
            let index = try b.address(at + b.offsetSize, "attribute name index address")
            if heap != HDF5Bytes.undefined, index != HDF5Bytes.undefined {
                for object in try HDF5DenseStorage.objects(heap: heap, index: index, recordType: 8, b, caps: HDF5Reader.Caps()) {
                    messages.append(HDF5ObjectHeader.Message(type: 0x0C, offset: object.lowerBound, size: object.count))
                }
            }
        }
        for m in messages {
            if let a = try attribute(m, b, budget: &budget) { out.append(a) }
        }
        return out
    }

    private static func attribute(_ m: HDF5ObjectHeader.Message, _ b: HDF5Bytes, budget: inout Int) throws(FormatError) -> (name: String, values: [String])? {
        let end = m.offset + m.size
        let version = try b.u8(m.offset, "attribute version")
        let flags = try b.u8(m.offset + 1, "attribute flags")
        let nameSize = try b.u16(m.offset + 2, "attribute name size")
        let typeSize = try b.u16(m.offset + 4, "attribute datatype size")
        let spaceSize = try b.u16(m.offset + 6, "attribute dataspace size")
        func padded(_ n: Int) -> Int { version == 1 ? (n + 7) / 8 * 8 : n }
        var at = m.offset + 8
        switch version {
        case 1: break
        case 2: guard flags & 0x03 == 0 else { return nil }            // shared datatype / dataspace
        case 3:
            guard flags & 0x03 == 0 else { return nil }
            at += 1
        default:
            throw FormatError(.unsupported, "attribute message version \(version) at byte \(m.offset)", offset: m.offset)
        }
        guard nameSize > 0, at + padded(nameSize) + padded(typeSize) + padded(spaceSize) <= end else {
            throw FormatError(.corrupt, "attribute at byte \(m.offset) is larger than its \(m.size)-byte message", offset: m.offset)
        }
        let nameRange = try b.range(at, nameSize, "attribute name")
        let rawName = UnsafeRawBufferPointer(rebasing: b.bytes[nameRange])
        let name = String(decoding: rawName.prefix { $0 != 0 }, as: UTF8.self)
        at += padded(nameSize)
        let type = at
        at += padded(typeSize)
        let spaceMessage = HDF5ObjectHeader.Message(type: 0x01, offset: at, size: spaceSize)
        let shape = try HDF5Dataset.dataspace(spaceMessage, b, caps: HDF5Reader.Caps())
        at += padded(spaceSize)
        guard let count = Checked.product(shape), count <= m.size else {
            throw FormatError(.corrupt, "attribute '\(name)' at byte \(m.offset) has more elements than its message has bytes", offset: m.offset)
        }
        let cls = try b.u8(type, "attribute datatype class") & 0x0F
        let bits = try b.u8(type + 1, "attribute datatype bit field")
        let size = try b.u32(type + 4, "attribute datatype size")
        guard let bytes = Checked.mul(count, size), at + bytes <= end else {
            throw FormatError(.corrupt, "attribute '\(name)' at byte \(m.offset): \(count) elements of \(size) bytes run past its message", offset: m.offset)
        }
        var values: [String] = []
        switch cls {
        case 3:
            for i in 0..<count {
                let r = try b.range(at + i * size, size, "attribute '\(name)' string")
                var s = UnsafeRawBufferPointer(rebasing: b.bytes[r]).prefix { $0 != 0 }
                if bits & 0x0F == 2 { while s.last == 0x20 { s = s.dropLast() } }
                values.append(String(decoding: s, as: UTF8.self))
            }
        case 9:
            guard bits & 0x0F == 1 else { return nil }                    // a sequence, not a string
            let element = 4 + b.offsetSize + 4
            guard size == element else {
                throw FormatError(.corrupt, "variable-length string attribute '\(name)' at byte \(m.offset) has \(size)-byte elements (expected \(element))", offset: type)
            }
            for i in 0..<count {
                let e = at + i * element
                let length = try b.u32(e, "string length")
                let collection = try b.address(e + 4, "global heap collection address")
                let index = try b.u32(e + 4 + b.offsetSize, "global heap object index")
                if length == 0 || collection == HDF5Bytes.undefined {
                    values.append("")
                    continue
                }
                budget -= length
                guard budget >= 0 else {
                    throw FormatError(.limitExceeded, "attribute text is over \(maxTextBytes) bytes", offset: e)
                }
                let r = try globalHeapObject(collection, index: index, b)
                values.append(String(decoding: UnsafeRawBufferPointer(rebasing: b.bytes[r.lowerBound..<(r.lowerBound + min(length, r.count))]), as: UTF8.self))
            }
        default:
            return nil
        }
        return (name, values)
    }

    /// The data of object `index` in the global heap collection at `address`.
    static func globalHeapObject(_ address: Int, index: Int, _ b: HDF5Bytes) throws(FormatError) -> Range<Int> {
        try b.expectSignature(address, "GCOL", "global heap collection")
        let version = try b.u8(address + 4, "global heap version")
        guard version == 1 else {
            throw FormatError(.unsupported, "global heap collection version \(version) at byte \(address)", offset: address)
        }
        let size = try b.length(address + 8, "global heap collection size")
        let whole = try b.range(address, size, "global heap collection")
        let header = 8 + b.lengthSize
        var at = address + 8 + b.lengthSize
        while at + header <= whole.upperBound {
            let k = try b.u16(at, "global heap object index")
            let objectSize = try b.length(at + 8, "global heap object size")
            if k == 0 { break }                                          // free space: the rest of the collection
            let data = at + header
            guard objectSize <= whole.upperBound - data else {
                throw FormatError(.corrupt, "global heap object \(k) at byte \(at) runs past its collection", offset: at)
            }
            if k == index { return data..<(data + objectSize) }
            at = data + (objectSize + 7) / 8 * 8
        }
        throw FormatError(.corrupt, "global heap collection at byte \(address) has no object \(index)", offset: address)
    }
}
