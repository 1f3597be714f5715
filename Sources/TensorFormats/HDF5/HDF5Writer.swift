/// A group or dataset to write (``HDF5Writer``), with variable-length UTF-8 string attributes.
public struct HDF5Object {
    public indirect enum Content {
        /// Members in the order given; the writer stores them sorted by name, as HDF5 requires.
        case group([(name: String, object: HDF5Object)])
        /// A tensor of a floating or integer dtype; bfloat16 as Keras writes it (2-byte opaque
        /// elements, attribute dtype = "bfloat16").
        case dataset(Tensor)
    }

    public var content: Content
    public var attributes: [(name: String, value: String)]

    public init(_ content: Content, attributes: [(name: String, value: String)] = []) {
        self.content = content
        self.attributes = attributes
    }

    public static func group(_ members: [(name: String, object: HDF5Object)], attributes: [(name: String, value: String)] = []) -> HDF5Object {
        HDF5Object(.group(members), attributes: attributes)
    }

    public static func dataset(_ tensor: Tensor, attributes: [(name: String, value: String)] = []) -> HDF5Object {
        HDF5Object(.dataset(tensor), attributes: attributes)
    }
}

/// Writes an ``HDF5Object`` tree as the HDF5 that h5py writes by default (libver "earliest"), so
/// libhdf5 of any version since 1.8 opens it:
///
/// | structure | written |
/// |---|---|
/// | superblock | version 0 at byte 0, 8-byte offsets and lengths, group internal node K 16, leaf node K ≥ 4 (so each group's members fit one symbol-table node) |
/// | groups | object header v1 with a symbol-table message: a one-child v1 B-tree (type 0), one SNOD, a local heap whose names are 8-byte padded with a 16-byte free block at the end (free-list end = 1, as libhdf5 writes) |
/// | datasets | object header v1: dataspace v1 (scalar when rank 0), datatype v1 (IEEE float LE / fixed point LE; bfloat16 as 2-byte opaque with attribute dtype = "bfloat16", as Keras writes it), fill value v2 (undefined), layout v3 contiguous |
/// | attributes | message 0x0C v1: scalar dataspace, variable-length UTF-8 string datatype; the strings in one global heap collection (≥ 4096 bytes) |
///
/// File order: superblock, every dataset's bytes (64-byte aligned, depth-first in member order),
/// then the global heap and the objects' metadata, children before their group, the root last.
/// The same tree always gives the same bytes (no times are written).
public enum HDF5Writer {
    /// One run of the file's bytes: `range` of `storage` (metadata in owned storage, a dataset's
    /// bytes as the tensor's own storage, so mapped or deferred input is streamed, not copied).
    public typealias Piece = (storage: TensorStorage, range: Range<Int>)

    static let superblockSize = 96
    static let dataAlignment = 64
    static let internalNodeK = 16
    static let undefined = UInt64.max

    /// The file's pieces in order (their total is the file's size).
    public static func pieces(_ root: HDF5Object) throws(FormatError) -> [Piece] {
        guard case .group = root.content else { throw FormatError(.unsupported, "an HDF5 file's root must be a group") }
        let root = markingBFloat16(root)
        var plan = Plan()
        try plan.placeData(root, path: "")
        try plan.emitMetadata(root)
        return try plan.pieces()
    }

    /// The tree with each bfloat16 dataset given the attribute dtype = "bfloat16" (how Keras marks
    /// its 2-byte opaque elements), unless it has one.
    static func markingBFloat16(_ object: HDF5Object) -> HDF5Object {
        switch object.content {
        case .dataset(let t) where t.dtype == .bfloat16 && !object.attributes.contains(where: { $0.name == "dtype" }):
            return HDF5Object(object.content, attributes: object.attributes + [("dtype", "bfloat16")])
        case .dataset: return object
        case .group(let members):
            return HDF5Object(.group(members.map { ($0.name, markingBFloat16($0.object)) }), attributes: object.attributes)
        }
    }

    /// Writes the file to `output` (not committing it); returns the bytes written.
    @discardableResult
    public static func write(_ root: HDF5Object, to output: OutputFile) throws(FormatError) -> Int {
        var total = 0
        for piece in try pieces(root) {
            try output.write(piece.storage, range: piece.range)
            total += piece.range.count
        }
        return total
    }

