/// The members of a group, by either storage HDF5 has for them:
///
/// - **symbol table** (message 0x11: v1 B-tree address, local heap address). B-tree nodes
///   ("TREE", type 0) hold, per child, a key (heap offset, `lengthSize` bytes) and a child address;
///   level-0 children are symbol nodes ("SNOD": version 1, count (2), entries of link-name heap
///   offset, object header address, cache type (4), reserved (4), scratch (16)). Names are
///   NUL-terminated strings in the local heap's data segment ("HEAP": version 0, data size,
///   free-list offset, data address).
/// - **link messages** (0x06, compact storage): version 1, flags, link type (when flags bit 3),
///   creation order (8, bit 2), charset (1, bit 4), name length (1/2/4/8 bytes by bits 0–1), name,
///   then for a hard link the object header address. Soft and external links are skipped.
/// - **dense storage** (a link-info message 0x02: version, flags, max creation index (8, flags
///   bit 0), fractal heap address, name index address): link messages as fractal heap objects
///   listed by a v2 B-tree of type 5 (``HDF5DenseStorage``).
enum HDF5Groups {
    struct Link {
        var name: String
        var address: Int
        var at: Int
    }

    static func links(of header: HDF5ObjectHeader, _ b: HDF5Bytes, caps: HDF5Reader.Caps) throws(FormatError) -> [Link] {
        var out: [Link] = []
        if let table = header.first(0x11) {
            let tree = try b.address(table.offset, "group B-tree address")
            let heap = try b.address(table.offset + b.offsetSize, "group local heap address")
            let names = try LocalHeap(at: heap, b)
            var visited: Set<Int> = []
            try walk(tree, names: names, b, caps: caps, visited: &visited, depth: 0, into: &out)
        }
        if let info = header.first(0x02) {
            let flags = try b.u8(info.offset + 1, "link info flags")
            let at = info.offset + 2 + (flags & 1 != 0 ? 8 : 0)
            let heap = try b.address(at, "link info fractal heap address")
            let index = try b.address(at + b.offsetSize, "link name index address")
            if heap != HDF5Bytes.undefined {
                guard index != HDF5Bytes.undefined else {
                    throw FormatError(.corrupt, "group at byte \(header.address) has a link heap but no name index", offset: info.offset)
                }
                for object in try HDF5DenseStorage.objects(heap: heap, index: index, recordType: 5, b, caps: caps) {
                    if let l = try link(HDF5ObjectHeader.Message(type: 0x06, offset: object.lowerBound, size: object.count), b) { out.append(l) }
                }
            }
        }
        for m in header.all(0x06) {
            if let link = try link(m, b) { out.append(link) }
        }
        guard out.count <= caps.maxObjects else {
            throw FormatError(.limitExceeded, "group at byte \(header.address) has more than \(caps.maxObjects) members", offset: header.address)
        }
        return out
    }

    static func link(_ m: HDF5ObjectHeader.Message, _ b: HDF5Bytes) throws(FormatError) -> Link? {
        let end = m.offset + m.size
        var at = m.offset
        let version = try b.u8(at, "link message version")
        guard version == 1 else {
            throw FormatError(.unsupported, "link message version \(version) at byte \(at)", offset: at)
        }
        let flags = try b.u8(at + 1, "link message flags")
        at += 2
        var type = 0
        if flags & 0x08 != 0 { type = try b.u8(at, "link type"); at += 1 }
        if flags & 0x04 != 0 { at += 8 }
        if flags & 0x10 != 0 { at += 1 }
        let lengthBytes = [1, 2, 4, 8][flags & 3]
        let nameLength = try b.uint(at, size: lengthBytes, "link name length")
        at += lengthBytes
        let name = try b.range(at, nameLength, "link name")
        guard name.upperBound <= end else {
            throw FormatError(.corrupt, "link name at byte \(at) runs past its message", offset: at)
        }
        at = name.upperBound
        guard type == 0 else { return nil }
        guard at + b.offsetSize <= end else {
            throw FormatError(.corrupt, "hard link at byte \(m.offset) has no room for its address", offset: m.offset)
        }
        return Link(name: String(decoding: UnsafeRawBufferPointer(rebasing: b.bytes[name]), as: UTF8.self),
                    address: try b.address(at, "hard link address"), at: m.offset)
    }

    private static func walk(_ node: Int, names: LocalHeap, _ b: HDF5Bytes, caps: HDF5Reader.Caps,
                             visited: inout Set<Int>, depth: Int, into out: inout [Link]) throws(FormatError) {
        guard node != HDF5Bytes.undefined else { return }
        guard visited.insert(node).inserted else {
            throw FormatError(.corrupt, "group B-tree node at byte \(node) is reached twice (a cycle)", offset: node)
        }
        guard depth <= caps.maxDepth else {
            throw FormatError(.limitExceeded, "group B-tree deeper than \(caps.maxDepth) levels", offset: node)
        }
        try b.expectSignature(node, "TREE", "group B-tree node")
        let type = try b.u8(node + 4, "B-tree node type")
        guard type == 0 else {
            throw FormatError(.corrupt, "B-tree node at byte \(node) has type \(type); a group's is 0", offset: node + 4)
        }
        let level = try b.u8(node + 5, "B-tree node level")
        let used = try b.u16(node + 6, "B-tree entries used")
        var at = node + 8 + 2 * b.offsetSize + b.lengthSize   // siblings, then key 0
        for _ in 0..<used {
            let child = try b.address(at, "B-tree child address")
            at += b.offsetSize + b.lengthSize
            if level > 0 {
                try walk(child, names: names, b, caps: caps, visited: &visited, depth: depth + 1, into: &out)
            } else {
                try symbols(child, names: names, b, caps: caps, visited: &visited, into: &out)
            }
        }
    }

    private static func symbols(_ node: Int, names: LocalHeap, _ b: HDF5Bytes, caps: HDF5Reader.Caps,
                                visited: inout Set<Int>, into out: inout [Link]) throws(FormatError) {
        guard visited.insert(node).inserted else {
            throw FormatError(.corrupt, "symbol table node at byte \(node) is reached twice (a cycle)", offset: node)
        }
        try b.expectSignature(node, "SNOD", "symbol table node")
        let count = try b.u16(node + 6, "symbol count")
        let entry = 2 * b.offsetSize + 24
        for i in 0..<count {
            let at = node + 8 + i * entry
            let nameOffset = try b.length(at, "symbol name offset")
            let address = try b.address(at + b.offsetSize, "symbol object header address")
            guard out.count < caps.maxObjects else {
                throw FormatError(.limitExceeded, "a group has more than \(caps.maxObjects) members", offset: at)
            }
            out.append(Link(name: try names.name(at: nameOffset, b), address: address, at: at))
        }
    }

    struct LocalHeap {
        var data: Range<Int>

        init(at address: Int, _ b: HDF5Bytes) throws(FormatError) {
            try b.expectSignature(address, "HEAP", "local heap")
            let size = try b.length(address + 8, "local heap data size")
            let start = try b.address(address + 8 + 2 * b.lengthSize, "local heap data address")
            data = try b.range(start, size, "local heap data")
        }

        func name(at offset: Int, _ b: HDF5Bytes) throws(FormatError) -> String {
            guard offset < data.count else {
                throw FormatError(.corrupt, "link name offset \(offset) is outside the \(data.count)-byte local heap", offset: data.lowerBound)
            }
            return try b.cString(data.lowerBound + offset, limit: min(4096, data.count - offset), "link name")
        }
    }
}
