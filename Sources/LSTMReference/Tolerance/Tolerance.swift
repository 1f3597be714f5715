import TensorFormats

/// How close an actual value must be to an expected one: the predicate of
/// `torch.testing.assert_close`, applied element by element.
///
/// An actual value `a` is accepted for an expected value `b` when
///
///     |a − b| ≤ atol + rtol · |b|
///
/// evaluated in Double. Special values:
/// - **NaN** is accepted only against NaN at the same index (`equal_nan=True` in torch's terms): a
///   model that yields NaN in both its source and its converted form computes the same thing.
///   NaN against a number, or a number against NaN, is a mismatch.
/// - **±infinity** must match exactly (same sign); infinity against a finite value is a mismatch.
///
/// Properties: the predicate is **asymmetric** (the tolerance scales with the *expected* value),
/// reflexive for non-NaN values, and **not transitive** — `a ≈ b` and `b ≈ c` do not give `a ≈ c` —
/// so it must never back `Equatable` or be chained through intermediate results.
///
/// Defaults (``default(for:)``) follow the dtype the *expected* values were produced in:
///
/// | source dtype | rtol | atol | why |
/// |---|---|---|---|
/// | float32 | 1.3e-6 | 1e-5 | torch's float32 defaults; ~11 ulp relative, enough for a different summation order |
/// | float64 | 1e-7 | 1e-7 | torch's float64 defaults |
/// | float16 | 1e-3 | 1e-5 | torch's float16 rtol (half an ulp is 4.9e-4), atol kept at float32's |
/// | bfloat16 | 1.6e-2 | 1e-5 | torch's bfloat16 rtol (half an ulp is 3.9e-3), atol kept at float32's |
public struct Tolerance: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// Relative tolerance, a fraction of |expected|.
    public var rtol: Double
    /// Absolute tolerance, in the units of the values.
    public var atol: Double

    /// Both tolerances must be finite and ≥ 0 (NaN or negative values make every comparison fail).
    public init(rtol: Double, atol: Double) {
        self.rtol = rtol
        self.atol = atol
    }

    public static let float32 = Tolerance(rtol: 1.3e-6, atol: 1e-5)
    public static let float64 = Tolerance(rtol: 1e-7, atol: 1e-7)
    public static let float16 = Tolerance(rtol: 1e-3, atol: 1e-5)
    public static let bfloat16 = Tolerance(rtol: 1.6e-2, atol: 1e-5)
    /// Exact equality (NaN still matches NaN at the same index).
    public static let exact = Tolerance(rtol: 0, atol: 0)

    /// The default for values that were stored or computed in `dtype` (float32's for non-float dtypes).
    public static func `default`(for dtype: DType) -> Tolerance {
        switch dtype {
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .float64: .float64
        default: .float32
        }
    }

    /// The loosest of the defaults for two dtypes (e.g. comparing a float16 model with its float32 source).
    public static func `default`(for a: DType, _ b: DType) -> Tolerance {
        let x = Tolerance.default(for: a), y = Tolerance.default(for: b)
        return Tolerance(rtol: Swift.max(x.rtol, y.rtol), atol: Swift.max(x.atol, y.atol))
    }

    /// The allowance `atol + rtol·|expected|` for one expected value.
    @inline(__always)
    public func allowance(expected: Double) -> Double { atol + rtol * Swift.abs(expected) }

    /// Whether `actual` is accepted for `expected` (see the type's documentation for NaN and infinity).
    @inline(__always)
    public func accepts(_ actual: Double, expected: Double) -> Bool {
        if actual.isNaN || expected.isNaN { return actual.isNaN && expected.isNaN }
        if actual.isInfinite || expected.isInfinite { return actual == expected }
        return Swift.abs(actual - expected) <= allowance(expected: expected)
    }

    public var description: String { "rtol \(rtol), atol \(atol)" }
}
