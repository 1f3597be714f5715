/// A dataset's dataspace (0x01), datatype (0x03) and data layout (0x08) messages as a tensor view.
///
/// | message | read |
/// |---|---|
/// | dataspace v1: version, rank, flags, reserved (5), dims (L each) [, max dims] | v2: version, rank, flags, type (0 scalar, 1 simple, 2 null), dims |
/// | datatype: class (low 4 bits of byte 0), bit field (3), size (4), properties | fixed-point (0): sizes 1/2/4/8, signed bit 3; floating point (1): 2/4/8 bytes, IEEE layout; byte order bit 0; opaque (5) of 2 bytes with a `dtype` attribute "bfloat16" (Keras) |
/// | layout v3/v4: class 0 compact (size (2), data), 1 contiguous (address, size L) | v1/v2: version, rank, class, reserved (5), address (when not compact), rank × 4 dims [, compact size (4), data] |
///
/// Chunked layouts are assembled by ``HDF5Chunks`` (a copy under the memory budget); other
/// datatypes (strings, compounds, references) are reported by name and skipped, not misread.
enum HDF5Dataset {
    /// Why a dataset is skipped rather than read (its datatype or layout is one lstmkit does not hold).
    struct Skip: Error { var reason: String }

    static func tensor(_ h: HDF5ObjectHeader, _ b: HDF5Bytes, storage: (Range<Int>) throws(FormatError) -> TensorStorage,
                       caps: HDF5Reader.Caps) throws(FormatError) -> Result<Tensor, Skip> {
        guard let space = h.first(0x01), let type = h.first(0x03), let layout = h.first(0x08) else {
            throw FormatError(.corrupt, "dataset at byte \(h.address) lacks a dataspace, datatype or layout message", offset: h.address)
        }
        let shape = try dataspace(space, b, caps: caps)
        var dtype: DType, order: ByteOrder
        switch try datatype(type, b) {
        case .success(let t): (dtype, order) = t
        case .failure(let skip):
            // Keras stores bfloat16 as 2-byte opaque elements with the attribute dtype = "bfloat16".
            guard try isKerasBFloat16(h, type, b) else { return .failure(skip) }
            (dtype, order) = (.bfloat16, .little)
        }
        guard let count = Checked.product(shape), let bytes = Checked.mul(count, dtype.itemSize) else {
            throw FormatError(.limitExceeded, "dataset at byte \(h.address) of shape \(shape) has too many elements", offset: space.offset)
        }
        if try isChunked(layout, b) {
            switch try HDF5Chunks.read(h, layout: layout, shape: shape, itemSize: dtype.itemSize, b, caps: caps) {
            case .success(let s): return .success(try Tensor(dtype: dtype, shape: shape, byteOrder: order, storage: s))
            case .failure(let skip): return .failure(skip)
            }
        }
        let data: Range<Int>
        switch try dataRange(layout, b, bytes: bytes) {
        case .success(let r): data = r
        case .failure(let skip): return .failure(skip)
        }
        guard data.count == bytes else {
            throw FormatError(.corrupt, "dataset at byte \(h.address) holds \(data.count) bytes; shape \(shape) of \(dtype.name) needs \(bytes)", offset: layout.offset)
        }
        return .success(try Tensor(dtype: dtype, shape: shape, byteOrder: order, storage: try storage(data)))
    }

    /// A 2-byte opaque datatype on a dataset whose `dtype` attribute says "bfloat16" (Keras 3's
    /// `H5IOStore`: h5py has no bfloat16 type).
    static func isKerasBFloat16(_ h: HDF5ObjectHeader, _ type: HDF5ObjectHeader.Message, _ b: HDF5Bytes) throws(FormatError) -> Bool {
        guard try b.u8(type.offset, "datatype class") & 0x0F == 5, try b.u32(type.offset + 4, "datatype size") == 2 else { return false }
        return try HDF5Attributes.strings(of: h, b).contains { $0.name == "dtype" && $0.values == ["bfloat16"] }
    }

    static func dataspace(_ m: HDF5ObjectHeader.Message, _ b: HDF5Bytes, caps: HDF5Reader.Caps) throws(FormatError) -> [Int] {
        let version = try b.u8(m.offset, "dataspace version")
        let rank = try b.u8(m.offset + 1, "dataspace rank")
        guard rank <= caps.maxRank else {
            throw FormatError(.limitExceeded, "dataspace rank \(rank) is over the limit of \(caps.maxRank)", offset: m.offset + 1)
        }
        let dims: Int
        switch version {
        case 1: dims = m.offset + 8
        case 2:
            let kind = try b.u8(m.offset + 3, "dataspace type")
            if kind == 0 { return [] }
            guard kind == 1 else { throw FormatError(.unsupported, "null dataspace at byte \(m.offset)", offset: m.offset) }
            dims = m.offset + 4
        default:
            throw FormatError(.unsupported, "dataspace version \(version) at byte \(m.offset)", offset: m.offset)
        }
        var shape: [Int] = []
        for i in 0..<rank { shape.append(try b.length(dims + i * b.lengthSize, "dataspace dimension")) }
        guard dims + rank * b.lengthSize <= m.offset + m.size else {
            throw FormatError(.corrupt, "dataspace at byte \(m.offset) runs past its message", offset: m.offset)
        }
        return shape
    }

