import CProtobufC
import ONNXProto

/// Memory for one C `ModelProto` tree built from an ``ONNXModel``: every struct, array and copied
/// string is freed with the arena. Tensor payloads are not copied: `raw_data` points at the tensors'
/// own contiguous bytes, which the arena keeps alive.
final class ONNXProtoArena {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var retained: [Tensor] = []

    /// `count` zeroed values of `T` (a C struct, pointer or scalar), at least one.
    func allocate<T>(_: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        let bytes = MemoryLayout<T>.stride * max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: max(MemoryLayout<T>.alignment, 16))
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    func array<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let p = allocate(T.self, count: values.count)
        for (i, v) in values.enumerated() { (p + i).initialize(to: v) }
        return p
    }

    func bytes(_ s: String) -> ProtobufCBinaryData {
        let u = Array(s.utf8)
        guard !u.isEmpty, let p = array(u) else { return ProtobufCBinaryData(len: 0, data: nil) }
        return ProtobufCBinaryData(len: u.count, data: p)
    }

    /// The little-endian row-major bytes of `t`, kept alive by the arena.
    func payload(_ t: Tensor) throws(FormatError) -> ProtobufCBinaryData {
        let c = try t.contiguous()
        retained.append(c)
        guard let raw = c.contiguousBytes, raw.count > 0 else { return ProtobufCBinaryData(len: 0, data: nil) }
        return ProtobufCBinaryData(len: raw.count, data: UnsafeMutablePointer(mutating: raw.baseAddress!.assumingMemoryBound(to: UInt8.self)))
    }

    deinit {
        for b in blocks { b.deallocate() }
    }
}

/// Builds the C `ModelProto` tree for an ``ONNXModel``. Optional strings are written only when
/// non-empty; tensors are written as `raw_data`, or as external data when `externalize` returns
/// the entries (`location`, `offset`, `length`) for a top-level initializer.
struct ONNXProtoEncoder {
    let arena: ONNXProtoArena
    var externalize: (ONNXTensor, Tensor) throws(FormatError) -> [(key: String, value: String)]?

    func model(_ m: ONNXModel) throws(FormatError) -> UnsafeMutablePointer<Onnx__ModelProto> {
        let p = arena.allocate(Onnx__ModelProto.self)
        onnx__model_proto__init(p)
        p.pointee.has_ir_version = 1
        p.pointee.ir_version = m.irVersion
        setBytes(m.producerName, &p.pointee.has_producer_name, &p.pointee.producer_name)
        setBytes(m.producerVersion, &p.pointee.has_producer_version, &p.pointee.producer_version)
        setBytes(m.domain, &p.pointee.has_domain, &p.pointee.domain)
        if m.modelVersion != 0 {
            p.pointee.has_model_version = 1
            p.pointee.model_version = m.modelVersion
        }
        setBytes(m.docString, &p.pointee.has_doc_string, &p.pointee.doc_string)
        p.pointee.graph = try graph(m.graph, top: true)
        let opsets = m.opsetImports.map { o -> UnsafeMutablePointer<Onnx__OperatorSetIdProto>? in
            let q = arena.allocate(Onnx__OperatorSetIdProto.self)
            onnx__operator_set_id_proto__init(q)
            setBytes(o.domain, &q.pointee.has_domain, &q.pointee.domain)
            q.pointee.has_version = 1
            q.pointee.version = o.version
            return q
        }
        p.pointee.n_opset_import = opsets.count
        p.pointee.opset_import = arena.array(opsets)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = entries(m.metadataProps)
        return p
    }

    func graph(_ g: ONNXGraph, top: Bool) throws(FormatError) -> UnsafeMutablePointer<Onnx__GraphProto> {
        let p = arena.allocate(Onnx__GraphProto.self)
        onnx__graph_proto__init(p)
        var nodes: [UnsafeMutablePointer<Onnx__NodeProto>?] = []
        for n in g.nodes { nodes.append(try node(n)) }
        p.pointee.n_node = nodes.count
        p.pointee.node = arena.array(nodes)
        setBytes(g.name, &p.pointee.has_name, &p.pointee.name)
        var inits: [UnsafeMutablePointer<Onnx__TensorProto>?] = []
        for t in g.initializers { inits.append(try tensor(t, top: top)) }
        p.pointee.n_initializer = inits.count
        p.pointee.initializer = arena.array(inits)
        setBytes(g.docString, &p.pointee.has_doc_string, &p.pointee.doc_string)
        let inputs = g.inputs.map(valueInfo), outputs = g.outputs.map(valueInfo), infos = g.valueInfo.map(valueInfo)
        (p.pointee.n_input, p.pointee.input) = (inputs.count, arena.array(inputs))
        (p.pointee.n_output, p.pointee.output) = (outputs.count, arena.array(outputs))
        (p.pointee.n_value_info, p.pointee.value_info) = (infos.count, arena.array(infos))
        return p
    }

