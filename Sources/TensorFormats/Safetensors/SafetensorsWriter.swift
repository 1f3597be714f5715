/// Writes safetensors files byte-compatible with the reference implementation (safetensors 0.8.0
/// `serialize`): tensors sorted by dtype in descending ``SafetensorsDType/alignmentRank`` (U64,
/// I64, F64, F32, U32, I32, BF16, F16, U16, I16, I8, U8, BOOL), then by name in UTF-8 byte order;
/// data back to back from offset 0; the header as compact JSON with `__metadata__` first (omitted
/// when empty; keys in the given order) and each entry as `{"dtype","shape","data_offsets"}`; the
/// header padded with spaces to a multiple of 8 so every tensor is aligned to its element size.
/// The same input gives the same bytes.
///
/// Tensors are written in row-major little-endian order whatever their layout; bytes of a mapped
/// input are copied file to file in the kernel (or written with their pages released behind), so
/// memory stays bounded by one chunk. The writer does not
/// commit `output`; the caller does.
public enum SafetensorsWriter: TensorMapWriter {
    public static func write(_ tensors: [NamedTensor], metadata: [(key: String, value: String)],
                             to output: OutputFile, progress: ((Int) -> Void)? = nil) throws(FormatError) {
        try write(entries: tensors.map(TensorEntry.init), metadata: metadata, to: output, progress: progress)
    }

    public static func write(_ entries: [TensorEntry], metadata: [(key: String, value: String)], to output: OutputFile,
                             options: TensorWriteOptions, progress: ((Int) -> Void)?) throws(FormatError) -> [String] {
        try write(entries: entries, metadata: metadata, to: output, progress: progress)
        return []
    }

    /// Writes `entries`; `progress` receives the data bytes written so far after each chunk.
    public static func write(entries: [TensorEntry], metadata: [(key: String, value: String)],
                             to output: OutputFile, progress: ((Int) -> Void)? = nil,
                             limits: Limits = .default) throws(FormatError) {
        let ordered = try order(entries)
        let (header, offsets) = try makeHeader(ordered, metadata: metadata, limits: limits)
        var length = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { length[i] = UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64(i))) }
        try output.write(length)
        try output.write(header)
        var done = 0
        for (e, range) in zip(ordered, offsets) {
            let tensor = try e.loadChecked().contiguous()
            guard tensor.dtype == e.dtype, tensor.shape == e.shape, tensor.isContiguousLittleEndian,
                  tensor.byteCount == range.count else {
                throw FormatError(.corrupt, "tensor changed from \(e.dtype.name) \(e.shape) to \(tensor.dtype.name) \(tensor.shape) while being written",
                                  file: output.path, entry: e.name)
            }
            let base = tensor.byteOffset
            try output.write(tensor.storage, range: base..<(base + range.count)) { r in
                done += r.count
                progress?(done)
            }
            if let source = e.source { source.storage.releasePages(0..<source.storage.count) }
        }
    }

    /// The entries in the reference implementation's order.
    static func order(_ entries: [TensorEntry]) throws(FormatError) -> [TensorEntry] {
        var names: Set<String> = []
        for e in entries {
            guard e.name != "__metadata__" else {
                throw FormatError(.unsupported, "a tensor cannot be named __metadata__ in safetensors", entry: e.name)
            }
            guard names.insert(e.name).inserted else {
                throw FormatError(.unsupported, "two tensors share this name", entry: e.name)
            }
        }
        let keyed = entries.map { (rank: SafetensorsDType($0.dtype).alignmentRank, name: Array($0.name.utf8), entry: $0) }
        return keyed.sorted { a, b in
            a.rank != b.rank ? a.rank > b.rank : a.name.lexicographicallyPrecedes(b.name)
        }.map(\.entry)
    }

    /// The padded header of `ordered` and each tensor's byte range in the data buffer.
    static func makeHeader(_ ordered: [TensorEntry], metadata: [(key: String, value: String)],
                           limits: Limits) throws(FormatError) -> ([UInt8], [Range<Int>]) {
        var json: [UInt8] = [UInt8(ascii: "{")]
        if !metadata.isEmpty {
            var keys: Set<String> = []
            json += Array("\"__metadata__\":{".utf8)
            for (i, (k, v)) in metadata.enumerated() {
                guard keys.insert(k).inserted else {
                    throw FormatError(.unsupported, "metadata key \"\(k)\" appears twice", entry: "__metadata__")
                }
                if i > 0 { json.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(k, to: &json)
                json.append(UInt8(ascii: ":"))
                JSONText.appendQuoted(v, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var offsets: [Range<Int>] = []
        var position = 0
        for (i, e) in ordered.enumerated() {
            guard let count = Checked.product(e.shape), let size = Checked.mul(count, e.dtype.itemSize),
                  let end = Checked.add(position, size) else {
                throw FormatError(.limitExceeded, "size of shape \(e.shape) overflows", entry: e.name)
            }
            if i > 0 || !metadata.isEmpty { json.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(e.name, to: &json)
            json += Array(":{\"dtype\":\"\(SafetensorsDType(e.dtype).rawValue)\",\"shape\":[".utf8)
            json += Array(e.shape.map(String.init).joined(separator: ",").utf8)
            json += Array("],\"data_offsets\":[\(position),\(end)]}".utf8)
            offsets.append(position..<end)
            position = end
        }
        json.append(UInt8(ascii: "}"))
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        guard json.count <= limits.safetensorsHeaderBytes else {
            throw FormatError(.limitExceeded, "header of \(json.count) bytes is over the limit of \(limits.safetensorsHeaderBytes) bytes")
        }
        return (json, offsets)
    }
}
