/// A torch element type as a pickle names it: through a storage class (`torch.FloatStorage`) or a
/// dtype global (`torch.float16`). ``dtype`` is nil for types lstmkit does not read (complex,
/// quantized, float8, ...); their ``itemSize`` is still known so that record sizes can be checked.
public struct TorchScalarType: Equatable, Sendable {
    /// torch's dtype name without `torch.` (`float32`, `complex64`, `qint8`, `float8_e4m3fn`).
    public let name: String
    /// Bytes per element; 0 when torch's own size is not known (an unrecognised storage class).
    public let itemSize: Int
    public let dtype: DType?
    /// `torch.storage.UntypedStorage`: bytes, whose element type comes from `_rebuild_tensor_v3`.
    public let isUntyped: Bool

    init(name: String, itemSize: Int, dtype: DType?, isUntyped: Bool = false) {
        self.name = name
        self.itemSize = itemSize
        self.dtype = dtype
        self.isUntyped = isUntyped
    }

    public static let untyped = TorchScalarType(name: "uint8", itemSize: 1, dtype: .uint8, isUntyped: true)

    /// Storage class name prefix (`Float` of `FloatStorage`) → type. `torch/storage.py:_dtype_to_storage_type_map`.
    private static let storageClasses: [String: TorchScalarType] = [
        "Double": .init(name: "float64", itemSize: 8, dtype: .float64),
        "Float": .init(name: "float32", itemSize: 4, dtype: .float32),
        "Half": .init(name: "float16", itemSize: 2, dtype: .float16),
        "BFloat16": .init(name: "bfloat16", itemSize: 2, dtype: .bfloat16),
        "Long": .init(name: "int64", itemSize: 8, dtype: .int64),
        "Int": .init(name: "int32", itemSize: 4, dtype: .int32),
        "Short": .init(name: "int16", itemSize: 2, dtype: .int16),
        "Char": .init(name: "int8", itemSize: 1, dtype: .int8),
        "Byte": .init(name: "uint8", itemSize: 1, dtype: .uint8),
        "Bool": .init(name: "bool", itemSize: 1, dtype: .bool),
        "ComplexDouble": .init(name: "complex128", itemSize: 16, dtype: nil),
        "ComplexFloat": .init(name: "complex64", itemSize: 8, dtype: nil),
        "QInt8": .init(name: "qint8", itemSize: 1, dtype: nil),
        "QUInt8": .init(name: "quint8", itemSize: 1, dtype: nil),
        "QInt32": .init(name: "qint32", itemSize: 4, dtype: nil),
        "QUInt4x2": .init(name: "quint4x2", itemSize: 1, dtype: nil),
        "QUInt2x4": .init(name: "quint2x4", itemSize: 1, dtype: nil),
    ]

    /// dtype global name (`torch.<name>`) → (canonical name, item size, lstmkit dtype).
    private static let dtypeGlobals: [String: (String, Int, DType?)] = [
        "float32": ("float32", 4, .float32), "float": ("float32", 4, .float32),
        "float64": ("float64", 8, .float64), "double": ("float64", 8, .float64),
        "float16": ("float16", 2, .float16), "half": ("float16", 2, .float16),
        "bfloat16": ("bfloat16", 2, .bfloat16),
        "int64": ("int64", 8, .int64), "long": ("int64", 8, .int64),
        "int32": ("int32", 4, .int32), "int": ("int32", 4, .int32),
        "int16": ("int16", 2, .int16), "short": ("int16", 2, .int16),
        "int8": ("int8", 1, .int8),
        "uint8": ("uint8", 1, .uint8), "bool": ("bool", 1, .bool),
        "uint16": ("uint16", 2, .uint16), "uint32": ("uint32", 4, .uint32), "uint64": ("uint64", 8, .uint64),
        "complex32": ("complex32", 4, nil), "chalf": ("complex32", 4, nil),
        "complex64": ("complex64", 8, nil), "cfloat": ("complex64", 8, nil),
        "complex128": ("complex128", 16, nil), "cdouble": ("complex128", 16, nil),
        "float8_e4m3fn": ("float8_e4m3fn", 1, nil), "float8_e4m3fnuz": ("float8_e4m3fnuz", 1, nil),
        "float8_e5m2": ("float8_e5m2", 1, nil), "float8_e5m2fnuz": ("float8_e5m2fnuz", 1, nil),
        "float8_e8m0fnu": ("float8_e8m0fnu", 1, nil), "float4_e2m1fn_x2": ("float4_e2m1fn_x2", 1, nil),
        "bits8": ("bits8", 1, nil), "bits1x8": ("bits1x8", 1, nil), "bits2x4": ("bits2x4", 1, nil),
        "bits4x2": ("bits4x2", 1, nil), "bits16": ("bits16", 2, nil),
        "qint8": ("qint8", 1, nil), "quint8": ("quint8", 1, nil), "qint32": ("qint32", 4, nil),
        "quint4x2": ("quint4x2", 1, nil), "quint2x4": ("quint2x4", 1, nil),
    ]