    func node(_ n: ONNXNode) throws(FormatError) -> UnsafeMutablePointer<Onnx__NodeProto> {
        let p = arena.allocate(Onnx__NodeProto.self)
        onnx__node_proto__init(p)
        let ins = n.inputs.map(arena.bytes), outs = n.outputs.map(arena.bytes)
        (p.pointee.n_input, p.pointee.input) = (ins.count, arena.array(ins))
        (p.pointee.n_output, p.pointee.output) = (outs.count, arena.array(outs))
        setBytes(n.name, &p.pointee.has_name, &p.pointee.name)
        setBytes(n.opType, &p.pointee.has_op_type, &p.pointee.op_type)
        var attrs: [UnsafeMutablePointer<Onnx__AttributeProto>?] = []
        for a in n.attributes {
            do {
                attrs.append(try attribute(a))
            } catch {
                throw error.inEntry(n.name.isEmpty ? n.opType : n.name)
            }
        }
        (p.pointee.n_attribute, p.pointee.attribute) = (attrs.count, arena.array(attrs))
        setBytes(n.docString, &p.pointee.has_doc_string, &p.pointee.doc_string)
        setBytes(n.domain, &p.pointee.has_domain, &p.pointee.domain)
        return p
    }

    func attribute(_ a: ONNXAttribute) throws(FormatError) -> UnsafeMutablePointer<Onnx__AttributeProto> {
        let p = arena.allocate(Onnx__AttributeProto.self)
        onnx__attribute_proto__init(p)
        setBytes(a.name, &p.pointee.has_name, &p.pointee.name)
        p.pointee.has_type = 1
        p.pointee.type = a.typeNumber
        switch a.value {
        case .float(let v): (p.pointee.has_f, p.pointee.f) = (1, v)
        case .int(let v): (p.pointee.has_i, p.pointee.i) = (1, v)
        case .string(let v): (p.pointee.has_s, p.pointee.s) = (1, arena.bytes(v))
        case .tensor(let t): p.pointee.t = try tensor(t, top: false)
        case .graph(let g): p.pointee.g = try graph(g, top: false)
        case .floats(let v): (p.pointee.n_floats, p.pointee.floats) = (v.count, arena.array(v))
        case .ints(let v): (p.pointee.n_ints, p.pointee.ints) = (v.count, arena.array(v))
        case .strings(let v):
            let b = v.map(arena.bytes)
            (p.pointee.n_strings, p.pointee.strings) = (b.count, arena.array(b))
        case .tensors(let ts):
            var out: [UnsafeMutablePointer<Onnx__TensorProto>?] = []
            for t in ts { out.append(try tensor(t, top: false)) }
            (p.pointee.n_tensors, p.pointee.tensors) = (out.count, arena.array(out))
        case .graphs(let gs):
            var out: [UnsafeMutablePointer<Onnx__GraphProto>?] = []
            for g in gs { out.append(try graph(g, top: false)) }
            (p.pointee.n_graphs, p.pointee.graphs) = (out.count, arena.array(out))
        case .unsupported(let t):
            throw FormatError(.unsupported, "attribute '\(a.name)' of type \(t) cannot be written")
        }
        setBytes(a.docString, &p.pointee.has_doc_string, &p.pointee.doc_string)
        return p
    }

    func tensor(_ t: ONNXTensor, top: Bool) throws(FormatError) -> UnsafeMutablePointer<Onnx__TensorProto> {
        guard let value = t.tensor else {
            throw FormatError(.unsupported, "tensor of \(t.dataType) has no payload to write", entry: t.name)
        }
        let p = arena.allocate(Onnx__TensorProto.self)
        onnx__tensor_proto__init(p)
        let dims = value.shape.map(Int64.init)
        (p.pointee.n_dims, p.pointee.dims) = (dims.count, arena.array(dims))
        p.pointee.has_data_type = 1
        p.pointee.data_type = ONNXDataType(value.dtype).rawValue
        setBytes(t.name, &p.pointee.has_name, &p.pointee.name)
        if top, let ext = try externalize(t, value) {
            (p.pointee.n_external_data, p.pointee.external_data) = entries(ext)
            p.pointee.has_data_location = 1
            p.pointee.data_location = 1
        } else {
            p.pointee.has_raw_data = 1
            p.pointee.raw_data = try arena.payload(value)
        }
        setBytes(t.docString, &p.pointee.has_doc_string, &p.pointee.doc_string)
        return p
    }

