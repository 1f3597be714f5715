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
    where A.Element: BinaryFloatingPoint, E.Element: BinaryFloatingPoint {
        guard actualShape == expectedShape, actual.count == expected.count else {
            self.init(name: name, shapeMismatch: actualShape, expectedShape, counts: actual.count, expected.count, tolerance)
            return
        }
        var acc = Accumulator(tolerance: tolerance)
        for (a, b) in zip(actual, expected) { acc.add(Double(a), Double(b)) }
        self.init(name: name, shape: expectedShape, acc)
    }

    /// Compares two tensors of any float dtype, element by element in Double. Large tensors are read
    /// in slices, so memory stays bounded whatever their size.
    public init(name: String, actual: Tensor, expected: Tensor, tolerance: Tolerance) {
        self.init(name: name, actual: actual, expected: expected, tolerance: tolerance, sliceElements: 1 << 20)
    }

    init(name: String, actual: Tensor, expected: Tensor, tolerance: Tolerance, sliceElements: Int) {
        guard actual.shape == expected.shape else {
            self.init(name: name, shapeMismatch: actual.shape, expected.shape, counts: actual.elementCount,
                      expected.elementCount, tolerance)
            return
        }
        let n = expected.elementCount, slice = Swift.max(1, sliceElements)
        var acc = Accumulator(tolerance: tolerance)
        var start = 0
        while start < n {
            let len = Swift.min(slice, n - start)
            let av = actual.doubles(elements: start..<(start + len))
            let ev = expected.doubles(elements: start..<(start + len))
            for i in 0..<Swift.min(av.count, ev.count) { acc.add(av[i], ev[i]) }
            start += len
        }
        self.init(name: name, shape: expected.shape, acc)
    }

    private init(name: String, shapeMismatch actual: [Int], _ expected: [Int], counts a: Int, _ b: Int, _ tolerance: Tolerance) {
        self.name = name
        expectedShape = expected
        actualShape = actual
        self.tolerance = tolerance
        count = 0
        maxAbsError = .infinity
        maxRelError = .infinity
        worstIndex = []
        mismatches = Swift.max(a, b, 1)
    }

    private init(name: String, shape: [Int], _ acc: Accumulator) {
        self.name = name
        expectedShape = shape
        actualShape = shape
        tolerance = acc.tolerance
        count = acc.count
        maxAbsError = acc.maxAbs
        maxRelError = acc.maxRel
        mismatches = acc.mismatches
        worstIndex = acc.worst >= 0 ? ToleranceComparison.multiIndex(acc.worst, shape: shape) : []
        worstExpected = acc.worst >= 0 ? acc.worstExpected : nil
        worstActual = acc.worst >= 0 ? acc.worstActual : nil
    }

    /// Running statistics over element pairs (a, b), in order.
    struct Accumulator {
        let tolerance: Tolerance
        var count = 0, mismatches = 0, worst = -1
        var maxAbs = 0.0, maxRel = 0.0, worstExcess = -Double.infinity
        var worstActual = 0.0, worstExpected = 0.0

        init(tolerance: Tolerance) { self.tolerance = tolerance }

        @inline(__always)
        mutating func add(_ a: Double, _ b: Double) {
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
            if !ok { mismatches += 1 }
            maxAbs = Swift.max(maxAbs, abs)
            maxRel = Swift.max(maxRel, rel)
            if excess > worstExcess || worst < 0 {
                worstExcess = excess
                worst = count
                worstActual = a
                worstExpected = b
            }
            count += 1
        }
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
