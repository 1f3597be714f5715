import CZlib

/// A chunked dataset (layout class 2) assembled into one row-major buffer under the memory budget.
///
/// | layout message | chunk index |
/// |---|---|
/// | v3: version, class 2, rank + 1, B-tree address (O), rank + 1 chunk dims (4 each; the last is the element size) | v1 B-tree of type 1: keys chunk size (4), filter mask (4), rank + 1 offsets (8 each); level-0 children are chunks |
/// | v4 / v5: version, class 2, flags, rank + 1, dim width w, rank + 1 dims (w each), index type, index parameters, address (O) | 1 single chunk (flags bit 1: filtered size (L), filter mask (4)); 2 implicit (chunks back to back); 3 fixed array (`FAHD` / `FADB`, unpaged) |
///
/// Filter pipeline message (0x0B) v1 / v2: deflate (1, zlib streams), shuffle (2) and fletcher32
/// (3, checked) are applied in reverse order unless the chunk's filter mask skips them; any other
/// filter, an extensible-array or v2 B-tree index, and a paged fixed array make the dataset skipped
/// (listed in the notes). Every chunk is checked against the file and the chunk grid; a chunk
/// must inflate to exactly its size.
enum HDF5Chunks {
    struct Filter {
        var id: Int
    }

    /// The dataset's bytes, or why it is skipped.
    static func read(_ h: HDF5ObjectHeader, layout m: HDF5ObjectHeader.Message, shape: [Int], itemSize: Int,
                     _ b: HDF5Bytes, caps: HDF5Reader.Caps) throws(FormatError) -> Result<TensorStorage, HDF5Dataset.Skip> {
        let filters: [Filter]
        switch try pipeline(h.first(0x0B), b) {
        case .success(let f): filters = f
        case .failure(let skip): return .failure(skip)
        }
        let version = try b.u8(m.offset, "layout version")
        let rank = shape.count
        var chunk: [Int] = []
        var index: Index
        switch version {
        case 3:
            let dims = try b.u8(m.offset + 2, "chunk dimensionality")
            guard dims == rank + 1 else { throw corrupt("chunk dimensionality \(dims) does not match the dataset's rank \(rank)", at: m.offset) }
            let tree = try b.address(m.offset + 3, "chunk B-tree address")
            for k in 0..<dims { chunk.append(try b.u32(m.offset + 3 + b.offsetSize + 4 * k, "chunk dimension")) }
            index = .btree(tree)
        case 4, 5:
            let flags = try b.u8(m.offset + 2, "chunked layout flags")
            let dims = try b.u8(m.offset + 3, "chunk dimensionality")
            let width = try b.u8(m.offset + 4, "chunk dimension width")
            guard dims == rank + 1, (1...8).contains(width) else {
                throw corrupt("chunk dimensionality \(dims) (width \(width)) does not match the dataset's rank \(rank)", at: m.offset)
            }
            var at = m.offset + 5
            for _ in 0..<dims {
                chunk.append(try b.uint(at, size: width, "chunk dimension"))
                at += width
            }
            let type = try b.u8(at, "chunk index type")
            at += 1
            switch type {
            case 1:
                var size: Int?, mask = 0
                if flags & 0x02 != 0 {
                    size = try b.length(at, "filtered chunk size")
                    mask = try b.u32(at + b.lengthSize, "chunk filter mask")
                    at += b.lengthSize + 4
                }
                index = .single(try b.address(at, "chunk address"), size: size, mask: mask)
            case 2: index = .implicit(try b.address(at, "chunk address"))
            case 3: index = .fixedArray(try b.address(at + 1, "fixed array address"))
            case 4: return .failure(.init(reason: "chunked storage indexed by an extensible array (a resizable dataset)"))
            case 5: return .failure(.init(reason: "chunked storage indexed by a version-2 B-tree (a resizable dataset)"))
            default: throw FormatError(.unsupported, "chunk index type \(type) at byte \(at - 1)", offset: at - 1)
            }
        default:
            return .failure(.init(reason: "chunked storage in layout version \(version)"))
        }
        guard chunk.last == itemSize, chunk.dropLast().allSatisfy({ $0 > 0 }) else {
            throw corrupt("chunk dimensions \(chunk) do not fit \(itemSize)-byte elements", at: m.offset)
        }
        chunk.removeLast()
        guard let chunkElements = Checked.product(chunk), let chunkBytes = Checked.mul(chunkElements, itemSize),
              let totalElements = Checked.product(shape), let totalBytes = Checked.mul(totalElements, itemSize) else {
            throw FormatError(.limitExceeded, "chunk dimensions \(chunk) of a dataset of shape \(shape) are too large", offset: m.offset)
        }
        // Deflate expands at most about 1032:1, so a dataset far larger than that of the file is a
        // lie (refused before anything is allocated), as is an edge chunk far larger than the data.
        let plausible = Checked.mul(b.count, 1100).flatMap { Checked.add($0, 1 << 20) } ?? Int.max
        guard totalBytes <= plausible else {
            throw FormatError(.hostile, "chunked dataset of shape \(shape) claims \(totalBytes) bytes, more than a \(b.count)-byte file can hold even compressed", offset: m.offset)
        }
        guard chunkBytes <= (Checked.mul(max(totalBytes, 1), 64).flatMap { Checked.add($0, 1 << 20) } ?? Int.max) else {
            throw FormatError(.hostile, "chunks of \(chunkBytes) bytes for a dataset of \(totalBytes) bytes", offset: m.offset)
        }
        let grid = zip(shape, chunk).map { $0 / $1 + ($0 % $1 == 0 ? 0 : 1) }
        let assembler = Assembler(shape: shape, chunk: chunk, grid: grid, itemSize: itemSize, chunkBytes: chunkBytes, filters: filters)
        let storage = try TensorStorage(count: totalBytes) { out throws(FormatError) in
            // Two chunk buffers: each filter reads one and writes the other.
            let scratch = [try MemoryBudget.current.allocate(chunkBytes, for: "an HDF5 chunk"),
                           try MemoryBudget.current.allocate(chunkBytes, for: "an HDF5 chunk")]
            try assembler.each(index, b, caps: caps) { offsets, range, mask throws(FormatError) in
                try assembler.place(range, offsets: offsets, mask: mask, b, scratch: (scratch[0].buffer, scratch[1].buffer), into: out)
            }
        }
        return .success(storage)
    }

