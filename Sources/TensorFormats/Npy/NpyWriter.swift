/// Writes `.npy` streams exactly as `np.save` does (numpy 2.x, `_write_array_header` / `_wrap_header`).
///
/// Header text: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, keys sorted, then
/// `21 − len(repr(shape[0]))` spaces of growth room (none for 0-d), then spaces and a final `\n`
/// so that the data starts at a multiple of 64. Version 1.0 unless the header exceeds 65535 bytes
/// (then 2.0). Data is written C order, little-endian; bfloat16 is written as `'<V2'`, as
/// ml_dtypes does (numpy loads it as 2-byte void; `.view(ml_dtypes.bfloat16)` recovers it).
public enum NpyWriter {
    /// The complete header (magic through the final `\n`) for an array of `dtype` and `shape`.
    public static func header(dtype: DType, shape: [Int]) -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var text = "{'descr': '\(NpyDescr.encode(dtype))', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first {
            text += String(repeating: " ", count: max(0, 21 - String(first).count))
        }
        var body = Array(text.utf8)
        var major: UInt8 = 1
        var prefixLength = 10
        var total = body.count + 1
        var pad = 64 - (prefixLength + total) % 64
        if total + pad > 0xFFFF {
            major = 2
            prefixLength = 12
            pad = 64 - (prefixLength + total) % 64
        }
        body.append(contentsOf: repeatElement(0x20, count: pad))
        body.append(0x0A)
        total = body.count
        var out = LEBytes()
        out.append(NpyReader.magic)
        out.append([major, 0])
        if major == 1 { out.u16(UInt16(total)) } else { out.u32(UInt32(total)) }
        out.append(body)
        return out.bytes
    }

    /// Calls `body` with the npy header and the tensor's C-order little-endian bytes (copied only
    /// when the tensor is not already laid out that way).
    public static func withParts<R>(of tensor: Tensor, _ body: ([UInt8], UnsafeRawBufferPointer) throws(FormatError) -> R) throws(FormatError) -> R {
        let header = header(dtype: tensor.dtype, shape: tensor.shape)
        let c = try tensor.contiguous()
        let payload = c.contiguousBytes ?? UnsafeRawBufferPointer(start: nil, count: 0)
        return try withExtendedLifetime(c) { () throws(FormatError) -> R in try body(header, payload) }
    }

    /// Like ``withParts(of:_:)`` with the payload as a ZIP part: streamed from the tensor's storage
    /// (mapped input pages released as they are written, deferred bytes made as they are written),
    /// with the storage's checked CRC-32 when the payload is the whole storage. A non-contiguous
    /// tensor must have its bytes in memory (``Tensor/loaded()``).
    public static func withZipParts<R>(of tensor: Tensor, _ body: ([UInt8], ZipWriter.Part) throws(FormatError) -> R) throws(FormatError) -> R {
        let header = header(dtype: tensor.dtype, shape: tensor.shape)
        let c = try tensor.contiguous()
        let part = c.isContiguousLittleEndian ? ZipWriter.Part(c.storage, range: c.byteOffset..<(c.byteOffset + c.byteCount))
            : ZipWriter.Part(UnsafeRawBufferPointer(start: nil, count: 0))
        return try withExtendedLifetime(c) { () throws(FormatError) -> R in try body(header, part) }
    }

    /// Writes `tensor` as a complete `.npy` stream to `output` (which the caller commits).
    public static func write(_ tensor: Tensor, to output: OutputFile) throws(FormatError) {
        try withParts(of: tensor) { (header, payload) throws(FormatError) in
            try output.write(header)
            try output.write(payload)
        }
    }
}
