/// Reads a safetensors file into zero-copy tensor views, with the reference implementation's
/// validation (safetensors 0.8.0 `read_metadata` + `Metadata::validate`) and no duplicate keys.
///
/// Layout (all little-endian):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | N, the header length (u64) |
/// | 8 | N | UTF-8 JSON object: `{"__metadata__": {str: str} \| null, NAME: {"dtype", "shape", "data_offsets": [begin, end]}, ...}` |
/// | 8+N | … | the data buffer; `data_offsets` are relative to it, `end` one past |
///
/// Checks, in order: the file holds the 8-byte length; N ≤ ``Limits/safetensorsHeaderBytes``;
/// 8+N ≤ file length; the header is JSON (leading/trailing whitespace allowed, anything else after
/// the object — NUL padding included — refused); no key appears twice (tensor names, entry fields,
/// `__metadata__` and its keys); every entry has a known `dtype`, a `shape` of non-negative integers
/// (rank ≤ ``Limits/maxRank``) and `data_offsets` of two non-negative integers (other fields are
/// ignored); `__metadata__` is null or maps strings to strings; sorted by offsets, entries tile the
/// buffer from 0 with no gap or overlap; each entry's element count × bits (overflow-checked) is
/// whole bytes equal to its span; 8+N+last end is the file length. Dtypes lstmkit does not hold
/// (``SafetensorsDType`` F4, F6_*, F8_*, C64) are refused by name once the file is otherwise valid.
///
/// Tensors come back in data order (ties — empty tensors — in header order), metadata in header order.
public enum SafetensorsReader {
    public static func read(path: String, limits: Limits = .default) throws(FormatError) -> TensorFile {
        try read(file: MappedFile(path: path), limits: limits)
    }

    public static func read(file: MappedFile, limits: Limits = .default) throws(FormatError) -> TensorFile {
        do {
            return try parse(file, limits: limits)
        } catch {
            throw error.inFile(file.path)
        }
    }

    private struct Entry {
        var name: String
        var order: Int
        var entryOffset: Int
        var dtype: SafetensorsDType
        var dtypeOffset: Int
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    private static func parse(_ file: MappedFile, limits: Limits) throws(FormatError) -> TensorFile {
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw FormatError(.truncated, "truncated: the file is \(bytes.count) bytes, shorter than the 8-byte header length", offset: 0)
        }
        var n64: UInt64 = 0
        for i in 0..<8 { n64 |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n64 <= UInt64(limits.safetensorsHeaderBytes) else {
            throw FormatError(.limitExceeded, "header length \(n64) bytes is over the limit of \(limits.safetensorsHeaderBytes) bytes", offset: 0)
        }
        let n = Int(n64)
        let dataStart = 8 + n
        guard dataStart <= bytes.count else {
            throw FormatError(.truncated, "truncated: header length \(n) bytes reaches past the end of the \(bytes.count)-byte file", offset: 0)
        }

        var json = JSONReader(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]), baseOffset: 8, maxDepth: limits.jsonDepth)
        var entries: [Entry] = []
        var metadata: [(key: String, value: String)] = []
        var names: Set<String> = []
        var sawMetadata = false
        guard try json.peekKind() == .object else {
            throw FormatError(.corrupt, "header is not a JSON object", offset: json.offset)
        }
        try json.beginObject()
        while let (key, keyOffset) = try json.nextMember() {
            if key == "__metadata__" {
                guard !sawMetadata else {
                    throw FormatError(.corrupt, "duplicate key \"__metadata__\" in the header", entry: key, offset: keyOffset)
                }
                sawMetadata = true
                metadata = try readMetadata(&json)
                continue
            }
            guard names.insert(key).inserted else {
                throw FormatError(.corrupt, "duplicate tensor name in the header", entry: key, offset: keyOffset)
            }
            do {
                entries.append(try readEntry(&json, name: key, order: entries.count, limits: limits))
            } catch {
                throw error.inEntry(key)
            }
        }
        try json.finish()

        entries.sort { ($0.begin, $0.end, $0.order) < ($1.begin, $1.end, $1.order) }
        var expected = 0
        for e in entries {
            let at = Checked.add(dataStart, e.begin)
            guard e.begin == expected else {
                let what = e.begin > expected ? "leave a gap after" : "overlap"
                throw FormatError(.corrupt, "data_offsets [\(e.begin), \(e.end)] \(what) the previous tensor's data, which ends at \(expected)",
                                  entry: e.name, offset: at)
            }
            guard e.end >= e.begin else {
                throw FormatError(.corrupt, "data_offsets [\(e.begin), \(e.end)] end before they begin", entry: e.name, offset: at)
            }
            guard let count = Checked.product(e.shape), let bits = Checked.mul(count, e.dtype.bits) else {
                throw FormatError(.limitExceeded, "size of shape \(e.shape) of \(e.dtype.rawValue) overflows", entry: e.name, offset: e.entryOffset)
            }
            guard bits % 8 == 0 else {
                throw FormatError(.corrupt, "shape \(e.shape) of \(e.dtype.rawValue) is \(bits) bits, not whole bytes", entry: e.name, offset: e.entryOffset)
            }
            guard bits / 8 == e.end - e.begin else {
                throw FormatError(.corrupt, "shape \(e.shape) of \(e.dtype.rawValue) needs \(bits / 8) bytes but data_offsets [\(e.begin), \(e.end)] hold \(e.end - e.begin)",
                                  entry: e.name, offset: at)
            }
            expected = e.end
        }
        guard let dataEnd = Checked.add(dataStart, expected), dataEnd <= bytes.count else {
            let end = Checked.add(dataStart, expected).map(String.init) ?? "\(dataStart) + \(expected)"
            throw FormatError(.truncated, "truncated: tensor data ends at byte \(end), past the end of the \(bytes.count)-byte file",
                              entry: entries.last?.name, offset: Checked.add(dataStart, entries.last?.begin ?? 0))
        }
        guard dataEnd == bytes.count else {
            let extra = bytes.count - dataEnd
            throw FormatError(.corrupt, "\(extra) trailing byte\(extra == 1 ? "" : "s") after the last tensor's data", offset: dataEnd)
        }