    static func datatype(_ m: HDF5ObjectHeader.Message, _ b: HDF5Bytes) throws(FormatError) -> Result<(DType, ByteOrder), Skip> {
        let head = try b.u8(m.offset, "datatype class")
        let bits = try b.u8(m.offset + 1, "datatype bit field")
        let size = try b.u32(m.offset + 4, "datatype size")
        let order: ByteOrder = bits & 1 == 0 ? .little : .big
        switch head & 0x0F {
        case 0:
            let signed = bits & 0x08 != 0
            let types: [Int: DType] = signed ? [1: .int8, 2: .int16, 4: .int32, 8: .int64] : [1: .uint8, 2: .uint16, 4: .uint32, 8: .uint64]
            guard let t = types[size] else { return .failure(Skip(reason: "\(size)-byte integers")) }
            return .success((t, order))
        case 1:
            guard bits & 0x40 == 0 else { return .failure(Skip(reason: "VAX-ordered floats")) }
            let mantissa = try b.u8(m.offset + 8 + 7, "float mantissa size")
            switch (size, mantissa) {
            case (2, 10): return .success((.float16, order))
            case (4, 23): return .success((.float32, order))
            case (8, 52): return .success((.float64, order))
            case (2, 7): return .success((.bfloat16, order))
            default: return .failure(Skip(reason: "\(size)-byte floats with a \(mantissa)-bit mantissa"))
            }
        case 3: return .failure(Skip(reason: "strings"))
        case 6: return .failure(Skip(reason: "compound elements"))
        case 9: return .failure(Skip(reason: "variable-length elements"))
        default: return .failure(Skip(reason: "datatype class \(head & 0x0F)"))
        }
    }

    /// Whether a layout message is of class 2 (chunked; ``HDF5Chunks``).
    static func isChunked(_ m: HDF5ObjectHeader.Message, _ b: HDF5Bytes) throws(FormatError) -> Bool {
        let version = try b.u8(m.offset, "layout version")
        return try b.u8(m.offset + (version >= 3 ? 1 : 2), "layout class") == 2
    }

    static func dataRange(_ m: HDF5ObjectHeader.Message, _ b: HDF5Bytes, bytes: Int) throws(FormatError) -> Result<Range<Int>, Skip> {
        let version = try b.u8(m.offset, "layout version")
        switch version {
        case 3, 4:
            let kind = try b.u8(m.offset + 1, "layout class")
            switch kind {
            case 0:
                let size = try b.u16(m.offset + 2, "compact data size")
                guard 4 + size <= m.size else {
                    throw FormatError(.corrupt, "compact data at byte \(m.offset) runs past its message", offset: m.offset)
                }
                return .success(try b.range(m.offset + 4, size, "compact data"))
            case 1:
                let address = try b.address(m.offset + 2, "contiguous data address")
                let size = try b.length(m.offset + 2 + b.offsetSize, "contiguous data size")
                if address == HDF5Bytes.undefined {
                    guard bytes == 0 else { return .failure(Skip(reason: "no data written (never-written dataset)")) }
                    return .success(0..<0)
                }
                return .success(try b.range(address, size, "contiguous data"))
            case 2: return .failure(Skip(reason: "chunked storage (compressed or resizable datasets)"))
            default: return .failure(Skip(reason: "layout class \(kind)"))
            }
        case 1, 2:
            let rank = try b.u8(m.offset + 1, "layout rank")
            let kind = try b.u8(m.offset + 2, "layout class")
            var at = m.offset + 8
            switch kind {
            case 0:
                at += rank * 4
                let size = try b.u32(at, "compact data size")
                return .success(try b.range(at + 4, size, "compact data"))
            case 1:
                let address = try b.address(at, "contiguous data address")
                if address == HDF5Bytes.undefined {
                    guard bytes == 0 else { return .failure(Skip(reason: "no data written (never-written dataset)")) }
                    return .success(0..<0)
                }
                return .success(try b.range(address, bytes, "contiguous data"))
            default: return .failure(Skip(reason: "chunked storage (compressed or resizable datasets)"))
            }
        default:
            throw FormatError(.unsupported, "data layout version \(version) at byte \(m.offset)", offset: m.offset)
        }
    }
}