    enum Index {
        case btree(Int)
        case single(Int, size: Int?, mask: Int)
        case implicit(Int)
        case fixedArray(Int)
    }

    static func corrupt(_ what: String, at offset: Int) -> FormatError {
        FormatError(.corrupt, "\(what) at byte \(offset)", offset: offset)
    }

    /// The filters of a filter pipeline message, in the order they were applied when writing.
    static func pipeline(_ m: HDF5ObjectHeader.Message?, _ b: HDF5Bytes) throws(FormatError) -> Result<[Filter], HDF5Dataset.Skip> {
        guard let m else { return .success([]) }
        let version = try b.u8(m.offset, "filter pipeline version")
        let count = try b.u8(m.offset + 1, "filter count")
        var at = m.offset + (version == 1 ? 8 : 2)
        guard version == 1 || version == 2 else {
            throw FormatError(.unsupported, "filter pipeline version \(version) at byte \(m.offset)", offset: m.offset)
        }
        var filters: [Filter] = []
        for _ in 0..<count {
            let id = try b.u16(at, "filter id")
            var nameLength = 0
            if version == 1 || id >= 256 {
                nameLength = try b.u16(at + 2, "filter name length")
                at += 2
            }
            let values = try b.u16(at + 4, "filter client data count")
            at += 6
            at += version == 1 ? (nameLength + 7) / 8 * 8 : nameLength
            at += 4 * values + (version == 1 && values % 2 == 1 ? 4 : 0)
            guard at <= m.offset + m.size else { throw corrupt("filter pipeline runs past its message", at: m.offset) }
            guard [1, 2, 3].contains(id) else {
                return .failure(.init(reason: "chunks compressed by filter \(id) (lstmkit applies deflate, shuffle and fletcher32)"))
            }
            filters.append(Filter(id: id))
        }
        return .success(filters)
    }

