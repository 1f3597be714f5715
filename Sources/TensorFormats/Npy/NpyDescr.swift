/// numpy's `descr` strings for the dtypes lstmkit reads and writes.
///
/// | descr (byte order `<` `>` `|` `=` or none) | DType |
/// |---|---|
/// | `b1`, `?` | bool |
/// | `i1` `i2` `i4` `i8` | int8 … int64 |
/// | `u1` `u2` `u4` `u8` | uint8 … uint64 |
/// | `f2` `f4` `f8` | float16, float32, float64 |
/// | `V2` | bfloat16 (ml_dtypes saves bfloat16 this way; read with a note) |
/// | `bool`, `int8`, …, `float64` (numpy names) | as named, native order |
///
/// `|`, `=` and no order character mean native order (little-endian on every platform lstmkit runs
/// on). Everything else is refused by name: objects (`O`, pickled data), complex (`c`), long double
/// (`f12`/`f16`), strings (`S`, `U`, `a`), datetimes (`M`, `m`), other void sizes, structured dtypes.
enum NpyDescr {
    struct Decoded: Equatable {
        var dtype: DType
        var byteOrder: ByteOrder
        /// True when `V2` was taken to mean bfloat16.
        var bfloat16FromVoid: Bool
    }

    static var nativeOrder: ByteOrder { UInt16(1).littleEndian == 1 ? .little : .big }

    /// The dtype a descr string names, or a sentence saying why it is not supported.
    static func decode(_ descr: String) -> Result<Decoded, FormatError> {
        if let named = DType(rawValue: descr), named != .bfloat16 {
            return .success(Decoded(dtype: named, byteOrder: named.itemSize == 1 ? .little : nativeOrder, bfloat16FromVoid: false))
        }
        var rest = Substring(descr)
        var order = nativeOrder
        if let first = rest.first, "<>|=".contains(first) {
            if first == "<" { order = .little }
            if first == ">" { order = .big }
            rest = rest.dropFirst()
        }
        guard let kind = rest.first else { return refuse(descr, "empty type") }
        let sizeText = rest.dropFirst()
        let size = Int(sizeText)
        if kind == "O" { return .failure(FormatError(.unsupported, "object arrays are not supported (pickled data)")) }
        if kind == "?" && sizeText.isEmpty { return ok(.bool, order) }
        guard let size, !sizeText.isEmpty, sizeText.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            switch kind {
            case "U", "S", "a": return refuse(descr, "strings")
            case "M", "m": return refuse(descr, "datetimes")
            default: return refuse(descr, nil)
            }
        }
        switch (kind, size) {
        case ("b", 1): return ok(.bool, order)
        case ("i", 1): return ok(.int8, order)
        case ("i", 2): return ok(.int16, order)
        case ("i", 4): return ok(.int32, order)
        case ("i", 8): return ok(.int64, order)
        case ("u", 1): return ok(.uint8, order)
        case ("u", 2): return ok(.uint16, order)
        case ("u", 4): return ok(.uint32, order)
        case ("u", 8): return ok(.uint64, order)
        case ("f", 2): return ok(.float16, order)
        case ("f", 4): return ok(.float32, order)
        case ("f", 8): return ok(.float64, order)
        case ("V", 2): return .success(Decoded(dtype: .bfloat16, byteOrder: .little, bfloat16FromVoid: true))
        case ("f", 12), ("f", 16): return refuse(descr, "long double, platform-specific")
        case ("c", _): return refuse(descr, "complex numbers")
        case ("U", _), ("S", _), ("a", _): return refuse(descr, "strings")
        case ("M", _), ("m", _): return refuse(descr, "datetimes")
        case ("V", _): return refuse(descr, "raw void data")
        case ("f", 1): return refuse(descr, "ml_dtypes float8_e5m2, which numpy itself cannot read")
        default: return refuse(descr, nil)
        }
    }

    /// The descr lstmkit writes for `dtype` (little-endian; bfloat16 as ml_dtypes writes it, `<V2`).
    static func encode(_ dtype: DType) -> String {
        switch dtype {
        case .bool: "|b1"
        case .int8: "|i1"
        case .uint8: "|u1"
        case .int16: "<i2"
        case .int32: "<i4"
        case .int64: "<i8"
        case .uint16: "<u2"
        case .uint32: "<u4"
        case .uint64: "<u8"
        case .float16: "<f2"
        case .bfloat16: "<V2"
        case .float32: "<f4"
        case .float64: "<f8"
        }
    }

    private static func ok(_ dtype: DType, _ order: ByteOrder) -> Result<Decoded, FormatError> {
        .success(Decoded(dtype: dtype, byteOrder: dtype.itemSize == 1 ? .little : order, bfloat16FromVoid: false))
    }

    private static func refuse(_ descr: String, _ what: String?) -> Result<Decoded, FormatError> {
        let shown = descr.unicodeScalars.count > 40 ? String(descr.unicodeScalars.prefix(40)) + "…" : descr
        let detail = what.map { " (\($0))" } ?? ""
        return .failure(FormatError(.unsupported, "dtype '\(shown)'\(detail) is not supported"))
    }
}
