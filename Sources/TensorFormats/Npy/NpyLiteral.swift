/// A value of the Python-literal subset that npy headers use (what `ast.literal_eval` accepts there).
indirect enum PyLiteral: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PyLiteral])
    case list([PyLiteral])
    /// Keys in source order.
    case dict([PyLiteral], [PyLiteral])

    /// Python's `repr`-like spelling, for error messages.
    var shown: String {
        switch self {
        case .string(let s): "'\(s)'"
        case .int(let v): String(v)
        case .bool(let b): b ? "True" : "False"
        case .none: "None"
        case .tuple(let items): items.count == 1 ? "(\(items[0].shown),)" : "(" + items.map(\.shown).joined(separator: ", ") + ")"
        case .list(let items): "[" + items.map(\.shown).joined(separator: ", ") + "]"
        case .dict(let keys, let values): "{" + zip(keys, values).map { "\($0.shown): \($1.shown)" }.joined(separator: ", ") + "}"
        }
    }
}

/// Parses one Python literal from header bytes: strings in `'` or `"` (optional `u` prefix; escapes
/// `\\ \' \" \n \t \r \a \b \f \v \ooo \xhh \uhhhh \Uhhhhhhhh`, backslash-newline; unknown escapes keep
/// the backslash, as Python does), decimal integers with an optional sign (and, when allowed, a
/// Python 2 `L` suffix), `True` / `False` / `None`, tuples (`()`, `(x,)`, `(x, y)`; `(x)` is just `x`),
/// lists and dicts with optional trailing commas, and whitespace between tokens. The whole input must
/// be one literal followed only by whitespace.
///
/// `latin1`: each byte is one character (npy 1.0 / 2.0); otherwise the bytes are UTF-8 (npy 3.0).
/// Errors are `.corrupt` with `offset` = byte position in `bytes` (callers add the header's start).
struct PyLiteralParser {
    private let bytes: [UInt8]
    private let latin1: Bool
    private let allowLongSuffix: Bool
    private var pos = 0
    private var depth = 0
    private static let maxDepth = 64

    init(bytes: [UInt8], latin1: Bool, allowLongSuffix: Bool) {
        self.bytes = bytes
        self.latin1 = latin1
        self.allowLongSuffix = allowLongSuffix
    }

    /// The single literal in the input.
    mutating func parseAll() throws(FormatError) -> PyLiteral {
        let value = try parseValue()
        skipSpace()
        guard pos == bytes.count else { throw fail("unexpected \(describe(pos)) after the header dict") }
        return value
    }

    private func fail(_ message: String, at offset: Int? = nil) -> FormatError {
        FormatError(.corrupt, "npy header is not a valid Python literal: \(message)", offset: offset ?? pos)
    }

    private func describe(_ at: Int) -> String {
        guard at < bytes.count else { return "end of header" }
        let b = bytes[at]
        if b >= 0x21 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x" + String(b, radix: 16)
    }