    struct Assembler {
        var shape: [Int]
        var chunk: [Int]
        var grid: [Int]
        var itemSize: Int
        var chunkBytes: Int
        var filters: [Filter]

        /// Calls `body` with each chunk's element offsets, byte range in the file and filter mask.
        func each(_ index: Index, _ b: HDF5Bytes, caps: HDF5Reader.Caps,
                  _ body: ([Int], Range<Int>, Int) throws(FormatError) -> Void) throws(FormatError) {
            let count = grid.reduce(1, *)
            func offsets(ofLinear n: Int) -> [Int] {
                var n = n
                var out = [Int](repeating: 0, count: grid.count)
                for k in stride(from: grid.count - 1, through: 0, by: -1) {
                    out[k] = (n % grid[k]) * chunk[k]
                    n /= grid[k]
                }
                return out
            }
            switch index {
            case .single(let address, let size, let mask):
                guard count == 1 else { throw corrupt("a single-chunk index for \(count) chunks", at: address) }
                if address == HDF5Bytes.undefined { return }
                try body(offsets(ofLinear: 0), try b.range(address, size ?? chunkBytes, "chunk"), mask)
            case .implicit(let address):
                guard filters.isEmpty else { throw corrupt("an implicit chunk index with filters", at: address) }
                if address == HDF5Bytes.undefined { return }
                for n in 0..<count {
                    guard let at = Checked.mul(n, chunkBytes).flatMap({ Checked.add(address, $0) }) else {
                        throw corrupt("implicit chunk \(n) lies past the end of the file", at: address)
                    }
                    try body(offsets(ofLinear: n), try b.range(at, chunkBytes, "chunk"), 0)
                }
            case .fixedArray(let address):
                if address == HDF5Bytes.undefined { return }
                try b.expectSignature(address, "FAHD", "fixed array header")
                let client = try b.u8(address + 5, "fixed array client")
                let entry = try b.u8(address + 6, "fixed array entry size")
                let pageBits = try b.u8(address + 7, "fixed array page bits")
                let entries = try b.length(address + 8, "fixed array entries")
                let block = try b.address(address + 8 + b.lengthSize, "fixed array data block address")
                guard entries == count else { throw corrupt("fixed array of \(entries) entries for \(count) chunks", at: address) }
                guard pageBits >= 63 || entries <= 1 << pageBits else {
                    throw FormatError(.unsupported, "paged fixed array chunk index (\(entries) chunks) at byte \(address)", offset: address)
                }
                let filtered = client == 1
                let sizeBytes = entry - b.offsetSize - 4
                guard filtered ? (1...8).contains(sizeBytes) : entry == b.offsetSize else {
                    throw corrupt("fixed array entries of \(entry) bytes", at: address)
                }
                if block == HDF5Bytes.undefined { return }
                try b.expectSignature(block, "FADB", "fixed array data block")
                let first = block + 6 + b.offsetSize
                for n in 0..<count {
                    let at = first + n * entry
                    let chunkAddress = try b.address(at, "chunk address")
                    if chunkAddress == HDF5Bytes.undefined { continue }
                    let size = filtered ? try b.uint(at + b.offsetSize, size: sizeBytes, "chunk size") : chunkBytes
                    let mask = filtered ? try b.u32(at + b.offsetSize + sizeBytes, "chunk filter mask") : 0
                    try body(offsets(ofLinear: n), try b.range(chunkAddress, size, "chunk"), mask)
                }
            case .btree(let root):
                if root == HDF5Bytes.undefined { return }
                var visited: Set<Int> = []
                var chunks = 0
                try walk(root, b, level: nil, visited: &visited, chunks: &chunks, caps: caps, body)
            }
        }

