#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CProtobufC
import ONNXProto

/// Turns libprotobuf-c's decoded `ModelProto` into the typed ``ONNXModel``.
///
/// Tensor payloads: `raw_data` (little-endian, exactly the shape's byte count) becomes a zero-copy
/// view of the mapped model for top-level initializers, a copy elsewhere; `float_data`,
/// `double_data`, `int64_data`, `uint64_data` and `int32_data` (which also carries int8/16, uint8/16,
/// bool, and float16 / bfloat16 as bit patterns in the low 16 bits) are copied; external data is
/// mapped from its file. Data types without a ``DType`` keep their dims and no payload.
struct ONNXProtoDecoder {
    let file: MappedFile
    let scan: ONNXWireScan
    let limits: Limits
    let external: ONNXExternalData

    init(file: MappedFile, scan: ONNXWireScan, limits: Limits) {
        self.file = file
        self.scan = scan
        self.limits = limits
        external = ONNXExternalData(modelPath: file.path)
    }

    func model(_ m: UnsafePointer<Onnx__ModelProto>) throws(FormatError) -> ONNXModel {
        let p = m.pointee
        var opsets: [ONNXOpsetImport] = []
        for o in messages(p.opset_import, p.n_opset_import) {
            opsets.append(ONNXOpsetImport(domain: string(o.pointee.domain), version: o.pointee.version))
        }
        guard let g = p.graph else {
            throw FormatError(.corrupt, "the model has no graph (not an ONNX model?)")
        }
        let graph = try self.graph(g, top: true)
        return ONNXModel(irVersion: p.ir_version, opsetImports: opsets,
                         producerName: string(p.producer_name), producerVersion: string(p.producer_version),
                         domain: string(p.domain), modelVersion: p.model_version, docString: string(p.doc_string),
                         graph: graph, metadataProps: entries(p.metadata_props, p.n_metadata_props))
    }

    func graph(_ g: UnsafePointer<Onnx__GraphProto>, top: Bool) throws(FormatError) -> ONNXGraph {
        let p = g.pointee
        var out = ONNXGraph(name: string(p.name), docString: string(p.doc_string))
        out.nodes.reserveCapacity(p.n_node)
        for (i, n) in messages(p.node, p.n_node).enumerated() {
            out.nodes.append(try node(n, index: i))
        }
        let zeroCopy = top && scan.graphCount == 1 && scan.initializerRawData.count == p.n_initializer
        for (i, t) in messages(p.initializer, p.n_initializer).enumerated() {
            let name = string(t.pointee.name)
            do {
                out.initializers.append(try tensor(t, mappedRawData: zeroCopy ? scan.initializerRawData[i] : nil))
            } catch {
                throw error.inEntry(name.isEmpty ? "initializer #\(i)" : name).prefixed("initializer: ")
            }
        }
        out.inputs = messages(p.input, p.n_input).map(valueInfo)
        out.outputs = messages(p.output, p.n_output).map(valueInfo)
        out.valueInfo = messages(p.value_info, p.n_value_info).map(valueInfo)
        return out
    }

    func node(_ n: UnsafePointer<Onnx__NodeProto>, index: Int) throws(FormatError) -> ONNXNode {
        let p = n.pointee
        var out = ONNXNode(name: string(p.name), opType: string(p.op_type), domain: string(p.domain),
                           inputs: strings(p.input, p.n_input), outputs: strings(p.output, p.n_output),
                           docString: string(p.doc_string))
        for a in messages(p.attribute, p.n_attribute) {
            do {
                out.attributes.append(try attribute(a))
            } catch {
                let label = out.name.isEmpty ? "node #\(index)" : out.name
                throw error.inEntry(label).prefixed("\(out.opType) node, attribute '\(string(a.pointee.name))': ")
            }
        }
        return out
    }

