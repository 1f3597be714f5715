import ONNXProto

/// A structural walk over a serialized `ModelProto`, done before libprotobuf-c decodes it.
///
/// It checks, with byte offsets, what libprotobuf-c would only answer with "failed": every key,
/// varint and length fits inside its enclosing message; known fields have a wire type the schema
/// allows (repeated scalars packed or not); no groups; nesting at most ``Limits/protobufDepth``;
/// and the memory libprotobuf-c will allocate for the decoded tree (message structs, repeated
/// arrays, copied bytes, unknown fields) stays under ``Limits/onnxDecodedBytes``.
///
/// It also records where each top-level initializer's `raw_data` lies in the file, so that the
/// reader can hand out zero-copy views of the mapped model instead of libprotobuf-c's copies.
struct ONNXWireScan {
    enum Message: Int, CaseIterable {
        case model, graph, node, attribute, tensor, valueInfo, type, typeTensor, shape, dimension, opset, entry

        var protoName: String {
            switch self {
            case .model: "ModelProto"
            case .graph: "GraphProto"
            case .node: "NodeProto"
            case .attribute: "AttributeProto"
            case .tensor: "TensorProto"
            case .valueInfo: "ValueInfoProto"
            case .type: "TypeProto"
            case .typeTensor: "TypeProto.Tensor"
            case .shape: "TensorShapeProto"
            case .dimension: "TensorShapeProto.Dimension"
            case .opset: "OperatorSetIdProto"
            case .entry: "StringStringEntryProto"
            }
        }

        /// Bytes libprotobuf-c allocates for one decoded message of this type.
        var structSize: Int {
            switch self {
            case .model: onnx__model_proto__descriptor.sizeof_message
            case .graph: onnx__graph_proto__descriptor.sizeof_message
            case .node: onnx__node_proto__descriptor.sizeof_message
            case .attribute: onnx__attribute_proto__descriptor.sizeof_message
            case .tensor: onnx__tensor_proto__descriptor.sizeof_message
            case .valueInfo: onnx__value_info_proto__descriptor.sizeof_message
            case .type: onnx__type_proto__descriptor.sizeof_message
            case .typeTensor: onnx__type_proto__tensor__descriptor.sizeof_message
            case .shape: onnx__tensor_shape_proto__descriptor.sizeof_message
            case .dimension: onnx__tensor_shape_proto__dimension__descriptor.sizeof_message
            case .opset: onnx__operator_set_id_proto__descriptor.sizeof_message
            case .entry: onnx__string_string_entry_proto__descriptor.sizeof_message
            }
        }
    }

    enum Kind {
        case varint, fixed32, fixed64, bytes
        case message(Message)
    }

    struct Field {
        let name: String
        let kind: Kind
        let repeated: Bool
    }