        /// A v1 B-tree node of type 1 (raw data chunks), children in order.
        private func walk(_ node: Int, _ b: HDF5Bytes, level expected: Int?, visited: inout Set<Int>, chunks: inout Int,
                          caps: HDF5Reader.Caps, _ body: ([Int], Range<Int>, Int) throws(FormatError) -> Void) throws(FormatError) {
            guard visited.insert(node).inserted, visited.count <= caps.maxObjects else {
                throw FormatError(.corrupt, "chunk B-tree node at byte \(node) is reached twice (or the tree is too large)", offset: node)
            }
            try b.expectSignature(node, "TREE", "chunk B-tree node")
            let type = try b.u8(node + 4, "B-tree node type")
            let level = try b.u8(node + 5, "B-tree node level")
            let used = try b.u16(node + 6, "B-tree entries used")
            guard type == 1, expected == nil || expected == level else {
                throw corrupt("chunk B-tree node of type \(type), level \(level)", at: node)
            }
            let keySize = 8 + 8 * (shape.count + 1)
            let first = node + 8 + 2 * b.offsetSize
            for i in 0..<used {
                let key = first + i * (keySize + b.offsetSize)
                let child = try b.address(key + keySize, "chunk B-tree child")
                if level > 0 {
                    try walk(child, b, level: level - 1, visited: &visited, chunks: &chunks, caps: caps, body)
                    continue
                }
                chunks += 1
                guard chunks <= grid.reduce(1, *) else { throw corrupt("chunk B-tree lists more chunks than the grid has", at: node) }
                let size = try b.u32(key, "chunk size")
                let mask = try b.u32(key + 4, "chunk filter mask")
                var offsets: [Int] = []
                for k in 0..<shape.count { offsets.append(try b.length(key + 8 + 8 * k, "chunk offset")) }
                guard zip(offsets, zip(chunk, shape)).allSatisfy({ o, cs in o % cs.0 == 0 && o < max(cs.1, 1) }) else {
                    throw corrupt("chunk offsets \(offsets) are not on the chunk grid of shape \(shape)", at: key)
                }
                if child == HDF5Bytes.undefined { continue }
                try body(offsets, try b.range(child, size, "chunk"), mask)
            }
        }

        /// Decodes one chunk (filters in reverse, each unless masked) and copies its part inside the dataset into `out`.
        func place(_ range: Range<Int>, offsets: [Int], mask: Int, _ b: HDF5Bytes,
                   scratch: (UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer), into out: UnsafeMutableRawBufferPointer) throws(FormatError) {
            var data = UnsafeRawBufferPointer(rebasing: b.bytes[range])
            var useFirst = true
            func nextBuffer() -> UnsafeMutableRawBufferPointer {
                defer { useFirst.toggle() }
                return UnsafeMutableRawBufferPointer(rebasing: (useFirst ? scratch.0 : scratch.1)[0..<chunkBytes])
            }
            for (k, f) in filters.enumerated().reversed() where mask & (1 << k) == 0 {
                switch f.id {
                case 3:
                    guard data.count >= 4 else { throw corrupt("fletcher32 chunk shorter than its checksum", at: range.lowerBound) }
                    let body = UnsafeRawBufferPointer(rebasing: data[0..<(data.count - 4)])
                    let stored = data[data.count - 4..<data.count].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
                    let sum = HDF5Chunks.fletcher32(body)
                    let swapped = (sum >> 24) | ((sum >> 8) & 0xFF00) | ((sum << 8) & 0xFF_0000) | (sum << 24)
                    guard stored == sum || stored == swapped else {
                        throw FormatError(.corrupt, "chunk at byte \(range.lowerBound) fails its fletcher32 checksum", offset: range.lowerBound)
                    }
                    data = body
                case 2:
                    guard data.count == chunkBytes else { throw corrupt("shuffled chunk of \(data.count) bytes, \(chunkBytes) expected", at: range.lowerBound) }
                    let n = chunkBytes / itemSize
                    let target = nextBuffer()
                    for j in 0..<itemSize { for i in 0..<n { target[i * itemSize + j] = data[j * n + i] } }
                    data = UnsafeRawBufferPointer(target)
                default:
                    let target = nextBuffer()
                    do { try HDF5Chunks.inflateZlib(data, into: target) } catch {
                        throw FormatError(error.reason, "chunk at byte \(range.lowerBound): \(error.message)", offset: range.lowerBound)
                    }
                    data = UnsafeRawBufferPointer(target)
                }
            }
            guard data.count == chunkBytes else {
                throw corrupt("chunk of \(data.count) bytes where \(chunkBytes) are expected", at: range.lowerBound)
            }
            copy(data, offsets: offsets, into: out)
        }

