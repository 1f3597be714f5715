/// Dense storage (HDF5 1.8+, `libver="latest"`): a group's link messages, or an object's attribute
/// messages, kept as objects of a fractal heap and indexed by name in a version-2 B-tree.
///
/// | structure | layout |
/// |---|---|
/// | fractal heap header `FRHP` | version 0, heap ID length (2), I/O filter length (2), flags, max managed object size (4), 11 sizes and addresses, table width (2), starting block size (L), max direct block size (L), max heap size in bits (2), starting rows (2), root block address (O), current root rows (2) |
/// | direct block `FHDB` | version, heap header address (O), block offset (⌈bits / 8⌉), objects (offsets in the heap's address space count from the block's start) |
/// | indirect block `FHIB` | version, heap header address (O), block offset, child addresses (O each) row by row: rows 0 and 1 of starting-size blocks, row r > 1 of 2^(r−1) × that; rows over the max direct size are indirect blocks |
/// | managed heap ID | byte 0 (version 0, type 0 in bits 4–5), offset (⌈bits / 8⌉), length (bytes for min(max direct, max object) size) |
/// | v2 B-tree header `BTHD` | version 0, type, node size (4), record size (2), depth (2), split, merge, root address (O), root records (2), total records (L) |
/// | leaf `BTLF` / internal `BTIN` | version, type, records; an internal node adds n + 1 child pointers: address (O), records in the child, records under it (depth > 1) |
///
/// Record types read: 5 (link name index: hash (4), heap ID) and 8 (attribute name index: heap ID,
/// message flags, creation order (4), hash (4)). Filtered heaps, huge objects and tiny objects are
/// refused by name. Block sizes are checked powers of two; recursion is bounded by the shrinking
/// block sizes and the B-tree depth (at most 16); every node is visited once.
enum HDF5DenseStorage {
    /// The file ranges of the heap objects a B-tree of type `recordType` lists, in index order.
    static func objects(heap: Int, index: Int, recordType: Int, _ b: HDF5Bytes, caps: HDF5Reader.Caps) throws(FormatError) -> [Range<Int>] {
        let h = try FractalHeap(at: heap, b)
        var out: [Range<Int>] = []
        try BTree2.records(at: index, type: recordType, b, caps: caps) { record, size throws(FormatError) in
            let id = recordType == 5 ? record + 4 : record
            guard (recordType == 5 ? size - 4 : size - 9) >= h.idLength else {
                throw FormatError(.corrupt, "B-tree record at byte \(record) is too short for a \(h.idLength)-byte heap ID", offset: record)
            }
            out.append(try h.object(id: id, b))
            guard out.count <= caps.maxObjects else {
                throw FormatError(.limitExceeded, "dense storage at byte \(heap) holds more than \(caps.maxObjects) objects", offset: heap)
            }
        }
        return out
    }

    struct FractalHeap {
        var address: Int
        var idLength: Int
        var width: Int
        var startBlock: Int
        var maxDirect: Int
        var heapBits: Int
        var root: Int
        var rootRows: Int
        var checksummedBlocks: Bool

        var offsetBytes: Int { (heapBits + 7) / 8 }
        var lengthBytes: Int

        init(at address: Int, _ b: HDF5Bytes) throws(FormatError) {
            self.address = address
            try b.expectSignature(address, "FRHP", "fractal heap header")
            let version = try b.u8(address + 4, "fractal heap version")
            guard version == 0 else { throw FormatError(.unsupported, "fractal heap version \(version) at byte \(address)", offset: address) }
            idLength = try b.u16(address + 5, "heap ID length")
            let filters = try b.u16(address + 7, "heap I/O filter length")
            guard filters == 0 else {
                throw FormatError(.unsupported, "fractal heap at byte \(address) is filtered (compressed dense storage)", offset: address)
            }
            checksummedBlocks = try b.u8(address + 9, "fractal heap flags") & 0x02 != 0
            let maxObject = try b.u32(address + 10, "max managed object size")
            var at = address + 14 + b.lengthSize + b.offsetSize + b.lengthSize + b.offsetSize + 8 * b.lengthSize
            width = try b.u16(at, "table width")
            startBlock = try b.length(at + 2, "starting block size")
            maxDirect = try b.length(at + 2 + b.lengthSize, "max direct block size")
            at += 2 + 2 * b.lengthSize
            heapBits = try b.u16(at, "max heap size")
            root = try b.address(at + 4, "root block address")
            rootRows = try b.u16(at + 4 + b.offsetSize, "root indirect block rows")
            func isPowerOfTwo(_ v: Int) -> Bool { v > 0 && v & (v - 1) == 0 }
            guard isPowerOfTwo(width), isPowerOfTwo(startBlock), isPowerOfTwo(maxDirect), maxDirect >= startBlock,
                  (1...64).contains(heapBits), idLength >= 1 + (heapBits + 7) / 8, rootRows <= 64 else {
                throw FormatError(.corrupt, "fractal heap at byte \(address) has an impossible doubling table (width \(width), blocks \(startBlock)…\(maxDirect), \(heapBits) bits, \(rootRows) rows)", offset: address)
            }
            func encodedSize(_ v: Int) -> Int { v <= 0 ? 1 : (Int.bitWidth - 1 - v.leadingZeroBitCount) / 8 + 1 }
            lengthBytes = min(encodedSize(maxDirect), encodedSize(maxObject))
        }

