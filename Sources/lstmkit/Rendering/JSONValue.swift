/// A JSON value whose objects keep their keys in the order given, so reports print in DESIGN §3's
/// order and the same input always gives the same bytes.
///
/// ```swift
/// let v: JSONValue = .object([("name", .string("x")), ("shape", .array([.int(2), .int(3)]))])
/// console.print(v.rendered())
/// ```
///
/// `rendered()` indents by two spaces and keeps "flat" containers (only scalars, or arrays of
/// scalars) on one line, so each tensor, LSTM and problem is one readable line.
indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    /// Non-finite values print as null (JSON has no NaN / Infinity).
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }

    /// `nil` → null.
    static func string(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }

    /// Pretty-printed text without a trailing newline.
    func rendered() -> String {
        var out = ""
        write(to: &out, indent: "")
        return out
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    private var isFlat: Bool {
        switch self {
        case .array(let items): items.allSatisfy { $0.isScalar }
        case .object(let members): members.allSatisfy { $0.1.isScalar || ($0.1.isFlat && !$0.1.isObject) }
        default: true
        }
    }

    private var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    private func write(to out: inout String, indent: String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? JSONValue.number(d) : "null"
        case .string(let s): JSONValue.quote(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            if isFlat {
                out += "["
                for (i, item) in items.enumerated() {
                    if i > 0 { out += ", " }
                    item.write(to: &out, indent: indent)
                }
                out += "]"
                return
            }
            let inner = indent + "  "
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += inner
                item.write(to: &out, indent: inner)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += indent + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            if isFlat {
                out += "{"
                for (i, (key, value)) in members.enumerated() {
                    if i > 0 { out += ", " }
                    JSONValue.quote(key, into: &out)
                    out += ": "
                    value.write(to: &out, indent: indent)
                }
                out += "}"
                return
            }
            let inner = indent + "  "
            out += "{\n"
            for (i, (key, value)) in members.enumerated() {
                out += inner
                JSONValue.quote(key, into: &out)
                out += ": "
                value.write(to: &out, indent: inner)
                out += i + 1 < members.count ? ",\n" : "\n"
            }
            out += indent + "}"
        }
    }

    /// Shortest text that reads back as the same Double (`1.0`, `1e-05`, `2.5e+20`: all valid JSON).
    private static func number(_ d: Double) -> String { d.description }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
