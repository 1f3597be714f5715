extension FileFormat {
    public static let safetensors = FileFormat(rawValue: "safetensors")
}

extension FileFormatDescriptor {
    /// 8-byte little-endian header length (2 ≤ n < 2⁴⁰) + `{` or JSON whitespace. A length past the
    /// end of the file (or over the cap) still sniffs, so the reader can say what is wrong; so does
    /// a 5–8-byte file whose bytes 4… are zero (a cut length field) unless it starts like a pickle
    /// or a protobuf.
    public static let safetensors = FileFormatDescriptor(
        format: .safetensors, extensions: [".safetensors"],
        recognition: .leadingBytes(looksLikeSafetensors),
        read: { file, _, limits throws(FormatError) in try SafetensorsReader.read(file: file, limits: limits) },
        output: .tensorMap(SafetensorsWriter.self))

    @Sendable static func looksLikeSafetensors(_ b: UnsafeRawBufferPointer) -> Bool {
        if b.count >= 9 {
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(b[i]) << (8 * UInt64(i)) }
            let jsonStart: [UInt8] = [UInt8(ascii: "{"), 0x20, 0x09, 0x0A, 0x0D]
            return n >= 2 && n < 1 << 40 && jsonStart.contains(b[8])
        }
        return b.count >= 5 && b[4...].allSatisfy { $0 == 0 } && b.first != 0x80 && b.first != 0x08
    }
}
