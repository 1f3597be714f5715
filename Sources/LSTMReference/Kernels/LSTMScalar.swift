#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import TensorFormats

/// The arithmetic type a forward pass computes in: `Float` (default, like PyTorch and onnxruntime)
/// or `Double` (``Precision/float64``).
///
/// Scalar functions come from the C math library. The eight-lane ``sigmoid(_:)-swift.type.method``
/// and ``tanh(_:)-swift.type.method`` used by the fused gate pass are, for `Float`, polynomial
/// approximations accurate to a few ulp (see `VectorMath.swift`); for `Double` they apply the C
/// library lane by lane, so float64 runs stay a high-precision reference.
protocol LSTMScalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable {
    static var dtype: DType { get }
    static func exp(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func sigmoid(_ x: SIMD8<Self>) -> SIMD8<Self>
    static func tanh(_ x: SIMD8<Self>) -> SIMD8<Self>
    /// The elements of `tensor` (any dtype) in row-major order.
    static func values(of tensor: Tensor) -> [Self]
    /// One (rows × 16) tile of `C [+]= A · Wᵀ`, rows ∈ {1, 2, 4, 6}, over `kc` reduction steps of a
    /// packed 16-wide panel `b` (see ``PackedMatrix``); A row-major with `lda`, C with `ldc`.
    static func gemmTile(rows: Int, kc: Int, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>,
                         c: UnsafeMutablePointer<Self>, ldc: Int, add: Bool)
    /// Runs the whole `C [+]= A · Wᵀ` in the C kernels of `kernels` when they cover this type
    /// (returns true), else does nothing and returns false.
    /// `packed` holds ⌈n/16⌉ panels of k × 16 (``PackedMatrix``'s layout).
    static func wholeGEMM(m: Int, n: Int, k: Int, a: UnsafePointer<Self>, lda: Int, packed: UnsafePointer<Self>,
                          c: UnsafeMutablePointer<Self>, ldc: Int, accumulate: Bool, kernels: Kernels) -> Bool
    /// The default gate pass (sigmoid, tanh, tanh; see ``GateStep``) for units 0..<count of `rows`
    /// rows, gate blocks `stride` apart (`lstmkit_kernel_table.gate_units`), in the C kernels of
    /// `kernels` when they cover this type (returns true), else nothing (returns false).
    static func fusedGateUnits(rows: Int, count: Int, stride: Int, gates: UnsafeMutablePointer<Self>, ldg: Int,
                               c: UnsafeMutablePointer<Self>, ldc: Int, h: UnsafeMutablePointer<Self>, ldh: Int,
                               kernels: Kernels) -> Bool
    /// A tensor of this dtype holding `values`.
    static func tensor(_ values: [Self], shape: [Int]) throws(ForwardError) -> Tensor
}

extension LSTMScalar {
    /// 1 / (1 + e^−x), evaluated so that neither branch overflows.
    @inline(__always)
    static func sigmoid(_ x: Self) -> Self {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }

    /// Sigmoid of `count` elements in place.
    @inline(__always)
    static func sigmoid(_ p: UnsafeMutablePointer<Self>, count: Int) {
        var j = 0
        while j + 8 <= count {
            storeVector(sigmoid(loadVector(p + j)), p + j)
            j += 8
        }
        while j < count { p[j] = sigmoid(p[j]); j += 1 }
    }

    /// tanh of `count` elements in place.
    @inline(__always)
    static func tanh(_ p: UnsafeMutablePointer<Self>, count: Int) {
        var j = 0
        while j + 8 <= count {
            storeVector(tanh(loadVector(p + j)), p + j)
            j += 8
        }
        while j < count { p[j] = tanh(p[j]); j += 1 }
    }
}

@inline(__always)
func loadVector<T: SIMDScalar>(_ p: UnsafePointer<T>) -> SIMD8<T> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self)
}

@inline(__always)
func loadVector<T: SIMDScalar>(_ p: UnsafeMutablePointer<T>) -> SIMD8<T> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self)
}

@inline(__always)
func storeVector<T: SIMDScalar>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<T>.self)
}

extension Float: LSTMScalar {
    static var dtype: DType { .float32 }
    @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) static func log1p(_ x: Float) -> Float { log1pf(x) }
    @inline(__always) static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { VectorMath.sigmoid(x) }
    @inline(__always) static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> { VectorMath.tanh(x) }
    static func values(of tensor: Tensor) -> [Float] { tensor.floats() }
    static func tensor(_ values: [Float], shape: [Int]) throws(ForwardError) -> Tensor {
        do throws(FormatError) { return try Tensor(float32: values, shape: shape) } catch { throw .module(error) }
    }
}

extension Double: LSTMScalar {
    static var dtype: DType { .float64 }
    @inline(__always) static func exp(_ x: Double) -> Double { libmExp(x) }
    @inline(__always) static func tanh(_ x: Double) -> Double { libmTanh(x) }
    @inline(__always) static func log1p(_ x: Double) -> Double { libmLog1p(x) }
    @inline(__always) static func sigmoid(_ x: SIMD8<Double>) -> SIMD8<Double> {
        var r = x
        for k in 0..<8 { r[k] = sigmoid(x[k]) }
        return r
    }
    @inline(__always) static func tanh(_ x: SIMD8<Double>) -> SIMD8<Double> {
        var r = x
        for k in 0..<8 { r[k] = libmTanh(x[k]) }
        return r
    }
    static func values(of tensor: Tensor) -> [Double] { tensor.doubles() }
    static func tensor(_ values: [Double], shape: [Int]) throws(ForwardError) -> Tensor {
        do throws(FormatError) { return try Tensor(float64: values, shape: shape) } catch { throw .module(error) }
    }
}

@inline(__always) private func libmExp(_ x: Double) -> Double { exp(x) }
@inline(__always) private func libmTanh(_ x: Double) -> Double { tanh(x) }
@inline(__always) private func libmLog1p(_ x: Double) -> Double { log1p(x) }
