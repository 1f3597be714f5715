import CProtobufC
import ONNXProto

/// How ``ONNXModelFile/write(_:to:options:)`` stores tensor payloads.
public struct ONNXWriteOptions: Sendable {
    public enum ExternalData: Sendable {
        /// Inline, unless the model would exceed protobuf's 2 GiB message limit; then external.
        case automatic
        /// Initializers of at least ``ONNXWriteOptions/externalMinBytes`` go to the data file.
        case always
        /// Always inline; a model over 2 GiB is an error.
        case never
    }

    public var externalData: ExternalData = .automatic
    /// Initializers smaller than this stay inline when data goes external (onnx's own default).
    public var externalMinBytes = 1024
    /// Alignment of each tensor in the data file (page size, so that runtimes can map them).
    public var externalAlignment = 4096
    /// Replace an existing data file.
    public var overwrite = false
    /// fsync the data file before renaming it (``OutputFile``).
    public var durable = false

    public init(externalData: ExternalData = .automatic, externalMinBytes: Int = 1024, overwrite: Bool = false) {
        self.externalData = externalData
        self.externalMinBytes = externalMinBytes
        self.overwrite = overwrite
    }
}

/// Reads and writes ONNX model files (`ModelProto`) through libprotobuf-c.
///
/// Reading: the file is memory-mapped, its protobuf structure is checked (``ONNXWireScan``: offsets,
/// nesting, decoded-size caps), libprotobuf-c decodes it, and ``ONNXProtoDecoder`` builds the typed
/// ``ONNXModel``; initializer `raw_data` stays a zero-copy view of the mapping. Unknown fields are
/// skipped. Errors name the file and the initializer or node.
///
/// Writing: deterministic bytes (fields in ascending number order, tensors as little-endian
/// `raw_data` or external data in a `<model file name>.data` file beside the model).
public enum ONNXModelFile {
    /// Protobuf's hard limit on one serialized message.
    public static let maximumProtobufBytes = Int(Int32.max)

    public static func read(path: String, limits: Limits = .default) throws(FormatError) -> ONNXModel {
        try read(file: MappedFile(path: path), limits: limits)
    }

    public static func read(file: MappedFile, limits: Limits = .default) throws(FormatError) -> ONNXModel {
        do throws(FormatError) {
            guard file.bytes.count <= limits.protobufBytes else {
                throw FormatError(.limitExceeded, "the model is \(file.bytes.count) bytes, over the protobuf limit of \(limits.protobufBytes)")
            }
            let scan = try ONNXWireScan(bytes: file.bytes, limits: limits)
            let decoding = try limits.memory.reserve(scan.decodedBytes, for: "decoding the protobuf")
            defer { withExtendedLifetime(decoding) {} }
            var empty: UInt8 = 0
            let decoded = withUnsafePointer(to: &empty) { fallback in
                onnx__model_proto__unpack(nil, file.bytes.count, file.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback)
            }
            guard let decoded else {
                throw FormatError(.corrupt, "libprotobuf-c could not decode the model as an ONNX ModelProto")
            }
            defer { onnx__model_proto__free_unpacked(decoded, nil) }
            return try ONNXProtoDecoder(file: file, scan: scan, limits: limits).model(decoded)
        } catch {
            throw error.inFile(file.path)
        }
    }

    /// The model's initializers as named tensors in file order, with `metadata_props` as metadata and
    /// the decoded graph in ``TensorFile/onnxModel``. Initializers of data types without a ``DType`` are
    /// skipped with a note.
    public static func readTensors(file: MappedFile, limits: Limits = .default) throws(FormatError) -> TensorFile {
        let model = try read(file: file, limits: limits)
        var out = TensorFile(path: file.path, format: .onnx, metadata: model.metadataProps)
        out.content = model
        for t in model.graph.initializers {
            if let value = t.tensor {
                out.tensors.append(NamedTensor(name: t.name, tensor: value))
            } else {
                out.notes.append("initializer '\(t.name)' of \(t.dataType) skipped (no matching dtype)")
            }
        }
        return out
    }

    /// The graph of an ONNX ``TensorFile``: the one decoded with its tensors, or read again from its path.
    public static func model(of file: TensorFile, limits: Limits = .default) throws(FormatError) -> ONNXModel {
        if let m = file.onnxModel { return m }
        return try read(path: file.path, limits: limits)
    }

    /// Writes `model` to `output` (not committed). Returns the external data file when tensors were
    /// written to one (`<output file name>.data`, same folder); the caller commits it with `output`.
    public static func write(_ model: ONNXModel, to output: OutputFile,
                             options: ONNXWriteOptions = .init()) throws(FormatError) -> OutputFile? {
        do throws(FormatError) {
            if options.externalData != .always {
                let arena = ONNXProtoArena()
                let inline = try ONNXProtoEncoder(arena: arena, externalize: { _, _ in nil }).model(model)
                let size = ONNXProtoPacker.packedSize(inline)
                if size <= maximumProtobufBytes {
                    try ONNXProtoPacker.pack(inline, to: output)
                    return nil
                }
                guard options.externalData == .automatic else {
                    throw FormatError(.limitExceeded, "the model needs \(size) bytes, over protobuf's 2 GiB limit; write its tensors as external data")
                }
            }
            let dataPath = output.path + ".data"
            let location = String(dataPath[(dataPath.lastIndex(of: "/").map { dataPath.index(after: $0) } ?? dataPath.startIndex)...])
            let data = try OutputFile(path: dataPath, overwrite: options.overwrite, durable: options.durable)
            let arena = ONNXProtoArena()
            let align = max(options.externalAlignment, 1)
            let encoder = ONNXProtoEncoder(arena: arena) { (_, value) throws(FormatError) -> [(key: String, value: String)]? in
                let c = try value.contiguous()
                guard c.byteCount >= options.externalMinBytes, let bytes = c.contiguousBytes else { return nil }
                let pad = (align - data.position % align) % align
                try data.writeZeros(pad)
                let offset = data.position
                try data.write(bytes)
                return [("location", location), ("offset", String(offset)), ("length", String(bytes.count))]
            }
            let m = try encoder.model(model)
            let size = ONNXProtoPacker.packedSize(m)
            guard size <= maximumProtobufBytes else {
                throw FormatError(.limitExceeded, "the model needs \(size) bytes even with external data, over protobuf's 2 GiB limit")
            }
            try ONNXProtoPacker.pack(m, to: output)
            return data
        } catch {
            throw error.inFile(output.path)
        }
    }

    /// The serialized bytes of `model` with every tensor inline (for small models and tests).
    public static func serialized(_ model: ONNXModel) throws(FormatError) -> [UInt8] {
        let arena = ONNXProtoArena()
        let m = try ONNXProtoEncoder(arena: arena, externalize: { _, _ in nil }).model(model)
        let size = ONNXProtoPacker.packedSize(m)
        guard size <= maximumProtobufBytes else {
            throw FormatError(.limitExceeded, "the model needs \(size) bytes, over protobuf's 2 GiB limit")
        }
        let packing = try MemoryBudget.current.reserve(2 * size, for: "serializing the model")
        defer { withExtendedLifetime(packing) {} }
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBufferPointer { onnx__model_proto__pack(m, $0.baseAddress!) }
        return Array(out[0..<written])
    }
}