        /// Bytes each block of row `r` spans (nil when it overflows).
        func rowSize(_ r: Int) -> Int? {
            r <= 1 ? startBlock : (r - 1 < 62 ? Checked.mul(startBlock, 1 << (r - 1)) : nil)
        }

        /// The file range of the managed object whose heap ID starts at `id`.
        func object(id: Int, _ b: HDF5Bytes) throws(FormatError) -> Range<Int> {
            let flags = try b.u8(id, "heap ID")
            guard flags >> 6 == 0 else { throw FormatError(.unsupported, "heap ID version \(flags >> 6) at byte \(id)", offset: id) }
            switch (flags >> 4) & 3 {
            case 0: break
            case 1: throw FormatError(.unsupported, "huge fractal heap object at byte \(id) (a link or attribute over the heap's object size)", offset: id)
            case 2:
                let length = (flags & 0x0F) + 1
                guard length < idLength else { throw FormatError(.corrupt, "tiny heap object at byte \(id) is longer than its ID", offset: id) }
                return try b.range(id + 1, length, "tiny heap object")
            default: throw FormatError(.corrupt, "heap ID at byte \(id) has type 3", offset: id)
            }
            let offset = try b.uint(id + 1, size: offsetBytes, "heap object offset")
            let length = try b.uint(id + 1 + offsetBytes, size: lengthBytes, "heap object length")
            if rootRows == 0 {
                return try direct(root, base: 0, size: startBlock, offset: offset, length: length, b)
            }
            return try indirect(root, base: 0, rows: rootRows, offset: offset, length: length, b, depth: 0)
        }

        private func direct(_ block: Int, base: Int, size: Int, offset: Int, length: Int, _ b: HDF5Bytes) throws(FormatError) -> Range<Int> {
            try b.expectSignature(block, "FHDB", "fractal heap direct block")
            let within = offset - base
            let header = 5 + b.offsetSize + offsetBytes + (checksummedBlocks ? 4 : 0)
            guard within >= header, length > 0, let end = Checked.add(within, length), end <= size else {
                throw FormatError(.corrupt, "heap object at heap offset \(offset) (\(length) bytes) lies outside direct block at byte \(block)", offset: block)
            }
            return try b.range(block + within, length, "heap object")
        }

        private func indirect(_ block: Int, base: Int, rows: Int, offset: Int, length: Int, _ b: HDF5Bytes, depth: Int) throws(FormatError) -> Range<Int> {
            guard depth < 16 else { throw FormatError(.limitExceeded, "fractal heap nests indirect blocks deeper than 16", offset: block) }
            try b.expectSignature(block, "FHIB", "fractal heap indirect block")
            let entries = block + 5 + b.offsetSize + offsetBytes
            var rowStart = base
            for r in 0..<rows {
                guard let size = rowSize(r), let span = Checked.mul(size, width) else { break }
                if offset >= rowStart, offset - rowStart < span {
                    let column = (offset - rowStart) / size
                    let child = try b.address(entries + (r * width + column) * b.offsetSize, "fractal heap child block address")
                    guard child != HDF5Bytes.undefined else {
                        throw FormatError(.corrupt, "heap offset \(offset) falls in an unallocated block of the indirect block at byte \(block)", offset: block)
                    }
                    let childBase = rowStart + column * size
                    if size <= maxDirect { return try direct(child, base: childBase, size: size, offset: offset, length: length, b) }
                    // A child indirect block of `size` bytes has as many rows as it takes to span them.
                    var childRows = 0, covered = 0
                    while covered < size, let s = rowSize(childRows), let w = Checked.mul(s, width) {
                        covered += w
                        childRows += 1
                    }
                    guard childRows < rows else { throw FormatError(.corrupt, "fractal heap indirect block at byte \(child) does not shrink", offset: child) }
                    return try indirect(child, base: childBase, rows: childRows, offset: offset, length: length, b, depth: depth + 1)
                }
                guard let next = Checked.add(rowStart, span) else { break }
                rowStart = next
            }
            throw FormatError(.corrupt, "heap offset \(offset) is outside the fractal heap's \(rows)-row root at byte \(block)", offset: block)
        }
    }

