/// A typed, C-free view of an ONNX model: the subset of `onnx.proto` that LSTM models use.
///
/// Read with ``ONNXModelFile/read(path:limits:)``, written with ``ONNXModelFile/write(_:to:options:)``.
/// Names and strings are UTF-8 (invalid sequences are replaced when reading). Fields of the real
/// schema that are not modelled here (functions, training info, sparse initializers, non-tensor
/// types) are skipped when reading.
public struct ONNXModel: Sendable {
    public var irVersion: Int64
    /// Operator sets the graph uses; `""` (or `"ai.onnx"`) is the default domain.
    public var opsetImports: [ONNXOpsetImport]
    public var producerName: String
    public var producerVersion: String
    public var domain: String
    public var modelVersion: Int64
    public var docString: String
    public var graph: ONNXGraph
    /// `ModelProto.metadata_props`, in file order.
    public var metadataProps: [(key: String, value: String)]

    public init(irVersion: Int64 = 8, opsetImports: [ONNXOpsetImport] = [ONNXOpsetImport(domain: "", version: 17)],
                producerName: String = "", producerVersion: String = "", domain: String = "",
                modelVersion: Int64 = 0, docString: String = "", graph: ONNXGraph,
                metadataProps: [(key: String, value: String)] = []) {
        self.irVersion = irVersion
        self.opsetImports = opsetImports
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.domain = domain
        self.modelVersion = modelVersion
        self.docString = docString
        self.graph = graph
        self.metadataProps = metadataProps
    }

    /// The opset version imported for `domain` (`""` and `"ai.onnx"` are the same domain).
    public func opsetVersion(domain: String = "") -> Int64? {
        let wanted = domain == "ai.onnx" ? "" : domain
        return opsetImports.last { ($0.domain == "ai.onnx" ? "" : $0.domain) == wanted }?.version
    }

    /// The value of metadata key `key` (the last one when repeated).
    public func metadata(_ key: String) -> String? {
        metadataProps.last { $0.key == key }?.value
    }
}

public struct ONNXOpsetImport: Equatable, Sendable {
    public var domain: String
    public var version: Int64
    public init(domain: String, version: Int64) {
        self.domain = domain
        self.version = version
    }
}

/// `GraphProto`: nodes in file order (topological in a valid model), initializers, graph inputs and
/// outputs, and intermediate value infos.
public struct ONNXGraph: Sendable {
    public var name: String
    public var nodes: [ONNXNode]
    public var initializers: [ONNXTensor]
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
    public var valueInfo: [ONNXValueInfo]
    public var docString: String

    public init(name: String = "", nodes: [ONNXNode] = [], initializers: [ONNXTensor] = [],
                inputs: [ONNXValueInfo] = [], outputs: [ONNXValueInfo] = [],
                valueInfo: [ONNXValueInfo] = [], docString: String = "") {
        self.name = name
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
        self.valueInfo = valueInfo
        self.docString = docString
    }

    /// The initializer called `name` (the last one when repeated).
    public func initializer(named name: String) -> ONNXTensor? {
        initializers.last { $0.name == name }
    }
}

/// `NodeProto`. Empty strings in `inputs` / `outputs` mark omitted optional slots.
public struct ONNXNode: Sendable {
    public var name: String
    public var opType: String
    /// `""` for the default ONNX domain.
    public var domain: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [ONNXAttribute]
    public var docString: String

    public init(name: String = "", opType: String, domain: String = "", inputs: [String], outputs: [String],
                attributes: [ONNXAttribute] = [], docString: String = "") {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
        self.docString = docString
    }

    /// The attribute called `name`, if present.
    public func attribute(_ name: String) -> ONNXAttribute? {
        attributes.first { $0.name == name }
    }

    /// Input `index`, or nil when the slot is absent or the empty string.
    public func input(_ index: Int) -> String? {
        index < inputs.count && !inputs[index].isEmpty ? inputs[index] : nil
    }

    /// Whether the node is in the default ONNX domain (`""` or `"ai.onnx"`).
    public var isDefaultDomain: Bool { domain.isEmpty || domain == "ai.onnx" }
}

/// `AttributeProto`: a name and one typed value.
public struct ONNXAttribute: Sendable {
    public indirect enum Value: Sendable {
        case float(Float)
        case int(Int64)
        case string(String)
        case tensor(ONNXTensor)
        case graph(ONNXGraph)
        case floats([Float])
        case ints([Int64])
        case strings([String])
        case tensors([ONNXTensor])
        case graphs([ONNXGraph])
        /// An attribute type this model does not hold (sparse tensors, type protos), by `AttributeType` number.
        case unsupported(type: Int32)
    }

    public var name: String
    public var value: Value
    public var docString: String

    public init(name: String, value: Value, docString: String = "") {
        self.name = name
        self.value = value
        self.docString = docString
    }

    public static func int(_ name: String, _ v: Int64) -> ONNXAttribute { ONNXAttribute(name: name, value: .int(v)) }
    public static func float(_ name: String, _ v: Float) -> ONNXAttribute { ONNXAttribute(name: name, value: .float(v)) }
    public static func string(_ name: String, _ v: String) -> ONNXAttribute { ONNXAttribute(name: name, value: .string(v)) }
    public static func ints(_ name: String, _ v: [Int64]) -> ONNXAttribute { ONNXAttribute(name: name, value: .ints(v)) }
    public static func floats(_ name: String, _ v: [Float]) -> ONNXAttribute { ONNXAttribute(name: name, value: .floats(v)) }
    public static func strings(_ name: String, _ v: [String]) -> ONNXAttribute { ONNXAttribute(name: name, value: .strings(v)) }
    public static func tensor(_ name: String, _ v: ONNXTensor) -> ONNXAttribute { ONNXAttribute(name: name, value: .tensor(v)) }
    public static func graph(_ name: String, _ v: ONNXGraph) -> ONNXAttribute { ONNXAttribute(name: name, value: .graph(v)) }

