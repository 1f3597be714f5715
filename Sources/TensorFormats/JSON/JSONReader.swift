/// A pull parser for JSON text (RFC 8259) in a byte buffer, strict in the ways serde_json is:
/// UTF-8 only (validated inside strings), no lone surrogates in `\u` escapes, no raw control
/// characters in strings, at most ``Limits/jsonDepth`` nested arrays/objects (serde_json's
/// recursion limit), nothing but whitespace after the top-level value.
///
/// Callers walk the document (`beginObject` / `nextMember`, `beginArray` / `nextElement`,
/// `readString`, `readNumber`, `skipValue`) and so allocate only what they keep; ``readValue()``
/// builds a tree and refuses duplicate object keys. Every error is a ``FormatError`` (`.corrupt`,
/// or `.limitExceeded` for depth) whose offset is `baseOffset` + the position in `text`.
///
/// The buffer is not retained: it must outlive the reader.
public struct JSONReader {
    public let text: UnsafeRawBufferPointer
    /// Added to every reported offset (e.g. 8 for a safetensors header).
    public let baseOffset: Int
    public let maxDepth: Int
    /// Position of the next unread byte in `text`.
    public private(set) var position = 0
    private var depth = 0
    private var needsComma: [Bool] = []

    public init(_ text: UnsafeRawBufferPointer, baseOffset: Int = 0, maxDepth: Int = Limits.default.jsonDepth) {
        self.text = text
        self.baseOffset = baseOffset
        self.maxDepth = maxDepth
    }

    /// `baseOffset + position`: the offset of the next unread byte, as reported in errors.
    public var offset: Int { baseOffset + position }

    /// What kind of value starts at the next non-whitespace byte.
    public enum Kind: Sendable { case object, array, string, number, bool, null }

    // MARK: - Structure

