/// Operand decoding for pickle's integer and text forms: two's complement LONG bytes, decimal
/// (and `0x` / `0o` / `0b`) integer lines, Python-2 `str` bytes, `escape_decode`d STRING
/// literals and `raw-unicode-escape` UNICODE lines.
enum PickleText {
    /// A LONG1 / LONG4 operand (little-endian two's complement; empty = 0).
    static func integer(twosComplement raw: UnsafeRawBufferPointer) -> PickleValue {
        var bytes = Array(raw)
        // Drop redundant sign-extension bytes.
        while bytes.count > 1 {
            let last = bytes[bytes.count - 1], next = bytes[bytes.count - 2]
            if (last == 0x00 && next & 0x80 == 0) || (last == 0xFF && next & 0x80 != 0) {
                bytes.removeLast()
            } else {
                break
            }
        }
        if bytes.isEmpty { return .int(0) }
        if bytes.count <= 8 {
            var v: UInt64 = bytes[bytes.count - 1] & 0x80 != 0 ? ~0 : 0
            for (i, b) in bytes.enumerated() {
                v &= ~(UInt64(0xFF) << (8 * UInt64(i)))
                v |= UInt64(b) << (8 * UInt64(i))
            }
            return .int(Int(Int64(bitPattern: v)))
        }
        return .bigInt(PickleBigInt(bytes: bytes))
    }

    /// An integer line as Python's `int(text, 0)` reads it (sign, `0x` / `0o` / `0b`, `_` separators).
    static func integer(text line: UnsafeRawBufferPointer) -> PickleValue? {
        var chars = Array(line).filter { $0 != UInt8(ascii: "_") }
        while let f = chars.first, f == 0x20 || f == 0x09 { chars.removeFirst() }
        while let l = chars.last, l == 0x20 || l == 0x09 || l == 0x0D { chars.removeLast() }
        var negative = false
        if let f = chars.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
            negative = f == UInt8(ascii: "-")
            chars.removeFirst()
        }
        var radix: UInt32 = 10
        if chars.count > 2, chars[0] == UInt8(ascii: "0") {
            switch chars[1] | 0x20 {
            case UInt8(ascii: "x"): radix = 16
            case UInt8(ascii: "o"): radix = 8
            case UInt8(ascii: "b"): radix = 2
            default: break
            }
            if radix != 10 { chars.removeFirst(2) }
        }
        guard !chars.isEmpty else { return nil }
        // Magnitude as little-endian 32-bit limbs.
        var limbs: [UInt32] = [0]
        for c in chars {
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
            guard digit < radix else { return nil }
            var carry = UInt64(digit)
            for i in limbs.indices {
                let p = UInt64(limbs[i]) * UInt64(radix) + carry
                limbs[i] = UInt32(truncatingIfNeeded: p)
                carry = p >> 32
            }
            if carry > 0 { limbs.append(UInt32(carry)) }
        }
        // Two's complement bytes with a sign byte, then normalised.
        var bytes: [UInt8] = []
        for limb in limbs { for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: limb >> (8 * UInt32(k)))) } }
        bytes.append(0)
        if negative {
            var carry = 1
            for i in bytes.indices {
                let v = Int(~bytes[i]) + carry
                bytes[i] = UInt8(truncatingIfNeeded: v)
                carry = v >> 8
            }
        }
        return bytes.withUnsafeBytes { integer(twosComplement: $0) }
    }

    /// Decimal text of a big integer.
    static func decimal(_ big: PickleBigInt) -> String {
        var bytes = big.bytes
        let negative = big.isNegative
        if negative {
            var carry = 1
            for i in bytes.indices {
                let v = Int(~bytes[i]) + carry
                bytes[i] = UInt8(truncatingIfNeeded: v)
                carry = v >> 8
            }
        }
        // Big-endian 32-bit limbs of the magnitude, divided by 10^9 repeatedly.
        while bytes.count % 4 != 0 { bytes.append(0) }
        var limbs: [UInt32] = []
        for start in stride(from: bytes.count - 4, through: 0, by: -4) {
            var limb: UInt32 = 0
            for k in stride(from: start + 3, through: start, by: -1) { limb = limb << 8 | UInt32(bytes[k]) }
            limbs.append(limb)
        }
        var chunks: [UInt32] = []
        while limbs.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            for j in limbs.indices {
                let cur = remainder << 32 | UInt64(limbs[j])
                limbs[j] = UInt32(cur / 1_000_000_000)
                remainder = cur % 1_000_000_000
            }
            chunks.append(UInt32(remainder))
        }
        guard let most = chunks.last else { return "0" }
        var text = negative ? "-" : ""
        text += String(most)
        for chunk in chunks.dropLast().reversed() {
            let s = String(chunk)
            text += String(repeating: "0", count: 9 - s.count) + s
        }
        return text
    }

    /// A Python-2 `str` (SHORT_BINSTRING, BINSTRING, STRING): UTF-8 when valid, else latin-1.
    static func python2String(_ bytes: [UInt8]) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// `codecs.escape_decode`: `\\ \' \" \a \b \f \n \r \t \v \xHH \ooo`, backslash-newline removed,
    /// any other backslash kept.
    static func escapeDecode(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let c = raw[i]
            guard c == UInt8(ascii: "\\"), i + 1 < raw.count else {
                out.append(c)
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\n"): break
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(e)
            case UInt8(ascii: "a"): out.append(7)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "v"): out.append(11)
            case UInt8(ascii: "x"):
                if i + 1 < raw.count, let h = hexValue(raw[i]), let l = hexValue(raw[i + 1]) {
                    out.append(h << 4 | l)
                    i += 2
                } else {
                    out.append(contentsOf: [UInt8(ascii: "\\"), e])
                }
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var v = Int(e - UInt8(ascii: "0"))
                var n = 1
                while n < 3, i < raw.count, raw[i] >= UInt8(ascii: "0"), raw[i] <= UInt8(ascii: "7") {
                    v = v * 8 + Int(raw[i] - UInt8(ascii: "0"))
                    i += 1
                    n += 1
                }
                out.append(UInt8(truncatingIfNeeded: v))
            default:
                out.append(contentsOf: [UInt8(ascii: "\\"), e])
            }
        }
        return out
    }

    /// `raw-unicode-escape`: bytes are latin-1 code points except `\uXXXX` / `\UXXXXXXXX`, which
    /// are escapes only after an odd number of backslashes.
    static func rawUnicodeEscapeDecode(_ raw: UnsafeRawBufferPointer) -> String {
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < raw.count {
            let c = raw[i]
            guard c == UInt8(ascii: "\\") else {
                scalars.append(Unicode.Scalar(c))
                i += 1
                continue
            }
            var run = 0
            while i + run < raw.count, raw[i + run] == UInt8(ascii: "\\") { run += 1 }
            let next = i + run
            var width = 0
            if next < raw.count {
                if raw[next] == UInt8(ascii: "u") { width = 4 }
                if raw[next] == UInt8(ascii: "U") { width = 8 }
            }
            var scalar: Unicode.Scalar?
            if run % 2 == 1, width > 0, next + width < raw.count {
                var value: UInt32 = 0
                var valid = true
                for k in (next + 1)...(next + width) {
                    guard let h = hexValue(raw[k]) else { valid = false; break }
                    value = value << 4 | UInt32(h)
                }
                if valid { scalar = Unicode.Scalar(value) }
            }
            if let scalar {
                for _ in 0..<(run - 1) { scalars.append("\\") }
                scalars.append(scalar)
                i = next + 1 + width
            } else {
                for _ in 0..<run { scalars.append("\\") }
                i = next
            }
        }
        return String(scalars)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