    public var int: Int64? { if case .int(let v) = value { v } else { nil } }
    public var float: Float? { if case .float(let v) = value { v } else { nil } }
    public var string: String? { if case .string(let v) = value { v } else { nil } }
    public var ints: [Int64]? { if case .ints(let v) = value { v } else { nil } }
    public var floats: [Float]? { if case .floats(let v) = value { v } else { nil } }
    public var strings: [String]? { if case .strings(let v) = value { v } else { nil } }
    public var tensor: ONNXTensor? { if case .tensor(let v) = value { v } else { nil } }
    public var graph: ONNXGraph? { if case .graph(let v) = value { v } else { nil } }

    /// The `AttributeProto.type` number of `value` (FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5,
    /// FLOATS 6, INTS 7, STRINGS 8, TENSORS 9, GRAPHS 10).
    public var typeNumber: Int32 {
        switch value {
        case .float: 1
        case .int: 2
        case .string: 3
        case .tensor: 4
        case .graph: 5
        case .floats: 6
        case .ints: 7
        case .strings: 8
        case .tensors: 9
        case .graphs: 10
        case .unsupported(let t): t
        }
    }

    /// The value's kind in words, for error messages.
    public var typeName: String {
        switch value {
        case .float: "FLOAT"
        case .int: "INT"
        case .string: "STRING"
        case .tensor: "TENSOR"
        case .graph: "GRAPH"
        case .floats: "FLOATS"
        case .ints: "INTS"
        case .strings: "STRINGS"
        case .tensors: "TENSORS"
        case .graphs: "GRAPHS"
        case .unsupported(let t): "type \(t)"
        }
    }
}

/// One dimension of a declared shape.
public enum ONNXDim: Equatable, Hashable, Sendable {
    case value(Int64)
    /// A symbolic dimension (`dim_param`), e.g. `"batch"`.
    case param(String)
    case unknown
}

/// `ValueInfoProto` for a tensor-typed value.
public struct ONNXValueInfo: Equatable, Sendable {
    public var name: String
    /// Element type (`TensorProto.DataType` number); 0 when the value is not a tensor or untyped.
    public var elementType: ONNXDataType
    /// Declared shape; nil when absent (unknown rank). `[]` is a scalar.
    public var shape: [ONNXDim]?
    public var docString: String

    public init(name: String, elementType: ONNXDataType, shape: [ONNXDim]?, docString: String = "") {
        self.name = name
        self.elementType = elementType
        self.shape = shape
        self.docString = docString
    }
}

/// `TensorProto.DataType`, by number; the cases with a ``DType`` convert both ways.
public struct ONNXDataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let undefined = ONNXDataType(rawValue: 0)
    public static let float = ONNXDataType(rawValue: 1)
    public static let uint8 = ONNXDataType(rawValue: 2)
    public static let int8 = ONNXDataType(rawValue: 3)
    public static let uint16 = ONNXDataType(rawValue: 4)
    public static let int16 = ONNXDataType(rawValue: 5)
    public static let int32 = ONNXDataType(rawValue: 6)
    public static let int64 = ONNXDataType(rawValue: 7)
    public static let string = ONNXDataType(rawValue: 8)
    public static let bool = ONNXDataType(rawValue: 9)
    public static let float16 = ONNXDataType(rawValue: 10)
    public static let double = ONNXDataType(rawValue: 11)
    public static let uint32 = ONNXDataType(rawValue: 12)
    public static let uint64 = ONNXDataType(rawValue: 13)
    public static let complex64 = ONNXDataType(rawValue: 14)
    public static let complex128 = ONNXDataType(rawValue: 15)
    public static let bfloat16 = ONNXDataType(rawValue: 16)

    private static let table: [(ONNXDataType, DType)] = [
        (.float, .float32), (.uint8, .uint8), (.int8, .int8), (.uint16, .uint16), (.int16, .int16),
        (.int32, .int32), (.int64, .int64), (.bool, .bool), (.float16, .float16), (.double, .float64),
        (.uint32, .uint32), (.uint64, .uint64), (.bfloat16, .bfloat16),
    ]

    /// The matching element type, or nil (strings, complex, float8, 4-bit, ...).
    public var dtype: DType? { Self.table.first { $0.0 == self }?.1 }

    public init(_ dtype: DType) {
        self = Self.table.first { $0.1 == dtype }?.0 ?? .undefined
    }

    public var description: String {
        if let d = dtype { return "\(d.name) (ONNX type \(rawValue))" }
        return "ONNX type \(rawValue)"
    }
}

/// `TensorProto`: a named tensor from an initializer, a `Constant` node or a tensor attribute.
public struct ONNXTensor: Sendable {
    public var name: String
    public var dataType: ONNXDataType
    public var dims: [Int]
    /// The elements (row-major); nil for data types without a ``DType``, whose payload is skipped.
    public var tensor: Tensor?
    public var docString: String

    public init(name: String, dataType: ONNXDataType, dims: [Int], tensor: Tensor?, docString: String = "") {
        self.name = name
        self.dataType = dataType
        self.dims = dims
        self.tensor = tensor
        self.docString = docString
    }

    /// A tensor initializer holding `tensor`'s elements under `name`.
    public init(name: String, tensor: Tensor) {
        self.init(name: name, dataType: ONNXDataType(tensor.dtype), dims: tensor.shape, tensor: tensor)
    }
}