    /// The fields of `onnx.proto` (our subset) by message and field number.
    static let schema: [[Int: Field]] = {
        func f(_ name: String, _ kind: Kind, repeated: Bool = false) -> Field { Field(name: name, kind: kind, repeated: repeated) }
        var s = [[Int: Field]](repeating: [:], count: Message.allCases.count)
        s[Message.entry.rawValue] = [1: f("key", .bytes), 2: f("value", .bytes)]
        s[Message.opset.rawValue] = [1: f("domain", .bytes), 2: f("version", .varint)]
        s[Message.tensor.rawValue] = [
            1: f("dims", .varint, repeated: true), 2: f("data_type", .varint),
            4: f("float_data", .fixed32, repeated: true), 5: f("int32_data", .varint, repeated: true),
            6: f("string_data", .bytes, repeated: true), 7: f("int64_data", .varint, repeated: true),
            8: f("name", .bytes), 9: f("raw_data", .bytes), 10: f("double_data", .fixed64, repeated: true),
            11: f("uint64_data", .varint, repeated: true), 12: f("doc_string", .bytes),
            13: f("external_data", .message(.entry), repeated: true), 14: f("data_location", .varint),
            16: f("metadata_props", .message(.entry), repeated: true),
        ]
        s[Message.dimension.rawValue] = [1: f("dim_value", .varint), 2: f("dim_param", .bytes), 3: f("denotation", .bytes)]
        s[Message.shape.rawValue] = [1: f("dim", .message(.dimension), repeated: true)]
        s[Message.typeTensor.rawValue] = [1: f("elem_type", .varint), 2: f("shape", .message(.shape))]
        s[Message.type.rawValue] = [1: f("tensor_type", .message(.typeTensor)), 6: f("denotation", .bytes)]
        s[Message.valueInfo.rawValue] = [
            1: f("name", .bytes), 2: f("type", .message(.type)), 3: f("doc_string", .bytes),
            4: f("metadata_props", .message(.entry), repeated: true),
        ]
        s[Message.attribute.rawValue] = [
            1: f("name", .bytes), 2: f("f", .fixed32), 3: f("i", .varint), 4: f("s", .bytes),
            5: f("t", .message(.tensor)), 6: f("g", .message(.graph)),
            7: f("floats", .fixed32, repeated: true), 8: f("ints", .varint, repeated: true),
            9: f("strings", .bytes, repeated: true), 10: f("tensors", .message(.tensor), repeated: true),
            11: f("graphs", .message(.graph), repeated: true), 13: f("doc_string", .bytes),
            20: f("type", .varint), 21: f("ref_attr_name", .bytes),
        ]
        s[Message.node.rawValue] = [
            1: f("input", .bytes, repeated: true), 2: f("output", .bytes, repeated: true), 3: f("name", .bytes),
            4: f("op_type", .bytes), 5: f("attribute", .message(.attribute), repeated: true),
            6: f("doc_string", .bytes), 7: f("domain", .bytes), 8: f("overload", .bytes),
            9: f("metadata_props", .message(.entry), repeated: true),
        ]
        s[Message.graph.rawValue] = [
            1: f("node", .message(.node), repeated: true), 2: f("name", .bytes),
            5: f("initializer", .message(.tensor), repeated: true), 10: f("doc_string", .bytes),
            11: f("input", .message(.valueInfo), repeated: true), 12: f("output", .message(.valueInfo), repeated: true),
            13: f("value_info", .message(.valueInfo), repeated: true),
            16: f("metadata_props", .message(.entry), repeated: true),
        ]
        s[Message.model.rawValue] = [
            1: f("ir_version", .varint), 2: f("producer_name", .bytes), 3: f("producer_version", .bytes),
            4: f("domain", .bytes), 5: f("model_version", .varint), 6: f("doc_string", .bytes),
            7: f("graph", .message(.graph)), 8: f("opset_import", .message(.opset), repeated: true),
            14: f("metadata_props", .message(.entry), repeated: true),
        ]
        return s
    }()

    private let bytes: UnsafeRawBufferPointer
    private let limits: Limits
    /// Byte range of `raw_data` (last occurrence) of each `ModelProto.graph.initializer`, in file order.
    private(set) var initializerRawData: [Range<Int>?] = []
    /// How many `ModelProto.graph` fields the file holds (libprotobuf-c merges repeats).
    private(set) var graphCount = 0
    /// Estimated bytes libprotobuf-c allocates for the decoded tree.
    private(set) var decodedBytes = 0
    private var path: [(field: String, index: Int?)] = []

    /// Scans `bytes` as a `ModelProto`; throws a ``FormatError`` (without a file) on the first problem.
    init(bytes: UnsafeRawBufferPointer, limits: Limits) throws(FormatError) {
        self.bytes = bytes
        self.limits = limits
        try charge(Message.model.structSize, at: 0)
        try scan(.model, bytes.startIndex, bytes.endIndex, depth: 1, topGraph: false, topInitializer: false)
    }

    /// " in ModelProto.graph.node[3]..." for nested messages, "" at the top level.
    private var where_: String {
        path.isEmpty ? "" : " in ModelProto." + path.map { step in step.index.map { "\(step.field)[\($0)]" } ?? step.field }.joined(separator: ".")
    }

    private mutating func charge(_ n: Int, at offset: Int) throws(FormatError) {
        guard let total = Checked.add(decodedBytes, n), total <= limits.onnxDecodedBytes else {
            throw FormatError(.limitExceeded, "decoding the protobuf would take more than \(limits.onnxDecodedBytes) bytes of memory\(where_)", offset: offset)
        }
        decodedBytes = total
    }

    private func varint(_ p: inout Int, _ end: Int, what: @autoclosure () -> String) throws(FormatError) -> UInt64 {
        let start = p
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard p < end else {
                throw FormatError(.truncated, "truncated protobuf: the data ends inside a varint (\(what()))\(where_)", offset: start)
            }
            let b = bytes[p]
            p += 1
            guard shift < 64 else {
                throw FormatError(.corrupt, "invalid protobuf: varint longer than 10 bytes (\(what()))\(where_)", offset: start)
            }
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
    }