    enum BTree2 {
        /// Calls `body(record offset, record size)` for every record, in key order.
        static func records(at address: Int, type: Int, _ b: HDF5Bytes, caps: HDF5Reader.Caps,
                            _ body: (Int, Int) throws(FormatError) -> Void) throws(FormatError) {
            try b.expectSignature(address, "BTHD", "v2 B-tree header")
            let found = try b.u8(address + 5, "v2 B-tree type")
            guard found == type else { throw FormatError(.corrupt, "v2 B-tree at byte \(address) has type \(found), expected \(type)", offset: address) }
            let nodeSize = try b.u32(address + 6, "v2 B-tree node size")
            let recordSize = try b.u16(address + 10, "v2 B-tree record size")
            let depth = try b.u16(address + 12, "v2 B-tree depth")
            let root = try b.address(address + 16, "v2 B-tree root address")
            let rootRecords = try b.u16(address + 16 + b.offsetSize, "v2 B-tree root records")
            guard recordSize > 0, nodeSize > 10 + recordSize, depth <= 16 else {
                throw FormatError(.corrupt, "v2 B-tree at byte \(address): node size \(nodeSize), record size \(recordSize), depth \(depth)", offset: address)
            }
            if root == HDF5Bytes.undefined || rootRecords == 0 { return }
            // Widths of the child pointers' record counts, as libhdf5 sizes them.
            func encodedSize(_ v: Int) -> Int { v <= 0 ? 1 : (Int.bitWidth - 1 - v.leadingZeroBitCount) / 8 + 1 }
            var maxRecords = [(nodeSize - 10) / recordSize]
            var cumulative = [maxRecords[0]]
            let countBytes = encodedSize(maxRecords[0])
            var cumulativeBytes = [0]
            for d in 1...max(1, depth) {
                let pointer = b.offsetSize + countBytes + (d > 1 ? cumulativeBytes[d - 1] : 0)
                let n = max(0, (nodeSize - 10 - pointer) / (recordSize + pointer))
                maxRecords.append(n)
                let total = Checked.add(Checked.mul(n + 1, cumulative[d - 1]) ?? Int.max / 2, n) ?? Int.max / 2
                cumulative.append(total)
                cumulativeBytes.append(encodedSize(total))
            }
            var visited: Set<Int> = []
            func node(_ at: Int, records: Int, depth d: Int) throws(FormatError) {
                guard visited.insert(at).inserted, visited.count <= caps.maxObjects else {
                    throw FormatError(.corrupt, "v2 B-tree node at byte \(at) is reached twice (or the tree is too large)", offset: at)
                }
                guard records <= maxRecords[d] else {
                    throw FormatError(.corrupt, "v2 B-tree node at byte \(at) claims \(records) records; at most \(maxRecords[d]) fit", offset: at)
                }
                try b.expectSignature(at, d == 0 ? "BTLF" : "BTIN", d == 0 ? "v2 B-tree leaf" : "v2 B-tree internal node")
                let first = at + 6
                if d == 0 {
                    for i in 0..<records { try body(first + i * recordSize, recordSize) }
                    return
                }
                let pointerSize = b.offsetSize + countBytes + (d > 1 ? cumulativeBytes[d - 1] : 0)
                let pointers = first + records * recordSize
                for i in 0...records {
                    let p = pointers + i * pointerSize
                    let child = try b.address(p, "v2 B-tree child address")
                    let childRecords = try b.uint(p + b.offsetSize, size: countBytes, "v2 B-tree child records")
                    try node(child, records: childRecords, depth: d - 1)
                    if i < records { try body(first + i * recordSize, recordSize) }
                }
            }
            try node(root, records: rootRecords, depth: depth)
        }
    }
}
