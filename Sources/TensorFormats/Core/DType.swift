/// Element types a tensor can hold, named as numpy names them (`float32`, `bfloat16`, `int64`, ...).
public enum DType: String, CaseIterable, Sendable, Codable {
    case bool
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case float16, bfloat16, float32, float64

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .bool, .int8, .uint8: 1
        case .int16, .uint16, .float16, .bfloat16: 2
        case .int32, .uint32, .float32: 4
        case .int64, .uint64, .float64: 8
        }
    }

    /// The numpy name (`float32`, `bfloat16`, ...).
    public var name: String { rawValue }

    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }

    public var isSignedInteger: Bool {
        switch self {
        case .int8, .int16, .int32, .int64: true
        default: false
        }
    }
}

/// Byte order of the elements in a tensor's bytes.
public enum ByteOrder: Sendable, Equatable {
    case little, big
}