        /// Copies the rows of a decoded chunk that lie inside the dataset.
        func copy(_ data: UnsafeRawBufferPointer, offsets: [Int], into out: UnsafeMutableRawBufferPointer) {
            let rank = shape.count
            if rank == 0 {
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: data[0..<itemSize]))
                return
            }
            let rowElements = min(chunk[rank - 1], shape[rank - 1] - offsets[rank - 1])
            guard rowElements > 0, (0..<rank).allSatisfy({ offsets[$0] < shape[$0] }) else { return }
            var index = [Int](repeating: 0, count: rank - 1)
            while true {
                var source = 0, target = 0
                for k in 0..<rank {
                    let i = k < rank - 1 ? index[k] : 0
                    source = source * chunk[k] + i
                    target = target * shape[k] + offsets[k] + i
                }
                if (0..<(rank - 1)).allSatisfy({ offsets[$0] + index[$0] < shape[$0] }) {
                    let from = UnsafeRawBufferPointer(rebasing: data[(source * itemSize)..<((source + rowElements) * itemSize)])
                    UnsafeMutableRawBufferPointer(rebasing: out[(target * itemSize)..<((target + rowElements) * itemSize)]).copyMemory(from: from)
                }
                var k = rank - 2
                while k >= 0 {
                    index[k] += 1
                    if index[k] < chunk[k] { break }
                    index[k] = 0
                    k -= 1
                }
                if k < 0 { return }
            }
        }
    }

    /// HDF5's Fletcher-32 over 16-bit big-endian words (an odd last byte is the high byte of a word).
    static func fletcher32(_ data: UnsafeRawBufferPointer) -> UInt32 {
        var sum1: UInt32 = 0xFFFF, sum2: UInt32 = 0xFFFF
        var i = 0
        var words = data.count / 2
        while words > 0 {
            let block = min(words, 360)
            words -= block
            for _ in 0..<block {
                sum1 &+= UInt32(data[i]) << 8 | UInt32(data[i + 1])
                sum2 &+= sum1
                i += 2
            }
            sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
            sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        }
        if data.count % 2 == 1 {
            sum1 &+= UInt32(data[i]) << 8
            sum2 &+= sum1
            sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
            sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        }
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        return sum2 << 16 | sum1
    }

    /// Inflates a zlib stream (RFC 1950: the 2-byte header, deflate data, Adler-32) into exactly `destination`.
    static func inflateZlib(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws(FormatError) {
        guard source.count >= 6, source[0] & 0x0F == 8, (Int(source[0]) << 8 | Int(source[1])) % 31 == 0, source[1] & 0x20 == 0 else {
            throw FormatError(.corrupt, "not a zlib stream (header \(source.prefix(2).map { String($0, radix: 16) }))")
        }
        let consumed = try Zlib.inflateRaw(UnsafeRawBufferPointer(rebasing: source[2...]), into: destination)
        let end = 2 + consumed
        guard end + 4 <= source.count else { throw FormatError(.truncated, "zlib stream ends before its Adler-32") }
        let stored = source[end..<(end + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let computed = UInt32(truncatingIfNeeded: adler32(1, destination.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(destination.count)))
        guard stored == computed else { throw FormatError(.corrupt, "zlib stream fails its Adler-32 check") }
    }
}
