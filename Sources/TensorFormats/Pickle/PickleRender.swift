/// Python-like text for pickle values: type names for error messages and a bounded `repr` for
/// metadata (`(0.9, 0.999)`, `argparse.Namespace(lr=0.1)`, `tensor(float32, [3])`).
extension PickleValue {
    /// The Python type name (`int`, `dict`, `torch.Tensor`, the placeholder's class).
    public var pythonTypeName: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int, .bigInt: "an int"
        case .float: "a float"
        case .string: "a str"
        case .bytes: "bytes"
        case .tuple: "a tuple"
        case .list: "a list"
        case .dict: "a dict"
        case .set(let s): s.isFrozen ? "a frozenset" : "a set"
        case .global(let g): "the global \(g)"
        case .object(let o): "a \(o.typeName) object"
        case .storageType(let t): "the storage class of \(t.name)"
        case .dtype(let t): "the dtype torch.\(t.name)"
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }

    /// A Python-style `repr`, cut at about `limit` characters (marked with `…`). Strings at the top
    /// level are given without quotes. Cycles print as `...`, like Python.
    public func rendered(limit: Int = 1000) -> String {
        if case .string(let s) = self { return s.count > limit ? String(s.prefix(limit)) + "…" : s }
        var r = PickleRenderer(limit: limit)
        r.render(self, depth: 0)
        return r.truncated ? r.text + "…" : r.text
    }
}

private struct PickleRenderer {
    let limit: Int
    var text = ""
    var truncated = false
    var open: Set<ObjectIdentifier> = []

    init(limit: Int) { self.limit = limit }

    var full: Bool { truncated || text.utf8.count >= limit }

    mutating func emit(_ s: String) {
        guard !truncated else { return }
        if text.utf8.count + s.utf8.count > limit {
            text += String(s.prefix(max(0, limit - text.utf8.count)))
            truncated = true
        } else {
            text += s
        }
    }

    mutating func render(_ v: PickleValue, depth: Int) {
        guard !full else { truncated = true; return }
        guard depth < 64 else { emit("..."); return }
        switch v {
        case .none: emit("None")
        case .bool(let b): emit(b ? "True" : "False")
        case .int(let i): emit(String(i))
        case .bigInt(let b): emit(PickleText.decimal(b))
        case .float(let d): emit(Self.float(d))
        case .string(let s): emit(Self.quoted(s))
        case .bytes(let b): emit(Self.bytes(b))
        case .tuple(let t):
            sequence(t, t.items, "(", t.items.count == 1 ? ",)" : ")", depth)
        case .list(let l):
            sequence(l, l.items, "[", "]", depth)
        case .set(let s):
            if s.items.isEmpty { emit(s.isFrozen ? "frozenset()" : "set()"); return }
            sequence(s, s.items, s.isFrozen ? "frozenset({" : "{", s.isFrozen ? "})" : "}", depth)
        case .dict(let d):
            guard open.insert(ObjectIdentifier(d)).inserted else { emit("{...}"); return }
            emit(d.isOrdered ? "OrderedDict({" : "{")
            var first = true
            for (k, value) in d.entries {
                if full { break }
                if !first { emit(", ") }
                first = false
                render(k, depth: depth + 1)
                emit(": ")
                render(value, depth: depth + 1)
            }
            emit(d.isOrdered ? "})" : "}")
            open.remove(ObjectIdentifier(d))
        case .global(let g): emit(g.description)
        case .object(let o):
            guard open.insert(ObjectIdentifier(o)).inserted else { emit("..."); return }
            emit(o.typeName + "(")
            var first = true
            for a in o.args {
                if full { break }
                if !first { emit(", ") }
                first = false
                render(a, depth: depth + 1)
            }
            if let state = o.stateDict {
                for (k, value) in state.entries {
                    if full { break }
                    if !first { emit(", ") }
                    first = false
                    if case .string(let name) = k { emit(name) } else { render(k, depth: depth + 1) }
                    emit("=")
                    render(value, depth: depth + 1)
                }
            } else if let state = o.state {
                if !first { emit(", ") }
                emit("state=")
                render(state, depth: depth + 1)
            }
            emit(")")
            open.remove(ObjectIdentifier(o))
        case .storageType(let t): emit("torch.storage<\(t.name)>")
        case .dtype(let t): emit("torch.\(t.name)")
        case .storage(let s): emit("storage(\(s.type.name), key '\(s.key)', \(s.numel) elements)")
        case .tensor(let t): emit("tensor(\(t.type.name), \(t.shape))")
        }
    }

    mutating func sequence(_ owner: AnyObject, _ items: [PickleValue], _ lead: String, _ tail: String, _ depth: Int) {
        guard open.insert(ObjectIdentifier(owner)).inserted else { emit("[...]"); return }
        emit(lead)
        for (i, item) in items.enumerated() {
            if full { break }
            if i > 0 { emit(", ") }
            render(item, depth: depth + 1)
        }
        emit(tail)
        open.remove(ObjectIdentifier(owner))
    }

    static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        return d.description
    }

    static func quoted(_ s: String) -> String {
        let quote: Unicode.Scalar = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case quote: out += "\\" + String(quote)
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hex2(UInt8(scalar.value))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    static func bytes(_ b: [UInt8]) -> String {
        var out = "b'"
        for c in b {
            switch c {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "'"): out += "\\'"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(c))
            default: out += "\\x" + hex2(c)
            }
        }
        return out + "'"
    }

    static func hex2(_ v: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(v >> 4)], digits[Int(v & 0xF)]])
    }
}