    private mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0C, 0x0B: pos += 1
            case UInt8(ascii: "\\") where pos + 1 < bytes.count && bytes[pos + 1] == 0x0A: pos += 2
            default: return
            }
        }
    }

    /// The byte after `pos` opens a string (`u'…'` / `U"…"` prefixes).
    private var quoteFollows: Bool {
        pos + 1 < bytes.count && (bytes[pos + 1] == UInt8(ascii: "'") || bytes[pos + 1] == UInt8(ascii: "\""))
    }

    private mutating func parseValue() throws(FormatError) -> PyLiteral {
        skipSpace()
        guard pos < bytes.count else { throw fail("the header ends where a value was expected") }
        let c = bytes[pos]
        switch c {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "u") where quoteFollows, UInt8(ascii: "U") where quoteFollows:
            pos += 1
            return .string(try parseString())
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"):
            return .int(try parseInt())
        case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
            depth += 1
            defer { depth -= 1 }
            guard depth <= PyLiteralParser.maxDepth else { throw fail("nested more than \(PyLiteralParser.maxDepth) levels deep") }
            return c == UInt8(ascii: "{") ? try parseDict() : try parseSequence(open: c)
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"):
            let start = pos
            while pos < bytes.count, bytes[pos] == UInt8(ascii: "_") || (bytes[pos] | 0x20) >= UInt8(ascii: "a") && (bytes[pos] | 0x20) <= UInt8(ascii: "z")
                    || bytes[pos] >= UInt8(ascii: "0") && bytes[pos] <= UInt8(ascii: "9") {
                pos += 1
            }
            switch String(decoding: bytes[start..<pos], as: UTF8.self) {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case let word: throw fail("'\(word)' is not a literal", at: start)
            }
        default:
            throw fail("unexpected \(describe(pos))")
        }
    }

    /// `(`…`)` or `[`…`]`: a parenthesised single value without a comma is that value.
    private mutating func parseSequence(open: UInt8) throws(FormatError) -> PyLiteral {
        let close = open == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "]")
        let start = pos
        pos += 1
        var items: [PyLiteral] = []
        var sawComma = false
        while true {
            skipSpace()
            guard pos < bytes.count else { throw fail("'\(Character(Unicode.Scalar(open)))' at byte \(start) is never closed", at: start) }
            if bytes[pos] == close {
                pos += 1
                break
            }
            items.append(try parseValue())
            skipSpace()
            guard pos < bytes.count else { throw fail("'\(Character(Unicode.Scalar(open)))' at byte \(start) is never closed", at: start) }
            if bytes[pos] == UInt8(ascii: ",") {
                sawComma = true
                pos += 1
            } else if bytes[pos] != close {
                throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))', found \(describe(pos))")
            }
        }
        if open == UInt8(ascii: "(") {
            if items.count == 1 && !sawComma { return items[0] }
            return .tuple(items)
        }
        return .list(items)
    }

    private mutating func parseDict() throws(FormatError) -> PyLiteral {
        let start = pos
        pos += 1
        var keys: [PyLiteral] = []
        var values: [PyLiteral] = []
        while true {
            skipSpace()
            guard pos < bytes.count else { throw fail("'{' at byte \(start) is never closed", at: start) }
            if bytes[pos] == UInt8(ascii: "}") {
                pos += 1
                return .dict(keys, values)
            }
            keys.append(try parseValue())
            skipSpace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':' after a dict key, found \(describe(pos))") }
            pos += 1
            values.append(try parseValue())
            skipSpace()
            guard pos < bytes.count else { throw fail("'{' at byte \(start) is never closed", at: start) }
            if bytes[pos] == UInt8(ascii: ",") {
                pos += 1
            } else if bytes[pos] != UInt8(ascii: "}") {
                throw fail("expected ',' or '}', found \(describe(pos))")
            }
        }
    }

    private mutating func parseInt() throws(FormatError) -> Int {
        let start = pos
        var negative = false
        if bytes[pos] == UInt8(ascii: "-") || bytes[pos] == UInt8(ascii: "+") {
            negative = bytes[pos] == UInt8(ascii: "-")
            pos += 1
            skipSpace()
        }
        let digitsStart = pos
        var value = 0
        while pos < bytes.count, bytes[pos] >= UInt8(ascii: "0"), bytes[pos] <= UInt8(ascii: "9") {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(bytes[pos] - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw FormatError(.limitExceeded, "npy header holds an integer too large to use", offset: start) }
            value = a
            pos += 1
        }
        guard pos > digitsStart else { throw fail("expected digits after the sign", at: start) }
        if pos - digitsStart > 1 && bytes[digitsStart] == UInt8(ascii: "0") {
            throw fail("integer with leading zeros", at: start)
        }
        if allowLongSuffix, pos < bytes.count, bytes[pos] == UInt8(ascii: "L") || bytes[pos] == UInt8(ascii: "l") {
            pos += 1
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") || (bytes[pos] | 0x20) == UInt8(ascii: "e")
            || (bytes[pos] | 0x20) == UInt8(ascii: "x") || (bytes[pos] | 0x20) == UInt8(ascii: "j") || bytes[pos] == UInt8(ascii: "_") {
            throw fail("only decimal integers are expected here", at: start)
        }
        return negative ? -value : value
    }

    private mutating func parseString() throws(FormatError) -> String {
        let start = pos
        let quote = bytes[pos]
        pos += 1
        var scalars = String.UnicodeScalarView()
        while true {
            guard pos < bytes.count else { throw fail("string starting at byte \(start) is never closed", at: start) }
            let b = bytes[pos]
            if b == quote {
                pos += 1
                return String(scalars)
            }
            if b == 0x0A || b == 0x0D { throw fail("string starting at byte \(start) is never closed", at: start) }
            if b == UInt8(ascii: "\\") {
                scalars.append(contentsOf: try parseEscape())
                continue
            }
            scalars.append(try nextScalar())
        }
    }

    /// One character of a string body (a byte in latin-1, a UTF-8 sequence otherwise).
    private mutating func nextScalar() throws(FormatError) -> Unicode.Scalar {
        let b = bytes[pos]
        if latin1 || b < 0x80 {
            pos += 1
            return Unicode.Scalar(b)
        }
        let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0
        guard length > 0, pos + length <= bytes.count,
              let s = String(validating: bytes[pos..<(pos + length)], as: UTF8.self), let u = s.unicodeScalars.first else {
            throw fail("invalid UTF-8")
        }
        pos += length
        return u
    }

    private mutating func parseEscape() throws(FormatError) -> [Unicode.Scalar] {
        let start = pos
        pos += 1
        guard pos < bytes.count else { throw fail("backslash at the end of the header", at: start) }
        let c = bytes[pos]
        pos += 1
        func hex(_ count: Int) throws(FormatError) -> Unicode.Scalar {
            guard pos + count <= bytes.count, let v = UInt32(String(decoding: bytes[pos..<(pos + count)], as: UTF8.self), radix: 16),
                  let u = Unicode.Scalar(v) else {
                throw fail("bad \\\(Character(Unicode.Scalar(c))) escape", at: start)
            }
            pos += count
            return u
        }
        switch c {
        case UInt8(ascii: "\\"): return ["\\"]
        case UInt8(ascii: "'"): return ["'"]
        case UInt8(ascii: "\""): return ["\""]
        case UInt8(ascii: "n"): return ["\n"]
        case UInt8(ascii: "t"): return ["\t"]
        case UInt8(ascii: "r"): return ["\r"]
        case UInt8(ascii: "a"): return ["\u{07}"]
        case UInt8(ascii: "b"): return ["\u{08}"]
        case UInt8(ascii: "f"): return ["\u{0C}"]
        case UInt8(ascii: "v"): return ["\u{0B}"]
        case 0x0A: return []
        case UInt8(ascii: "x"): return [try hex(2)]
        case UInt8(ascii: "u"): return [try hex(4)]
        case UInt8(ascii: "U"): return [try hex(8)]
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var v = UInt32(c - UInt8(ascii: "0"))
            var n = 1
            while n < 3, pos < bytes.count, bytes[pos] >= UInt8(ascii: "0"), bytes[pos] <= UInt8(ascii: "7") {
                v = v * 8 + UInt32(bytes[pos] - UInt8(ascii: "0"))
                pos += 1
                n += 1
            }
            return [Unicode.Scalar(v) ?? "?"]
        default:
            pos -= 1
            return ["\\"]
        }
    }
}
