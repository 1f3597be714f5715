/// The dtype names of the safetensors format (0.8.0), case-sensitive, declared in the reference
/// implementation's order of increasing alignment (the writer sorts by it, descending).
///
/// | name | bits | lstmkit ``DType`` |
/// |---|---|---|
/// | BOOL | 8 | bool |
/// | F4 | 4 | — |
/// | F6_E2M3, F6_E3M2 | 6 | — |
/// | U8, I8 | 8 | uint8, int8 |
/// | F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ | 8 | — |
/// | I16, U16, F16, BF16 | 16 | int16, uint16, float16, bfloat16 |
/// | I32, U32, F32 | 32 | int32, uint32, float32 |
/// | C64 | 64 | — |
/// | F64, I64, U64 | 64 | float64, int64, uint64 |
///
/// Names marked — are valid in a file but lstmkit does not hold them; the reader refuses them by name.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ
    case I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64

    /// Bits per element.
    public var bits: Int {
        switch self {
        case .F4: 4
        case .F6_E2M3, .F6_E3M2: 6
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3, .F8_E8M0, .F8_E4M3FNUZ, .F8_E5M2FNUZ: 8
        case .I16, .U16, .F16, .BF16: 16
        case .I32, .U32, .F32: 32
        case .C64, .F64, .I64, .U64: 64
        }
    }

    /// Position in the declaration order (the writer places higher ranks first).
    public var alignmentRank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    /// The lstmkit dtype, nil for the formats lstmkit does not hold.
    public var dtype: DType? {
        switch self {
        case .BOOL: .bool
        case .U8: .uint8
        case .I8: .int8
        case .I16: .int16
        case .U16: .uint16
        case .F16: .float16
        case .BF16: .bfloat16
        case .I32: .int32
        case .U32: .uint32
        case .F32: .float32
        case .F64: .float64
        case .I64: .int64
        case .U64: .uint64
        default: nil
        }
    }

    public init(_ dtype: DType) {
        switch dtype {
        case .bool: self = .BOOL
        case .uint8: self = .U8
        case .int8: self = .I8
        case .int16: self = .I16
        case .uint16: self = .U16
        case .float16: self = .F16
        case .bfloat16: self = .BF16
        case .int32: self = .I32
        case .uint32: self = .U32
        case .float32: self = .F32
        case .float64: self = .F64
        case .int64: self = .I64
        case .uint64: self = .U64
        }
    }
}