    /// Addresses decided in two passes: dataset bytes first (their sizes are known), then the
    /// metadata in one buffer that starts where the data ends.
    private struct Plan {
        var data: [(tensor: Tensor, address: Int)] = []
        var dataEnd = superblockSize
        var metaStart = 0
        var meta = LEBytes()
        var leafK = 4
        /// Global heap: each attribute string's object index, in visit order.
        var strings: [[UInt8]] = []
        var heapAddress = 0
        var rootEntry = (header: 0, btree: 0, heap: 0)

        mutating func placeData(_ object: HDF5Object, path: String) throws(FormatError) {
            for a in object.attributes {
                guard !a.name.isEmpty, !a.name.utf8.contains(0), a.name.utf8.count < 0xFFFF else {
                    throw FormatError(.unsupported, "attribute name '\(a.name)' cannot be written to HDF5", entry: path)
                }
                strings.append(Array(a.value.utf8))
            }
            switch object.content {
            case .dataset(let tensor):
                guard HDF5Writer.datatype(tensor.dtype) != nil else {
                    throw FormatError(.unsupported, "\(tensor.dtype.name) tensors cannot be written to HDF5 (floats and integers can)", entry: path)
                }
                let t = try tensor.contiguous()
                let address = (dataEnd + dataAlignment - 1) / dataAlignment * dataAlignment
                data.append((t, address))
                dataEnd = address + t.byteCount
            case .group(let members):
                leafK = max(leafK, (members.count + 1) / 2)
                guard leafK <= 0xFFFF else {
                    throw FormatError(.unsupported, "group '\(path)' has \(members.count) members; lstmkit writes at most \(2 * 0xFFFF)", entry: path)
                }
                var names: Set<String> = []
                for m in members {
                    guard !m.name.isEmpty, !m.name.utf8.contains(0), !m.name.contains("/"), names.insert(m.name).inserted else {
                        throw FormatError(.unsupported, "member name '\(m.name)' cannot be written to HDF5 (empty, with '/' or NUL, or repeated)", entry: path)
                    }
                    try placeData(m.object, path: path.isEmpty ? m.name : path + "/" + m.name)
                }
            }
        }

        mutating func emitMetadata(_ root: HDF5Object) throws(FormatError) {
            metaStart = (dataEnd + 7) / 8 * 8
            if !strings.isEmpty { emitGlobalHeap() }
            let entry = emit(root)
            rootEntry = entry
        }

        var cursor: Int { metaStart + meta.count }

        mutating func align8() { while meta.count % 8 != 0 { meta.bytes.append(0) } }

        /// One collection holding every attribute string (object k + 1 = the k-th string).
        mutating func emitGlobalHeap() {
            heapAddress = cursor
            let used = 16 + strings.reduce(0) { $0 + 16 + pad8($1.count) }
            let size = max(4096, pad8(used + 16))
            meta.append(Array("GCOL".utf8))
            meta.append([1, 0, 0, 0])
            meta.u64(UInt64(size))
            for (k, s) in strings.enumerated() {
                meta.u16(UInt16(k + 1))
                meta.u16(0)
                meta.u32(0)
                meta.u64(UInt64(s.count))
                meta.append(s)
                meta.append([UInt8](repeating: 0, count: pad8(s.count) - s.count))
            }
            meta.u16(0)                                       // the free-space object: the rest, its header included
            meta.u16(0)
            meta.u32(0)
            meta.u64(UInt64(size - used))
            meta.append([UInt8](repeating: 0, count: size - used - 16))
        }

        var nextString = 0
        var nextData = 0

