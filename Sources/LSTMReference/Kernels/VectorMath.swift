/// Eight-lane float32 exp, sigmoid and tanh for the fused gate pass.
///
/// exp follows Cephes `expf` (range reduction by ln 2 in two parts, degree-6 polynomial, scale by
/// 2ⁿ built in the exponent bits): about 1 ulp. Inputs are clamped to [−87.3, 88] so that 2ⁿ stays a
/// normal number; at those bounds exp's result is already irrelevant to sigmoid and tanh.
/// tanh uses Cephes `tanhf`'s odd polynomial for |x| < 0.625 and 1 − 2/(e^{2x} + 1) above it.
/// NaN inputs give NaN.
enum VectorMath {
    @inline(__always)
    static func exp(_ v: SIMD8<Float>) -> SIMD8<Float> {
        var x = v
        x.replace(with: -87.3, where: x .< -87.3)
        x.replace(with: 88.0, where: x .> 88.0)
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5·2²³: adding it rounds to an integer in the low mantissa bits
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        var r = x - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        let z = r * r
        var y = SIMD8<Float>(repeating: 1.987_569_15e-4)
        y = y * r + 1.398_199_95e-3
        y = y * r + 8.333_451_9e-3
        y = y * r + 4.166_579_6e-2
        y = y * r + 1.666_666_55e-1
        y = y * r + 5.000_000_1e-1
        y = y * z + r + 1
        let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD8<Float>.self)
        return y * scale
    }

    @inline(__always)
    static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var r = 1 / (1 + exp(-x))
        r.replace(with: x, where: x .!= x)
        return r
    }

    @inline(__always)
    static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let z = x * x
        var p = SIMD8<Float>(repeating: -5.704_988_727_45e-3)
        p = p * z + 2.063_908_879_54e-2
        p = p * z - 5.373_971_555_31e-2
        p = p * z + 1.333_144_220_36e-1
        p = p * z - 3.333_328_194_22e-1
        let small = p * z * x + x
        let large = 1 - 2 / (exp(x + x) + 1)
        var r = large
        r.replace(with: small, where: (x .< 0.625) .& (x .> -0.625))
        r.replace(with: x, where: x .!= x)
        return r
    }
}
