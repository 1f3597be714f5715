import TensorFormats

/// The result of comparing one actual array with its expected array under a ``Tolerance``.
///
/// Errors are measured per element in Double: absolute `|a − b|`, relative `|a − b| / |b|`
/// (0 when both are 0, +∞ when only `b` is 0). A NaN or infinity that does not match (see
/// ``Tolerance``) counts as an error of +∞. The **worst index** is the element that exceeds its
/// allowance `atol + rtol·|b|` by the most (for a passing output: the one closest to failing),
/// given as a multi-dimensional index into the expected shape; the first such element wins ties.
///
/// A shape mismatch is a failure: no element is compared, the errors are +∞ and every element of
/// the larger array counts as a mismatch.
public struct ToleranceComparison: Sendable, Equatable {
    /// What was compared ("output", "h_n", a tensor name, ...).
    public var name: String
    public var expectedShape: [Int]
    public var actualShape: [Int]
    public var tolerance: Tolerance
    /// Elements compared (0 when the shapes differ).
    public var count: Int
    public var maxAbsError: Double
    public var maxRelError: Double
    /// Index (into `expectedShape`) of the element closest to failing or most over tolerance; empty when nothing was compared.
    public var worstIndex: [Int]
    /// Expected and actual value at `worstIndex`.
    public var worstExpected: Double?
    public var worstActual: Double?
    /// Elements outside the tolerance.
    public var mismatches: Int

    public var shapesMatch: Bool { expectedShape == actualShape }
    /// Shapes equal and every element accepted.
    public var passed: Bool { shapesMatch && mismatches == 0 }

    /// Compares `actual` with `expected`, both row-major with the given shapes.
    public init<A: Collection, E: Collection>(name: String, actual: A, actualShape: [Int],
                                              expected: E, expectedShape: [Int], tolerance: Tolerance)
    where A.Element: BinaryFloatingPoint, E.Element: BinaryFloatingPoint, A.Index == Int, E.Index == Int {
        self.name = name
        self.expectedShape = expectedShape
        self.actualShape = actualShape
        self.tolerance = tolerance
        guard actualShape == expectedShape, actual.count == expected.count else {
            count = 0
            maxAbsError = .infinity
            maxRelError = .infinity
            worstIndex = []
            mismatches = Swift.max(actual.count, expected.count, 1)
            return
        }
        var maxAbs = 0.0, maxRel = 0.0, worstExcess = -Double.infinity, worst = -1, bad = 0
        var i = 0
        var ai = actual.startIndex, ei = expected.startIndex
        while ai != actual.endIndex {
            let a = Double(actual[ai]), b = Double(expected[ei])
            let ok = tolerance.accepts(a, expected: b)
            let abs: Double, rel: Double, excess: Double
            if a.isNaN || b.isNaN || a.isInfinite || b.isInfinite {
                abs = ok ? 0 : .infinity
                rel = abs
                excess = ok ? -tolerance.atol : .infinity
            } else {
                abs = Swift.abs(a - b)
                rel = abs == 0 ? 0 : (b == 0 ? .infinity : abs / Swift.abs(b))
                excess = abs - tolerance.allowance(expected: b)
            }
            if !ok { bad += 1 }
            maxAbs = Swift.max(maxAbs, abs)
            maxRel = Swift.max(maxRel, rel)
            if excess > worstExcess || worst < 0 {
                worstExcess = excess
                worst = i
            }
            i += 1
            ai = actual.index(after: ai)
            ei = expected.index(after: ei)
        }
        count = i
        maxAbsError = maxAbs
        maxRelError = maxRel
        mismatches = bad
        if worst >= 0 {
            worstIndex = ToleranceComparison.multiIndex(worst, shape: expectedShape)
            worstExpected = Double(expected[expected.index(expected.startIndex, offsetBy: worst)])
            worstActual = Double(actual[actual.index(actual.startIndex, offsetBy: worst)])
        } else {
            worstIndex = []
        }
    }

    /// Compares two tensors of any float dtype (values read as Double).
    public init(name: String, actual: Tensor, expected: Tensor, tolerance: Tolerance) {
        self.init(name: name, actual: actual.doubles(), actualShape: actual.shape,
                  expected: expected.doubles(), expectedShape: expected.shape, tolerance: tolerance)
    }

    /// Row-major flat index → multi-dimensional index.
    public static func multiIndex(_ flat: Int, shape: [Int]) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for k in stride(from: shape.count - 1, through: 0, by: -1) where shape[k] > 0 {
            index[k] = rest % shape[k]
            rest /= shape[k]
        }
        return index
    }
}