        /// Writes `object` (children first) and returns its header address and, for a group, its
        /// B-tree and local heap addresses (a symbol-table entry's scratch pad).
        mutating func emit(_ object: HDF5Object) -> (header: Int, btree: Int, heap: Int) {
            var messages: [(type: UInt16, flags: UInt8, body: [UInt8])] = []
            let attributeStrings = Array(nextString..<(nextString + object.attributes.count))
            nextString += object.attributes.count
            switch object.content {
            case .dataset:
                let (tensor, address) = data[nextData]
                nextData += 1
                messages.append((0x01, 0, dataspace(tensor.shape)))
                messages.append((0x03, 1, HDF5Writer.datatype(tensor.dtype)!))
                messages.append((0x05, 1, [2, 2, 2, 0]))        // fill value v2: late allocation, write if set, undefined
                var layout = LEBytes()
                layout.append([3, 1])
                layout.u64(UInt64(address))
                layout.u64(UInt64(tensor.byteCount))
                messages.append((0x08, 0, layout.bytes))
                let header = emitHeader(messages + attributeMessages(object.attributes, attributeStrings))
                return (header, 0, 0)
            case .group(let members):
                let sorted = members.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
                var children: [(name: String, entry: (header: Int, btree: Int, heap: Int), isGroup: Bool)] = []
                // Children are emitted in member order (matching the data pass), then listed sorted.
                var byName: [String: ((header: Int, btree: Int, heap: Int), Bool)] = [:]
                for m in members {
                    let e = emit(m.object)
                    if case .group = m.object.content { byName[m.name] = (e, true) } else { byName[m.name] = (e, false) }
                }
                for m in sorted { if let (e, g) = byName[m.name].map({ ($0.0, $0.1) }) { children.append((m.name, e, g)) } }
                // Local heap: "" at offset 0, then each name, 8-byte padded; a 16-byte free block last.
                var heapData = [UInt8](repeating: 0, count: 8)
                var nameOffsets: [Int] = []
                for c in children {
                    nameOffsets.append(heapData.count)
                    let n = Array(c.name.utf8)
                    heapData += n + [UInt8](repeating: 0, count: pad8(n.count + 1) - n.count)
                }
                let freeAt = heapData.count
                var free = LEBytes()
                free.u64(1)
                free.u64(16)
                heapData += free.bytes
                let heap = cursor
                meta.append(Array("HEAP".utf8))
                meta.append([0, 0, 0, 0])
                meta.u64(UInt64(heapData.count))
                meta.u64(UInt64(freeAt))
                meta.u64(UInt64(heap + 32))
                meta.append(heapData)
                align8()
                // One symbol-table node with room for 2K entries (none for an empty group).
                let snod = cursor
                if !children.isEmpty {
                meta.append(Array("SNOD".utf8))
                meta.append([1, 0])
                meta.u16(UInt16(children.count))
                for (c, offset) in zip(children, nameOffsets) {
                    meta.u64(UInt64(offset))
                    meta.u64(UInt64(c.entry.header))
                    meta.u32(c.isGroup ? 1 : 0)
                    meta.u32(0)
                    meta.u64(c.isGroup ? UInt64(c.entry.btree) : 0)
                    meta.u64(c.isGroup ? UInt64(c.entry.heap) : 0)
                }
                meta.append([UInt8](repeating: 0, count: (2 * leafK - children.count) * 40))
                }
                // A leaf B-tree node (type 0) pointing at it, sized for 2K children as libhdf5 reads it.
                let btree = cursor
                meta.append(Array("TREE".utf8))
                meta.append([0, 0])
                meta.u16(children.isEmpty ? 0 : 1)
                meta.u64(undefined)
                meta.u64(undefined)
                if children.isEmpty {
                    meta.append([UInt8](repeating: 0, count: (2 * internalNodeK * 8) + (2 * internalNodeK + 1) * 8))
                } else {
                    meta.u64(0)
                    meta.u64(UInt64(snod))
                    meta.u64(UInt64(nameOffsets.last!))
                    meta.append([UInt8](repeating: 0, count: (2 * internalNodeK - 1) * 8 + (2 * internalNodeK - 1) * 8))
                }
                var table = LEBytes()
                table.u64(UInt64(btree))
                table.u64(UInt64(heap))
                let header = emitHeader([(0x11, 0, table.bytes)] + attributeMessages(object.attributes, attributeStrings))
                return (header, btree, heap)
            }
        }

        func attributeMessages(_ attributes: [(name: String, value: String)], _ indices: [Int]) -> [(type: UInt16, flags: UInt8, body: [UInt8])] {
            zip(attributes, indices).map { a, k in
                let name = Array(a.name.utf8) + [0]
                // Variable-length string of UTF-8 characters (class 9, type 1, cset 1) over 1-byte unsigned integers.
                let type: [UInt8] = [0x19, 0x01, 0x01, 0x00, 16, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0]
                var body = LEBytes()
                body.append([1, 0])
                body.u16(UInt16(name.count))
                body.u16(UInt16(type.count))
                body.u16(8)
                body.append(name + [UInt8](repeating: 0, count: pad8(name.count) - name.count))
                body.append(type + [UInt8](repeating: 0, count: pad8(type.count) - type.count))
                body.append([1, 0, 0, 0, 0, 0, 0, 0])             // scalar dataspace v1
                body.u32(UInt32(strings[k].count))
                body.u64(UInt64(heapAddress))
                body.u32(UInt32(k + 1))
                return (0x0C, 0, body.bytes)
            }
        }

