/// Recognises a file's format from its first bytes, never from its extension.
extension FileFormat {
    /// The format of `bytes`, or nil when no reader recognises it.
    ///
    /// - `\x93NUMPY` → npy; `PK\x03\x04` (or an empty-archive `PK\x05\x06`) → a ZIP, told apart by
    ///   ``ZipFormats`` into npz / pytorch / torchscript;
    /// - `0x80` + a pickle → legacy PyTorch; 8-byte little-endian length (< 2⁴⁰) + `{` or JSON
    ///   whitespace → safetensors (also 5–8-byte files whose bytes 4… are zero: a cut length field);
    /// - a protobuf whose first field is ModelProto's → onnx.
    public static func sniffMagic(_ bytes: UnsafeRawBufferPointer) -> Magic? {
        let b = Array(bytes.prefix(16))
        if b.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) { return .npy }
        if b.starts(with: [0x50, 0x4B, 0x03, 0x04]) || b.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .zip }
        // Before the pickle test: a 128..255-byte safetensors header also starts with 0x80. A length
        // past the end of the file (or over the cap) still sniffs, so the reader can say what is wrong;
        // so does a file cut inside the length field when the bytes that are there fit a small length.
        if b.count >= 9 {
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(b[i]) << (8 * UInt64(i)) }
            let jsonStart: [UInt8] = [UInt8(ascii: "{"), 0x20, 0x09, 0x0A, 0x0D]
            if n >= 2, n < 1 << 40, jsonStart.contains(b[8]) { return .safetensors }
        } else if b.count >= 5, b.count <= 8, b[4...].allSatisfy({ $0 == 0 }), b.first != 0x80, b.first != 0x08 {
            return .safetensors
        }
        // Any other `PK` start goes to the ZIP reader too, so a damaged first local header gets a ZIP
        // error naming the member.
        if b.starts(with: [0x50, 0x4B]) { return .zip }
        if b.first == 0x80 { return .pickle }
        // ONNX ModelProto starts with ir_version (field 1, varint: 0x08) in every exporter seen.
        if b.first == 0x08 { return .protobuf }
        return nil
    }

    /// The container kinds recognisable from the first bytes alone.
    public enum Magic: Sendable {
        case npy, zip, pickle, safetensors, protobuf
    }
}