        var tensors: [NamedTensor] = []
        tensors.reserveCapacity(entries.count)
        for e in entries {
            guard let dtype = e.dtype.dtype else {
                throw FormatError(.unsupported, "dtype \(e.dtype.rawValue) is not supported (lstmkit holds bool, int8–int64, uint8–uint64, float16, bfloat16, float32, float64)",
                                  entry: e.name, offset: e.dtypeOffset)
            }
            let storage = TensorStorage(mapped: file, range: (dataStart + e.begin)..<(dataStart + e.end))
            do {
                tensors.append(NamedTensor(name: e.name, tensor: try Tensor(dtype: dtype, shape: e.shape, storage: storage)))
            } catch {
                throw error.inEntry(e.name)
            }
        }
        return TensorFile(path: file.path, format: .safetensors, tensors: tensors, metadata: metadata)
    }

    private static func readMetadata(_ json: inout JSONReader) throws(FormatError) -> [(key: String, value: String)] {
        let kind = try json.peekKind()
        if kind == .null {
            try json.readNull()
            return []
        }
        guard kind == .object else {
            throw FormatError(.corrupt, "__metadata__ must be an object of strings or null", entry: "__metadata__", offset: json.offset)
        }
        var out: [(key: String, value: String)] = []
        var keys: Set<String> = []
        try json.beginObject()
        while let (key, keyOffset) = try json.nextMember() {
            guard keys.insert(key).inserted else {
                throw FormatError(.corrupt, "duplicate key \"\(key)\" in __metadata__", entry: "__metadata__", offset: keyOffset)
            }
            guard try json.peekKind() == .string else {
                throw FormatError(.corrupt, "__metadata__ value of \"\(key)\" is not a string", entry: "__metadata__", offset: json.offset)
            }
            out.append((key, try json.readString()))
        }
        return out
    }

    private static func readEntry(_ json: inout JSONReader, name: String, order: Int, limits: Limits) throws(FormatError) -> Entry {
        let entryOffset = json.offset
        guard try json.peekKind() == .object else {
            throw FormatError(.corrupt, "tensor entry is not a JSON object", offset: json.offset)
        }
        var dtype: (SafetensorsDType, Int)?
        var shape: [Int]?
        var offsets: (Int, Int)?
        try json.beginObject()
        while let (field, fieldOffset) = try json.nextMember() {
            let valueOffset = json.offset
            switch field {
            case "dtype", "shape", "data_offsets":
                let present = field == "dtype" ? dtype != nil : field == "shape" ? shape != nil : offsets != nil
                guard !present else {
                    throw FormatError(.corrupt, "duplicate field \"\(field)\"", offset: fieldOffset)
                }
            default:
                try json.skipValue()
                continue
            }
            if field == "dtype" {
                guard try json.peekKind() == .string else {
                    throw FormatError(.corrupt, "dtype is not a string", offset: json.offset)
                }
                let text = try json.readString()
                guard let d = SafetensorsDType(rawValue: text) else {
                    throw FormatError(.corrupt, "unknown dtype \"\(text)\"", offset: valueOffset)
                }
                dtype = (d, valueOffset)
            } else if field == "shape" {
                shape = try readIntegers(&json, what: "shape", max: limits.maxRank)
            } else {
                let pair = try readIntegers(&json, what: "data_offsets", max: 2)
                guard pair.count == 2 else {
                    throw FormatError(.corrupt, "data_offsets must hold 2 integers, found \(pair.count)", offset: valueOffset)
                }
                offsets = (pair[0], pair[1])
            }
        }
        guard let dtype else { throw FormatError(.corrupt, "tensor entry has no dtype", offset: entryOffset) }
        guard let shape else { throw FormatError(.corrupt, "tensor entry has no shape", offset: entryOffset) }
        guard let offsets else { throw FormatError(.corrupt, "tensor entry has no data_offsets", offset: entryOffset) }
        return Entry(name: name, order: order, entryOffset: entryOffset, dtype: dtype.0, dtypeOffset: dtype.1,
                     shape: shape, begin: offsets.0, end: offsets.1)
    }

    private static func kindName(_ kind: JSONReader.Kind) -> String {
        switch kind {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// A JSON array of non-negative integers, refused as soon as it grows past `max` elements.
    private static func readIntegers(_ json: inout JSONReader, what: String, max: Int) throws(FormatError) -> [Int] {
        guard try json.peekKind() == .array else {
            throw FormatError(.corrupt, "\(what) is not an array", offset: json.offset)
        }
        var out: [Int] = []
        try json.beginArray()
        while try json.nextElement() {
            let at = json.offset
            guard out.count < max else {
                if what == "shape" {
                    throw FormatError(.limitExceeded, "shape has more than \(max) dimensions", offset: at)
                }
                throw FormatError(.corrupt, "\(what) must hold \(max) integers, found more", offset: at)
            }
            let kind = try json.peekKind()
            guard kind == .number else {
                throw FormatError(.corrupt, "\(what) holds \(kindName(kind)), expected a non-negative integer", offset: at)
            }
            let node = JSONNode(.number(try json.readNumber()), offset: at)
            guard let v = node.nonNegativeInteger else {
                throw FormatError(.corrupt, "\(what) holds \(node.kindDescription), expected a non-negative integer", offset: at)
            }
            out.append(v)
        }
        return out
    }
}