        /// An object header v1 holding `messages` (each padded to 8 bytes); returns its address.
        mutating func emitHeader(_ messages: [(type: UInt16, flags: UInt8, body: [UInt8])]) -> Int {
            align8()
            let address = cursor
            let size = messages.reduce(0) { $0 + 8 + pad8($1.body.count) }
            meta.append([1, 0])
            meta.u16(UInt16(messages.count))
            meta.u32(1)
            meta.u32(UInt32(size))
            meta.u32(0)
            for m in messages {
                meta.u16(m.type)
                meta.u16(UInt16(pad8(m.body.count)))
                meta.append([m.flags, 0, 0, 0])
                meta.append(m.body)
                meta.append([UInt8](repeating: 0, count: pad8(m.body.count) - m.body.count))
            }
            return address
        }

        func dataspace(_ shape: [Int]) -> [UInt8] {
            var s = LEBytes()
            s.append([1, UInt8(shape.count), 0, 0, 0, 0, 0, 0])
            for d in shape { s.u64(UInt64(d)) }
            return s.bytes
        }

        func pieces() throws(FormatError) -> [Piece] {
            var sb = LEBytes()
            sb.append(HDF5Reader.signature)
            sb.append([0, 0, 0, 0, 0, 8, 8, 0])
            sb.u16(UInt16(leafK))
            sb.u16(UInt16(internalNodeK))
            sb.u32(0)
            sb.u64(0)                                          // base address
            sb.u64(undefined)                                  // free-space info
            sb.u64(UInt64(metaStart + meta.count))             // end of file
            sb.u64(undefined)                                  // driver info
            sb.u64(0)                                          // root entry: name offset, header, cache type 1, scratch
            sb.u64(UInt64(rootEntry.header))
            sb.u32(1)
            sb.u32(0)
            sb.u64(UInt64(rootEntry.btree))
            sb.u64(UInt64(rootEntry.heap))
            var out: [Piece] = []
            var at = 0
            func gap(to address: Int) throws(FormatError) {
                guard address > at else { return }
                let s = try TensorStorage(count: address - at) { $0.initializeMemory(as: UInt8.self, repeating: 0) }
                out.append((s, 0..<(address - at)))
                at = address
            }
            let head = try TensorStorage(bytes: sb.bytes)
            out.append((head, 0..<sb.count))
            at = sb.count
            for (tensor, address) in data where tensor.byteCount > 0 {
                try gap(to: address)
                out.append((tensor.storage, tensor.byteOffset..<(tensor.byteOffset + tensor.byteCount)))
                at = address + tensor.byteCount
            }
            try gap(to: metaStart)
            out.append((try TensorStorage(bytes: meta.bytes), 0..<meta.count))
            return out
        }
    }

    /// The datatype message (v1) of `dtype`, little-endian; nil for a dtype HDF5 has no type for here.
    static func datatype(_ dtype: DType) -> [UInt8]? {
        var m = LEBytes()
        func float(size: Int, sign: UInt8, exponent: (at: UInt8, bits: UInt8), mantissa: UInt8, bias: UInt32) {
            m.append([0x11, 0x20, sign, 0])
            m.u32(UInt32(size))
            m.u16(0)
            m.u16(UInt16(size * 8))
            m.append([exponent.at, exponent.bits, 0, mantissa])
            m.u32(bias)
        }
        func integer(size: Int, signed: Bool) {
            m.append([0x10, signed ? 0x08 : 0, 0, 0])
            m.u32(UInt32(size))
            m.u16(0)
            m.u16(UInt16(size * 8))
        }
        switch dtype {
        case .float16: float(size: 2, sign: 15, exponent: (10, 5), mantissa: 10, bias: 15)
        case .float32: float(size: 4, sign: 31, exponent: (23, 8), mantissa: 23, bias: 127)
        case .float64: float(size: 8, sign: 63, exponent: (52, 11), mantissa: 52, bias: 1023)
        case .bfloat16: m.append([0x15, 0, 0, 0, 2, 0, 0, 0])      // opaque, 2 bytes, no tag (as h5py stores ml_dtypes' bfloat16)
        case .int8, .int16, .int32, .int64: integer(size: dtype.itemSize, signed: true)
        case .uint8, .uint16, .uint32, .uint64: integer(size: dtype.itemSize, signed: false)
        default: return nil
        }
        return m.bytes
    }
}

private func pad8(_ n: Int) -> Int { (n + 7) / 8 * 8 }