    private mutating func scan(_ message: Message, _ start: Int, _ end: Int, depth: Int,
                               topGraph: Bool, topInitializer: Bool) throws(FormatError) {
        guard depth <= limits.protobufDepth else {
            throw FormatError(.limitExceeded, "protobuf messages nested deeper than \(limits.protobufDepth) levels\(where_)", offset: start)
        }
        let fields = Self.schema[message.rawValue]
        var counts: [Int: Int] = [:]
        var p = start
        while p < end {
            let keyOffset = p
            let key = try varint(&p, end, what: "a field key")
            let number = key >> 3
            let wire = Int(key & 7)
            guard number > 0, number < (1 << 29) else {
                throw FormatError(.corrupt, "invalid protobuf field number \(number) in \(message.protoName)\(where_)", offset: keyOffset)
            }
            let field = fields[Int(number)]
            let label = field.map { "field \(number) (\($0.name))" } ?? "field \(number)"
            var payload = p..<p
            switch wire {
            case 0:
                _ = try varint(&p, end, what: label)
            case 1, 5:
                let n = wire == 1 ? 8 : 4
                guard end - p >= n else {
                    throw FormatError(.truncated, "truncated protobuf: the data ends inside \(message.protoName) \(label)\(where_)", offset: keyOffset)
                }
                p += n
            case 2:
                let len = try varint(&p, end, what: "the length of \(label)")
                guard len <= UInt64(end - p) else {
                    throw FormatError(.truncated, "truncated protobuf: \(message.protoName) \(label) declares \(len) bytes but only \(end - p) remain\(where_)", offset: keyOffset)
                }
                payload = p..<(p + Int(len))
                p = payload.upperBound
            case 3, 4:
                throw FormatError(.unsupported, "protobuf groups (wire type \(wire)) are not used by ONNX (\(message.protoName) \(label))\(where_)", offset: keyOffset)
            default:
                throw FormatError(.corrupt, "invalid protobuf wire type \(wire) (\(message.protoName) \(label))\(where_)", offset: keyOffset)
            }

            guard let field else {
                // Unknown field: libprotobuf-c keeps a copy of it.
                try charge(32 + payload.count, at: keyOffset)
                continue
            }
            let expected: Int
            switch field.kind {
            case .varint: expected = 0
            case .fixed64: expected = 1
            case .fixed32: expected = 5
            case .bytes, .message: expected = 2
            }
            let packed = field.repeated && wire == 2 && expected != 2
            guard wire == expected || packed else {
                throw FormatError(.corrupt, "invalid protobuf: \(message.protoName) \(label) has wire type \(wire), expected \(expected)\(where_)", offset: keyOffset)
            }
            if field.repeated { try charge(16, at: keyOffset) }
            switch field.kind {
            case .bytes:
                try charge(16 + payload.count, at: keyOffset)
                if topInitializer && number == 9 { initializerRawData[initializerRawData.count - 1] = payload }
            case .varint, .fixed32, .fixed64:
                guard packed else { continue }
                var elements = 0
                switch field.kind {
                case .fixed32, .fixed64:
                    let size = field.kind.isFixed64 ? 8 : 4
                    guard payload.count % size == 0 else {
                        throw FormatError(.corrupt, "invalid protobuf: packed \(message.protoName) \(label) holds \(payload.count) bytes, not a multiple of \(size)\(where_)", offset: keyOffset)
                    }
                    elements = payload.count / size
                default:
                    for i in payload where bytes[i] & 0x80 == 0 { elements += 1 }
                    guard payload.isEmpty || bytes[payload.upperBound - 1] & 0x80 == 0 else {
                        throw FormatError(.truncated, "truncated protobuf: packed \(message.protoName) \(label) ends inside a varint\(where_)", offset: keyOffset)
                    }
                }
                guard let cost = Checked.mul(elements, 8) else {
                    throw FormatError(.limitExceeded, "protobuf packed \(label) is too large\(where_)", offset: keyOffset)
                }
                try charge(cost, at: keyOffset)
            case .message(let child):
                let index = counts[Int(number), default: 0]
                counts[Int(number)] = index + 1
                try charge(child.structSize + 8, at: keyOffset)
                let childTopGraph = message == .model && number == 7
                let childTopInitializer = topGraph && number == 5
                if childTopGraph { graphCount += 1 }
                if childTopInitializer { initializerRawData.append(nil) }
                path.append((field.name, field.repeated ? index : nil))
                try scan(child, payload.lowerBound, payload.upperBound, depth: depth + 1,
                         topGraph: childTopGraph, topInitializer: childTopInitializer)
                path.removeLast()
            }
        }
    }
}

private extension ONNXWireScan.Kind {
    var isFixed64: Bool { if case .fixed64 = self { true } else { false } }
}
