/// The parsed header of an `.npy` stream.
///
/// Layout: `\x93NUMPY`, major, minor (0), header length (u16 LE for 1.0, u32 LE for 2.0 / 3.0),
/// the header (a Python dict literal, latin-1 for 1.0 / 2.0, UTF-8 for 3.0), then the array data at
/// `dataOffset` = 10 (1.0) or 12 + header length. Data is C order, or Fortran (column-major) order
/// when `fortranOrder`.
public struct NpyHeader: Sendable, Equatable {
    public var majorVersion: Int
    /// The `descr` string as written.
    public var descr: String
    public var dtype: DType
    public var byteOrder: ByteOrder
    public var fortranOrder: Bool
    public var shape: [Int]
    /// Byte offset of the array data from the start of the npy stream.
    public var dataOffset: Int
    /// Bytes of array data: product(shape) × item size.
    public var dataSize: Int
    /// The descr was `V2` and is read as bfloat16.
    public var bfloat16FromVoid: Bool
}

/// Reads `.npy` streams (numpy format 1.0, 2.0, 3.0): a whole file, or an npz member.
///
/// The header is parsed by a small Python-literal parser (see `PyLiteralParser`), must be a dict
/// with exactly the keys `descr`, `fortran_order`, `shape` (each once), and may be at most
/// `Limits.npyHeaderBytes` long. The tensor is a zero-copy view of the given storage; Fortran-order
/// data is exposed through column-major strides with the shape as declared, so elements read back
/// in C order. Trailing bytes after the data are ignored (as numpy does).
public enum NpyReader {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// Parses and checks the header at the start of `bytes`, including that the data is present.
    public static func header(_ bytes: UnsafeRawBufferPointer, limits: Limits = .default) throws(FormatError) -> NpyHeader {
        try header(bytes, streamSize: bytes.count, limits: limits)
    }

    /// Most bytes of a stream the header can take (preamble of 2.0 / 3.0 plus the longest header):
    /// the prefix a reader needs to see to parse it.
    public static func headerPrefixBytes(_ limits: Limits) -> Int { 12 + limits.npyHeaderBytes }

    /// Parses the header at the start of `bytes`, the first bytes of a stream of `streamSize` bytes
    /// (an inflated member's declared size), and checks that the data fits in the stream.
    public static func header(_ bytes: UnsafeRawBufferPointer, streamSize: Int, limits: Limits = .default) throws(FormatError) -> NpyHeader {
        guard bytes.count >= 10 else {
            if !bytes.prefix(6).elementsEqual(magic.prefix(bytes.count)) {
                throw FormatError(.corrupt, "not an npy stream (no \\x93NUMPY magic)", offset: 0)
            }
            throw FormatError(.truncated, "truncated npy stream: it ends inside its \(bytes.count < 6 ? "magic" : "preamble") (\(bytes.count) bytes)", offset: bytes.count)
        }
        guard bytes.prefix(6).elementsEqual(magic) else {
            throw FormatError(.corrupt, "not an npy stream (no \\x93NUMPY magic)", offset: 0)
        }
        let major = Int(bytes[6]), minor = Int(bytes[7])
        guard (1...3).contains(major), minor == 0 else {
            throw FormatError(.unsupported, "npy format version \(major).\(minor) is not supported (only 1.0, 2.0 and 3.0)", offset: 6)
        }
        let headerStart = major == 1 ? 10 : 12
        guard bytes.count >= headerStart else {
            throw FormatError(.truncated, "truncated npy stream: it ends inside its preamble", offset: bytes.count)
        }
        let headerLength = major == 1 ? Int(bytes.le16(8)) : Int(bytes.le32(8))
        guard headerLength <= limits.npyHeaderBytes else {
            throw FormatError(.limitExceeded, "npy header of \(headerLength) bytes is over the limit of \(limits.npyHeaderBytes)", offset: 8)
        }
        let dataOffset = headerStart + headerLength
        guard dataOffset <= bytes.count else {
            throw FormatError(.truncated, "truncated npy: the header of \(headerLength) bytes runs past the end of the data (\(bytes.count) bytes)", offset: bytes.count)
        }

        var parser = PyLiteralParser(bytes: Array(bytes[headerStart..<dataOffset]), latin1: major < 3, allowLongSuffix: major < 3)
        let literal: PyLiteral
        do {
            literal = try parser.parseAll()
        } catch {
            throw FormatError(error.reason, error.message, offset: headerStart + (error.offset ?? 0))
        }
        func bad(_ message: String) -> FormatError {
            FormatError(.corrupt, "npy header \(message)", offset: headerStart)
        }
        guard case .dict(let keys, let values) = literal else {
            throw bad("is not a dict (found \(String(literal.shown.prefix(60))))")
        }
        var fields: [String: PyLiteral] = [:]
        for (k, v) in zip(keys, values) {
            guard case .string(let key) = k else { throw bad("has a key that is not a string: \(k.shown)") }
            guard fields[key] == nil else { throw bad("repeats the key '\(key)'") }
            fields[key] = v
        }
        let expected: Set<String> = ["descr", "fortran_order", "shape"]
        guard Set(fields.keys) == expected else {
            let missing = expected.subtracting(fields.keys).sorted()
            let extra = Set(fields.keys).subtracting(expected).sorted()
            var parts: [String] = []
            if !missing.isEmpty { parts.append("lacks " + missing.map { "'\($0)'" }.joined(separator: ", ")) }
            if !extra.isEmpty { parts.append("has unexpected " + extra.map { "'\($0)'" }.joined(separator: ", ")) }
            throw bad(parts.joined(separator: " and ") + " (the keys must be exactly 'descr', 'fortran_order', 'shape')")
        }
        guard case .tuple(let dims) = fields["shape"] else {
            throw bad("'shape' must be a tuple of integers, found \(fields["shape"]?.shown ?? "")")
        }
        var shape: [Int] = []
        for d in dims {
            guard case .int(let v) = d else { throw bad("'shape' must be a tuple of integers, found \(PyLiteral.tuple(dims).shown)") }
            guard v >= 0 else { throw bad("'shape' has a negative dimension: \(PyLiteral.tuple(dims).shown)") }
            shape.append(v)
        }
        guard shape.count <= limits.maxRank else {
            throw FormatError(.limitExceeded, "npy array of rank \(shape.count) is over the limit of \(limits.maxRank)", offset: headerStart)
        }
        guard case .bool(let fortran) = fields["fortran_order"] else {
            throw bad("'fortran_order' must be True or False, found \(fields["fortran_order"]?.shown ?? "")")
        }
        let descr: String
        switch fields["descr"] {
        case .string(let s): descr = s
        case .list: throw FormatError(.unsupported, "structured dtypes (a list of fields) are not supported", offset: headerStart)
        default: throw bad("'descr' must be a string, found \(fields["descr"]?.shown ?? "")")
        }
        let decoded: NpyDescr.Decoded
        switch NpyDescr.decode(descr) {
        case .success(let d): decoded = d
        case .failure(let e): throw FormatError(e.reason, e.message, offset: headerStart)
        }
        guard let count = Checked.product(shape), let dataSize = Checked.mul(count, decoded.dtype.itemSize) else {
            throw FormatError(.limitExceeded, "npy array of shape \(PyLiteral.tuple(dims).shown) is too large to address", offset: headerStart)
        }
        let available = streamSize - dataOffset
        guard dataSize <= available else {
            throw FormatError(.truncated, "truncated array data: shape \(PyLiteral.tuple(dims).shown) '\(descr)' needs \(dataSize) bytes from byte \(dataOffset), but only \(available) follow",
                              offset: streamSize)
        }
        return NpyHeader(majorVersion: major, descr: descr, dtype: decoded.dtype, byteOrder: decoded.byteOrder,
                         fortranOrder: fortran, shape: shape, dataOffset: dataOffset, dataSize: dataSize,
                         bfloat16FromVoid: decoded.bfloat16FromVoid)
    }