    func attribute(_ a: UnsafePointer<Onnx__AttributeProto>) throws(FormatError) -> ONNXAttribute {
        let p = a.pointee
        var type = p.has_type != 0 ? p.type : 0
        if type == 0 {
            // No declared type (refused by the checker): take the field that is present.
            if p.has_f != 0 { type = 1 } else if p.has_i != 0 { type = 2 } else if p.has_s != 0 { type = 3 }
            else if p.t != nil { type = 4 } else if p.g != nil { type = 5 } else if p.n_floats > 0 { type = 6 }
            else if p.n_ints > 0 { type = 7 } else if p.n_strings > 0 { type = 8 } else if p.n_tensors > 0 { type = 9 }
            else if p.n_graphs > 0 { type = 10 }
        }
        let value: ONNXAttribute.Value
        switch type {
        case 1: value = .float(p.f)
        case 2: value = .int(p.i)
        case 3: value = .string(string(p.s))
        case 4:
            guard let t = p.t else { throw FormatError(.corrupt, "TENSOR attribute without a tensor") }
            value = .tensor(try tensor(t, mappedRawData: nil))
        case 5:
            guard let g = p.g else { throw FormatError(.corrupt, "GRAPH attribute without a graph") }
            value = .graph(try graph(g, top: false))
        case 6: value = .floats(Array(buffer(p.floats, p.n_floats)))
        case 7: value = .ints(Array(buffer(p.ints, p.n_ints)))
        case 8: value = .strings(buffer(p.strings, p.n_strings).map(string))
        case 9:
            var ts: [ONNXTensor] = []
            for t in messages(p.tensors, p.n_tensors) { ts.append(try tensor(t, mappedRawData: nil)) }
            value = .tensors(ts)
        case 10:
            var gs: [ONNXGraph] = []
            for g in messages(p.graphs, p.n_graphs) { gs.append(try graph(g, top: false)) }
            value = .graphs(gs)
        default: value = .unsupported(type: type)
        }
        return ONNXAttribute(name: string(p.name), value: value, docString: string(p.doc_string))
    }

    func valueInfo(_ v: UnsafeMutablePointer<Onnx__ValueInfoProto>) -> ONNXValueInfo {
        let p = v.pointee
        var elem = ONNXDataType.undefined
        var shape: [ONNXDim]?
        if let t = p.type, t.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, let tt = t.pointee.tensor_type {
            elem = ONNXDataType(rawValue: tt.pointee.has_elem_type != 0 ? tt.pointee.elem_type : 0)
            if let s = tt.pointee.shape {
                shape = messages(s.pointee.dim, s.pointee.n_dim).map { d in
                    switch d.pointee.value_case {
                    case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE: .value(d.pointee.dim_value)
                    case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM: .param(string(d.pointee.dim_param))
                    default: .unknown
                    }
                }
            }
        }
        return ONNXValueInfo(name: string(p.name), elementType: elem, shape: shape, docString: string(p.doc_string))
    }

    /// Decodes one `TensorProto`. `mappedRawData` is where its `raw_data` lies in the mapped model,
    /// when known (zero-copy); it is only used after checking it holds the same bytes.
    func tensor(_ t: UnsafePointer<Onnx__TensorProto>, mappedRawData: Range<Int>?) throws(FormatError) -> ONNXTensor {
        let p = t.pointee
        let name = string(p.name)
        let dataType = ONNXDataType(rawValue: p.has_data_type != 0 ? p.data_type : 0)
        guard p.n_dims <= limits.maxRank else {
            throw FormatError(.limitExceeded, "rank \(p.n_dims) is over the limit of \(limits.maxRank)")
        }
        var dims: [Int] = []
        for d in buffer(p.dims, p.n_dims) {
            guard d >= 0, let v = Int(exactly: d) else { throw FormatError(.corrupt, "negative dimension \(d)") }
            dims.append(v)
        }
        guard let count = Checked.product(dims) else {
            throw FormatError(.limitExceeded, "element count of shape \(dims) overflows")
        }
        guard let dtype = dataType.dtype else {
            return ONNXTensor(name: name, dataType: dataType, dims: dims, tensor: nil, docString: string(p.doc_string))
        }
        guard let byteCount = Checked.mul(count, dtype.itemSize) else {
            throw FormatError(.limitExceeded, "byte size of shape \(dims) overflows")
        }
        let storage: TensorStorage
        if p.has_data_location != 0 && p.data_location == 1 {
            storage = try external.storage(entries: entries(p.external_data, p.n_external_data), byteCount: byteCount)
        } else if p.has_raw_data != 0 {
            let raw = UnsafeRawBufferPointer(start: p.raw_data.data, count: p.raw_data.len)
            guard raw.count == byteCount else {
                throw FormatError(.corrupt, "raw_data holds \(raw.count) bytes but shape \(dims) of \(dtype.name) needs \(byteCount)")
            }
            if let r = mappedRawData, r.count == raw.count,
               raw.count == 0 || memcmp(raw.baseAddress!, file.bytes.baseAddress! + r.lowerBound, raw.count) == 0 {
                storage = TensorStorage(mapped: file, range: r)
            } else {
                storage = try TensorStorage(copying: raw)
            }
        } else {
            storage = try typedData(p, dtype: dtype, count: count, dims: dims)
        }
        let value = try Tensor(dtype: dtype, shape: dims, storage: storage)
        return ONNXTensor(name: name, dataType: dataType, dims: dims, tensor: value, docString: string(p.doc_string))
    }