    func valueInfo(_ v: ONNXValueInfo) -> UnsafeMutablePointer<Onnx__ValueInfoProto>? {
        let p = arena.allocate(Onnx__ValueInfoProto.self)
        onnx__value_info_proto__init(p)
        setBytes(v.name, &p.pointee.has_name, &p.pointee.name)
        let type = arena.allocate(Onnx__TypeProto.self)
        onnx__type_proto__init(type)
        let tt = arena.allocate(Onnx__TypeProto__Tensor.self)
        onnx__type_proto__tensor__init(tt)
        tt.pointee.has_elem_type = 1
        tt.pointee.elem_type = v.elementType.rawValue
        if let shape = v.shape {
            let s = arena.allocate(Onnx__TensorShapeProto.self)
            onnx__tensor_shape_proto__init(s)
            let dims = shape.map { d -> UnsafeMutablePointer<Onnx__TensorShapeProto__Dimension>? in
                let q = arena.allocate(Onnx__TensorShapeProto__Dimension.self)
                onnx__tensor_shape_proto__dimension__init(q)
                switch d {
                case .value(let n):
                    q.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                    q.pointee.dim_value = n
                case .param(let name):
                    q.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                    q.pointee.dim_param = arena.bytes(name)
                case .unknown:
                    break
                }
                return q
            }
            (s.pointee.n_dim, s.pointee.dim) = (dims.count, arena.array(dims))
            tt.pointee.shape = s
        }
        type.pointee.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
        type.pointee.tensor_type = tt
        p.pointee.type = type
        setBytes(v.docString, &p.pointee.has_doc_string, &p.pointee.doc_string)
        return p
    }

    private func entries(_ list: [(key: String, value: String)]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<Onnx__StringStringEntryProto>?>?) {
        let items = list.map { e -> UnsafeMutablePointer<Onnx__StringStringEntryProto>? in
            let q = arena.allocate(Onnx__StringStringEntryProto.self)
            onnx__string_string_entry_proto__init(q)
            (q.pointee.has_key, q.pointee.key) = (1, arena.bytes(e.key))
            (q.pointee.has_value, q.pointee.value) = (1, arena.bytes(e.value))
            return q
        }
        return (items.count, arena.array(items))
    }

    private func setBytes(_ s: String, _ has: inout protobuf_c_boolean, _ field: inout ProtobufCBinaryData) {
        guard !s.isEmpty else { return }
        has = 1
        field = arena.bytes(s)
    }
}

/// Streams `protobuf_c_message_pack_to_buffer` output into an ``OutputFile`` (no whole-model buffer).
enum ONNXProtoPacker {
    private final class Sink {
        let output: OutputFile
        var error: FormatError?
        init(output: OutputFile) { self.output = output }
    }

    static func packedSize(_ m: UnsafeMutablePointer<Onnx__ModelProto>) -> Int {
        onnx__model_proto__get_packed_size(m)
    }

    static func pack(_ m: UnsafeMutablePointer<Onnx__ModelProto>, to output: OutputFile) throws(FormatError) {
        let sink = Sink(output: output)
        let headerSize = MemoryLayout<ProtobufCBuffer>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: headerSize + MemoryLayout<UnsafeMutableRawPointer>.stride, alignment: 16)
        defer { raw.deallocate() }
        let buffer = raw.bindMemory(to: ProtobufCBuffer.self, capacity: 1)
        buffer.initialize(to: ProtobufCBuffer(append: { buf, len, data in
            guard let buf, let data, len > 0 else { return }
            let ctx = UnsafeRawPointer(buf).load(fromByteOffset: MemoryLayout<ProtobufCBuffer>.stride, as: UnsafeMutableRawPointer.self)
            let sink = Unmanaged<Sink>.fromOpaque(ctx).takeUnretainedValue()
            guard sink.error == nil else { return }
            do throws(FormatError) {
                try sink.output.write(UnsafeRawBufferPointer(start: data, count: len))
            } catch {
                sink.error = error
            }
        }))
        (raw + headerSize).storeBytes(of: Unmanaged.passUnretained(sink).toOpaque(), as: UnsafeMutableRawPointer.self)
        withExtendedLifetime(sink) {
            _ = onnx__model_proto__pack_to_buffer(m, buffer)
        }
        if let e = sink.error { throw e }
    }
}