    /// The type of a storage class named `className` (`FloatStorage`, `UntypedStorage`, ...).
    /// Like torch, only the name matters (`torch.cuda.FloatStorage` is `FloatStorage`).
    /// Unknown `...Storage` names give a type of unknown size.
    static func storageClass(_ className: String) -> TorchScalarType {
        if className == "UntypedStorage" || className == "_UntypedStorage" { return .untyped }
        let stem = className.hasSuffix("Storage") ? String(className.dropLast("Storage".count)) : className
        return storageClasses[stem] ?? TorchScalarType(name: className, itemSize: 0, dtype: nil)
    }

    /// The type named by the global `torch.<name>`, if `name` is a torch dtype.
    static func dtypeGlobal(_ name: String) -> TorchScalarType? {
        dtypeGlobals[name].map { TorchScalarType(name: $0.0, itemSize: $0.1, dtype: $0.2) }
    }

    /// How torch.save writes `dtype`: a classic storage class, or `UntypedStorage` + `_rebuild_tensor_v3`.
    public static func storageClassName(for dtype: DType) -> (className: String, needsV3: Bool) {
        switch dtype {
        case .float64: ("DoubleStorage", false)
        case .float32: ("FloatStorage", false)
        case .float16: ("HalfStorage", false)
        case .bfloat16: ("BFloat16Storage", false)
        case .int64: ("LongStorage", false)
        case .int32: ("IntStorage", false)
        case .int16: ("ShortStorage", false)
        case .int8: ("CharStorage", false)
        case .uint8: ("ByteStorage", false)
        case .bool: ("BoolStorage", false)
        case .uint16, .uint32, .uint64: ("UntypedStorage", true)
        }
    }
}

/// A storage named by a persistent id: which record holds it, its element type and element count.
///
/// Zip format: `('storage', <class>, key, location, numel)` → record `data/<key>` (or
/// `constants/<key>` in TorchScript). Legacy stream: the key is the storage's `_cdata` and a view
/// (`view_metadata`) aliases elements `[viewOffset, viewOffset + numel)` of ``root``.
public final class PickleStorage {
    public let key: String
    public let type: TorchScalarType
    /// Elements of ``type`` in the whole storage (bytes for an untyped storage).
    public let numel: Int
    public let location: String
    /// Legacy views: the storage this one aliases and its offset there, in elements.
    public let root: PickleStorage?
    public let viewOffset: Int

    init(key: String, type: TorchScalarType, numel: Int, location: String,
         root: PickleStorage? = nil, viewOffset: Int = 0) {
        self.key = key
        self.type = type
        self.numel = numel
        self.location = location
        self.root = root
        self.viewOffset = viewOffset
    }
}

/// A tensor as torch's rebuild functions describe it: a storage, an offset and strides in
/// elements of ``type``, a shape. Data is bound later by the reader that knows the records.
public final class PickleTensor {
    public let storage: PickleStorage
    /// Element type of the tensor (the storage's, or `_rebuild_tensor_v3`'s dtype argument).
    public let type: TorchScalarType
    /// Offset of the first element, in elements of ``type``.
    public let storageOffset: Int
    public let shape: [Int]
    public let strides: [Int]
    public internal(set) var requiresGrad: Bool
    /// Built through `_rebuild_parameter*` or `Parameter(...)`.
    public internal(set) var isParameter = false
    /// torch's `conj` / `neg` bits: the stored data is the un-conjugated / un-negated value.
    public let conj: Bool
    public let neg: Bool
    /// A BUILD state or `_rebuild_parameter_with_state` state, recorded only.
    public internal(set) var state: PickleValue?
    /// For `_rebuild_qtensor`: how the stored integers map to real values.
    public internal(set) var quantization: Quantization?

    /// torch's affine quantizers: real = (q − zero_point) · scale, per tensor or per channel along `axis`.
    public enum Quantization {
        case perTensor(scale: Double, zeroPoint: Int)
        case perChannel(scales: PickleTensor, zeroPoints: PickleTensor, axis: Int)
    }

    init(storage: PickleStorage, type: TorchScalarType, storageOffset: Int, shape: [Int], strides: [Int],
         requiresGrad: Bool, conj: Bool, neg: Bool) {
        self.storage = storage
        self.type = type
        self.storageOffset = storageOffset
        self.shape = shape
        self.strides = strides
        self.requiresGrad = requiresGrad
        self.conj = conj
        self.neg = neg
    }
}
