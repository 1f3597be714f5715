/// Bit-exact conversions between float32 and the 16-bit float formats.
///
/// Widening (float16 → float32, bfloat16 → float32) is exact. Narrowing rounds to nearest, ties to
/// even, as torch's `.half()` / `.bfloat16()` do; NaN stays NaN (quiet), overflow gives ±inf.
public enum HalfPrecision {
    /// IEEE binary16 bits → Float (exact, subnormals included).
    @inlinable
    public static func float(fromFloat16 h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F)
        let mant = UInt32(h & 0x03FF)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            // Subnormal: mant × 2^-24, exactly representable in float32.
            let v = Float(mant) * Float(bitPattern: 0x3380_0000)
            return sign != 0 ? -v : v
        }
        if exp == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
        }
        return Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
    }

    /// Float → IEEE binary16 bits, round to nearest even.
    @inlinable
    public static func float16(from f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exp = Int((x >> 23) & 0xFF)
        let mant = x & 0x7F_FFFF
        if exp == 0xFF {
            if mant == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mant >> 13)
        }
        let e = exp - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            // Subnormal half: shift the full significand (with implicit 1) right and round.
            let m = mant | 0x80_0000
            let shift = UInt32(14 - e)
            let half = m >> shift
            let rem = m & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            var r = half
            if rem > halfway || (rem == halfway && (half & 1) == 1) { r += 1 }
            return sign | UInt16(r)
        }
        var r = UInt32(e) << 10 | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (r & 1) == 1) { r += 1 }  // may carry into exponent: correct
        return sign | UInt16(r)
    }

    /// bfloat16 bits → Float (exact).
    @inlinable
    public static func float(fromBFloat16 b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Float → bfloat16 bits, round to nearest even; NaN becomes the quiet NaN 0x7FC0 (with sign).
    @inlinable
    public static func bfloat16(from f: Float) -> UInt16 {
        let x = f.bitPattern
        if f.isNaN { return UInt16(x >> 16) | 0x0040 }
        let bias = ((x >> 16) & 1) + 0x7FFF
        return UInt16(truncatingIfNeeded: (x &+ bias) >> 16)
    }
}