    /// The kind of the next value; throws at the end of the text or on a byte that starts no value.
    public mutating func peekKind() throws(FormatError) -> Kind {
        skipWhitespace()
        guard position < text.count else { throw error("unexpected end of the JSON text, expected a value") }
        switch text[position] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: throw error("unexpected \(describeByte(at: position)), expected a value")
        }
    }

    /// Consumes `{`.
    public mutating func beginObject() throws(FormatError) {
        try expectKind(.object, "an object")
        try enterContainer()
    }

    /// The next member's key and the offset of its opening quote, with the `:` consumed (the
    /// value is next); nil after consuming the closing `}`.
    public mutating func nextMember() throws(FormatError) -> (key: String, keyOffset: Int)? {
        skipWhitespace()
        if try closeContainer(UInt8(ascii: "}")) { return nil }
        skipWhitespace()
        guard position < text.count, text[position] == UInt8(ascii: "\"") else {
            throw error(position < text.count ? "unexpected \(describeByte(at: position)), expected a quoted object key"
                                               : "unexpected end of the JSON text inside an object")
        }
        let keyOffset = offset
        let key = try readString()
        skipWhitespace()
        guard position < text.count, text[position] == UInt8(ascii: ":") else {
            throw error("expected ':' after the object key \"\(key)\"")
        }
        position += 1
        return (key, keyOffset)
    }

    /// Consumes `[`.
    public mutating func beginArray() throws(FormatError) {
        try expectKind(.array, "an array")
        try enterContainer()
    }

    /// True when another element follows (its value is next); false after consuming the closing `]`.
    public mutating func nextElement() throws(FormatError) -> Bool {
        skipWhitespace()
        return try !closeContainer(UInt8(ascii: "]"))
    }

    /// Checks that only whitespace follows the top-level value.
    public mutating func finish() throws(FormatError) {
        skipWhitespace()
        if position < text.count {
            throw error("unexpected \(describeByte(at: position)) after the end of the JSON value (trailing characters)")
        }
    }

    // MARK: - Scalars

    /// Reads a string value, decoding escapes.
    public mutating func readString() throws(FormatError) -> String {
        try expectKind(.string, "a string")
        position += 1
        var out: [UInt8] = []
        while true {
            guard position < text.count else { throw error("unexpected end of the JSON text inside a string") }
            let c = text[position]
            switch c {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try readEscape(into: &out)
            case 0..<0x20:
                throw error("control character \(hex(c)) inside a string (must be escaped)")
            case 0x20..<0x80:
                out.append(c)
                position += 1
            default:
                let n = try utf8SequenceLength(at: position)
                out.append(contentsOf: text[position..<(position + n)])
                position += n
            }
        }
    }

    /// Reads a number and returns its text as written; the grammar is JSON's
    /// (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`).
    public mutating func readNumber() throws(FormatError) -> String {
        try expectKind(.number, "a number")
        let start = position
        if text[position] == UInt8(ascii: "-") { position += 1 }
        guard position < text.count, isDigit(text[position]) else { throw error("expected a digit in a number") }
        if text[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < text.count, isDigit(text[position]) { position += 1 }
        }
        if position < text.count, text[position] == UInt8(ascii: ".") {
            position += 1
            guard position < text.count, isDigit(text[position]) else { throw error("expected a digit after the decimal point") }
            while position < text.count, isDigit(text[position]) { position += 1 }
        }
        if position < text.count, text[position] == UInt8(ascii: "e") || text[position] == UInt8(ascii: "E") {
            position += 1
            if position < text.count, text[position] == UInt8(ascii: "+") || text[position] == UInt8(ascii: "-") { position += 1 }
            guard position < text.count, isDigit(text[position]) else { throw error("expected a digit in an exponent") }
            while position < text.count, isDigit(text[position]) { position += 1 }
        }
        return String(decoding: text[start..<position], as: UTF8.self)
    }

    public mutating func readBool() throws(FormatError) -> Bool {
        try expectKind(.bool, "a boolean")
        if try consumeLiteral("true") { return true }
        if try consumeLiteral("false") { return false }
        throw error("invalid literal, expected true or false")
    }

    public mutating func readNull() throws(FormatError) {
        try expectKind(.null, "null")
        guard try consumeLiteral("null") else { throw error("invalid literal, expected null") }
    }

    // MARK: - Whole values

    /// Parses the next value without keeping it (still fully validated, depth-limited).
    public mutating func skipValue() throws(FormatError) {
        switch try peekKind() {
        case .object:
            try beginObject()
            while try nextMember() != nil { try skipValue() }
        case .array:
            try beginArray()
            while try nextElement() { try skipValue() }
        case .string: _ = try readString()
        case .number: _ = try readNumber()
        case .bool: _ = try readBool()
        case .null: try readNull()
        }
    }

    /// Parses the next value into a tree. Duplicate keys in any object are refused.
    public mutating func readValue() throws(FormatError) -> JSONNode {
        let kind = try peekKind()
        let start = offset
        switch kind {
        case .object:
            try beginObject()
            var members: [JSONMember] = []
            var seen: Set<String> = []
            while let (key, keyOffset) = try nextMember() {
                guard seen.insert(key).inserted else {
                    throw FormatError(.corrupt, "duplicate key \"\(key)\" in a JSON object", offset: keyOffset)
                }
                members.append(JSONMember(key: key, keyOffset: keyOffset, value: try readValue()))
            }
            return JSONNode(.object(members), offset: start)
        case .array:
            try beginArray()
            var elements: [JSONNode] = []
            while try nextElement() { elements.append(try readValue()) }
            return JSONNode(.array(elements), offset: start)
        case .string: return JSONNode(.string(try readString()), offset: start)
        case .number: return JSONNode(.number(try readNumber()), offset: start)
        case .bool: return JSONNode(.bool(try readBool()), offset: start)
        case .null:
            try readNull()
            return JSONNode(.null, offset: start)
        }
    }

    /// Parses a whole document: one value followed only by whitespace.
    public static func parse(_ text: UnsafeRawBufferPointer, baseOffset: Int = 0,
                             maxDepth: Int = Limits.default.jsonDepth) throws(FormatError) -> JSONNode {
        var reader = JSONReader(text, baseOffset: baseOffset, maxDepth: maxDepth)
        let value = try reader.readValue()
        try reader.finish()
        return value
    }

    // MARK: - Internals

    private mutating func expectKind(_ kind: Kind, _ name: String) throws(FormatError) {
        let found = try peekKind()
        guard found == kind else {
            throw error("expected \(name), found \(describeByte(at: position))")
        }
    }

    private mutating func enterContainer() throws(FormatError) {
        guard depth < maxDepth else {
            throw FormatError(.limitExceeded, "JSON nesting deeper than \(maxDepth) levels", offset: offset)
        }
        depth += 1
        position += 1
        needsComma.append(false)
    }

    /// At a member/element boundary: consumes `close` and returns true, or consumes the `,` that
    /// must separate elements after the first and returns false.
    private mutating func closeContainer(_ close: UInt8) throws(FormatError) -> Bool {
        guard let commaNeeded = needsComma.last else { throw error("not inside an array or object") }
        guard position < text.count else {
            throw error("unexpected end of the JSON text inside \(close == UInt8(ascii: "}") ? "an object" : "an array")")
        }
        if text[position] == close {
            position += 1
            needsComma.removeLast()
            depth -= 1
            return true
        }
        if commaNeeded {
            guard text[position] == UInt8(ascii: ",") else {
                throw error("unexpected \(describeByte(at: position)), expected ',' or '\(Character(Unicode.Scalar(close)))'")
            }
            position += 1
            skipWhitespace()
        }
        needsComma[needsComma.count - 1] = true
        // A value must follow a comma, not the closing bracket.
        if commaNeeded, position < text.count, text[position] == close {
            throw error("unexpected '\(Character(Unicode.Scalar(close)))' after ','")
        }
        return false
    }

    private mutating func skipWhitespace() {
        while position < text.count {
            switch text[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func consumeLiteral(_ word: StaticString) throws(FormatError) -> Bool {
        let n = word.utf8CodeUnitCount
        guard position + n <= text.count else { return false }
        let matches = word.withUTF8Buffer { w in
            (0..<n).allSatisfy { text[position + $0] == w[$0] }
        }
        if matches { position += n }
        return matches
    }

    private mutating func readEscape(into out: inout [UInt8]) throws(FormatError) {
        guard position + 1 < text.count else { throw error("unexpected end of the JSON text inside an escape") }
        let c = text[position + 1]
        position += 2
        switch c {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try readHex4())
            if scalar >= 0xD800, scalar < 0xDC00 {
                guard position + 1 < text.count, text[position] == UInt8(ascii: "\\"), text[position + 1] == UInt8(ascii: "u") else {
                    throw error("lone leading surrogate in a \\u escape")
                }
                position += 2
                let low = UInt32(try readHex4())
                guard low >= 0xDC00, low < 0xE000 else { throw error("lone leading surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00, scalar < 0xE000 {
                throw error("lone trailing surrogate in a \\u escape")
            }
            guard let s = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
            out.append(contentsOf: String(Character(s)).utf8)
        default:
            position -= 1
            throw error("invalid escape \\\(describeByte(at: position))")
        }
    }

    private mutating func readHex4() throws(FormatError) -> UInt16 {
        guard position + 4 <= text.count else { throw error("unexpected end of the JSON text inside a \\u escape") }
        var v: UInt16 = 0
        for i in 0..<4 {
            let c = text[position + i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default:
                position += i
                throw error("invalid hex digit \(describeByte(at: position)) in a \\u escape")
            }
            v = v << 4 | UInt16(d)
        }
        position += 4
        return v
    }

    /// Length of the well-formed UTF-8 sequence starting at `i` (a non-ASCII lead byte).
    private func utf8SequenceLength(at i: Int) throws(FormatError) -> Int {
        let b0 = text[i]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: throw FormatError(.corrupt, "invalid UTF-8 byte \(hex(b0))", offset: baseOffset + i)
        }
        for k in 1..<n {
            guard i + k < text.count else {
                throw FormatError(.corrupt, "truncated UTF-8 sequence", offset: baseOffset + i)
            }
            let b = text[i + k]
            let (l, h) = k == 1 ? (lo, hi) : (UInt8(0x80), UInt8(0xBF))
            guard b >= l, b <= h else {
                throw FormatError(.corrupt, "invalid UTF-8 sequence", offset: baseOffset + i)
            }
        }
        return n
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x\(digits[Int(b >> 4)])\(digits[Int(b & 15)])"
    }

    private func describeByte(at i: Int) -> String {
        guard i < text.count else { return "end of text" }
        let b = text[i]
        if b >= 0x21, b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte \(hex(b))"
    }

    private func error(_ message: String) -> FormatError {
        FormatError(.corrupt, "invalid JSON: \(message)", offset: offset)
    }
}