    /// The array in `storage` (a whole npy stream) as a zero-copy tensor, with its header.
    ///
    /// Errors carry the offset within the stream plus `baseOffset` (the stream's position in its file).
    public static func tensor(in storage: TensorStorage, limits: Limits = .default,
                              baseOffset: Int = 0) throws(FormatError) -> (tensor: Tensor, header: NpyHeader) {
        let h: NpyHeader
        do {
            h = try header(storage.bytes, limits: limits)
        } catch {
            throw FormatError(error.reason, error.message, offset: error.offset.map { $0 + baseOffset })
        }
        let data = TensorStorage(slicing: storage, range: h.dataOffset..<(h.dataOffset + h.dataSize))
        return (try tensor(header: h, data: data, baseOffset: baseOffset), h)
    }

    /// The array `h` describes over `data` (exactly its `dataSize` bytes; deferred for a
    /// compressed member): C order, or column-major strides for Fortran order.
    static func tensor(header h: NpyHeader, data: TensorStorage, baseOffset: Int) throws(FormatError) -> Tensor {
        var strides = Tensor.contiguousStrides(h.shape)
        if h.fortranOrder {
            var acc = 1
            for k in h.shape.indices {
                strides[k] = acc
                acc = acc &* max(h.shape[k], 1)
            }
        }
        do {
            return try Tensor(dtype: h.dtype, shape: h.shape, strides: strides, byteOrder: h.byteOrder, storage: data)
        } catch {
            throw FormatError(error.reason, error.message, offset: h.dataOffset + baseOffset)
        }
    }

    /// Reads an `.npy` file: one tensor named after the file (its name without the extension).
    public static func read(file: MappedFile, limits: Limits = .default) throws(FormatError) -> TensorFile {
        let whole = TensorStorage(mapped: file, range: 0..<file.bytes.count)
        let name = fileStem(file.path)
        let (tensor, header): (Tensor, NpyHeader)
        do {
            (tensor, header) = try NpyReader.tensor(in: whole, limits: limits)
        } catch {
            throw error.inFile(file.path)
        }
        var notes: [String] = []
        if header.bfloat16FromVoid { notes.append(bfloat16Note(name)) }
        return TensorFile(path: file.path, format: .npy, tensors: [NamedTensor(name: name, tensor: tensor)], notes: notes)
    }

    static func bfloat16Note(_ name: String) -> String {
        "'\(name)': descr 'V2' read as bfloat16 (how ml_dtypes saves bfloat16 for numpy)"
    }

    /// The last path component without its extension (`dir/w.npy` → `w`).
    static func fileStem(_ path: String) -> String {
        let base = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        if let dot = base.lastIndex(of: "."), dot != base.startIndex {
            return String(base[..<dot])
        }
        return base
    }
}