    private func typedData(_ p: Onnx__TensorProto, dtype: DType, count: Int, dims: [Int]) throws(FormatError) -> TensorStorage {
        func check(_ n: Int, _ field: String) throws(FormatError) {
            guard n == count else {
                throw FormatError(.corrupt, "\(field) holds \(n) values but shape \(dims) needs \(count)")
            }
        }
        let size = dtype.itemSize
        switch dtype {
        case .float32:
            if count == 0 && p.n_float_data == 0 { return try TensorStorage(bytes: []) }
            try check(p.n_float_data, "float_data")
            return try TensorStorage(count: count * size) { dst in
                for (i, v) in buffer(p.float_data, p.n_float_data).enumerated() { dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
            }
        case .float64:
            if count == 0 && p.n_double_data == 0 { return try TensorStorage(bytes: []) }
            try check(p.n_double_data, "double_data")
            return try TensorStorage(count: count * size) { dst in
                for (i, v) in buffer(p.double_data, p.n_double_data).enumerated() { dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 8, as: UInt64.self) }
            }
        case .int64:
            if count == 0 && p.n_int64_data == 0 { return try TensorStorage(bytes: []) }
            try check(p.n_int64_data, "int64_data")
            return try TensorStorage(count: count * size) { dst in
                for (i, v) in buffer(p.int64_data, p.n_int64_data).enumerated() { dst.storeBytes(of: v.littleEndian, toByteOffset: i * 8, as: Int64.self) }
            }
        case .uint32, .uint64:
            if count == 0 && p.n_uint64_data == 0 { return try TensorStorage(bytes: []) }
            try check(p.n_uint64_data, "uint64_data")
            return try TensorStorage(count: count * size) { dst in
                for (i, v) in buffer(p.uint64_data, p.n_uint64_data).enumerated() {
                    if size == 8 { dst.storeBytes(of: v.littleEndian, toByteOffset: i * 8, as: UInt64.self) }
                    else { dst.storeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian, toByteOffset: i * 4, as: UInt32.self) }
                }
            }
        default:
            // int32_data: one element per int32; narrower types (and float16 / bfloat16 bit patterns) in the low bits.
            if count == 0 && p.n_int32_data == 0 { return try TensorStorage(bytes: []) }
            try check(p.n_int32_data, "int32_data")
            return try TensorStorage(count: count * size) { dst in
                for (i, v) in buffer(p.int32_data, p.n_int32_data).enumerated() {
                    switch size {
                    case 1: dst[i] = dtype == .bool ? (v != 0 ? 1 : 0) : UInt8(truncatingIfNeeded: v)
                    case 2: dst.storeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian, toByteOffset: i * 2, as: UInt16.self)
                    default: dst.storeBytes(of: v.littleEndian, toByteOffset: i * 4, as: Int32.self)
                    }
                }
            }
        }
    }

    // MARK: - C accessors

    func string(_ b: ProtobufCBinaryData) -> String {
        guard b.len > 0, let d = b.data else { return "" }
        return String(decoding: UnsafeBufferPointer(start: d, count: b.len), as: UTF8.self)
    }

    func strings(_ p: UnsafeMutablePointer<ProtobufCBinaryData>?, _ n: Int) -> [String] {
        buffer(p, n).map(string)
    }

    func entries(_ p: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__StringStringEntryProto>?>?, _ n: Int) -> [(key: String, value: String)] {
        messages(p, n).map { (key: string($0.pointee.key), value: string($0.pointee.value)) }
    }

    func buffer<T>(_ p: UnsafeMutablePointer<T>?, _ n: Int) -> UnsafeBufferPointer<T> {
        guard let p, n > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: p, count: n)
    }

    /// The non-null message pointers of a repeated message field.
    func messages<T>(_ p: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ n: Int) -> [UnsafeMutablePointer<T>] {
        buffer(p, n).compactMap { $0 }
    }
}

extension FormatError {
    /// The same error with `prefix` in front of its message (kept when already prefixed).
    func prefixed(_ prefix: String) -> FormatError {
        var copy = self
        if !copy.message.hasPrefix(prefix) { copy.message = prefix + copy.message }
        return copy
    }
}
