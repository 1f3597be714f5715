/// A parsed JSON value with the byte offset at which it starts, as produced by ``JSONReader``.
///
/// Objects keep their members in document order (duplicates are refused by the parser), and
/// numbers keep their source text, so that integers are never routed through a `Double`.
public struct JSONNode: Sendable {
    public indirect enum Value: Sendable {
        case null
        case bool(Bool)
        /// The number exactly as written (`12`, `-0`, `1.5e3`).
        case number(String)
        case string(String)
        case array([JSONNode])
        case object([JSONMember])
    }

    public var value: Value
    /// Offset of the value's first byte in the parsed text.
    public var offset: Int

    public init(_ value: Value, offset: Int) {
        self.value = value
        self.offset = offset
    }

    /// The members of an object, nil for any other value.
    public var members: [JSONMember]? {
        if case .object(let m) = value { return m }
        return nil
    }

    /// The elements of an array, nil for any other value.
    public var elements: [JSONNode]? {
        if case .array(let e) = value { return e }
        return nil
    }

    public var string: String? {
        if case .string(let s) = value { return s }
        return nil
    }

    public var isNull: Bool {
        if case .null = value { return true }
        return false
    }

    /// The value as a non-negative integer: a number written without sign, fraction or exponent
    /// that fits in `Int`. Nil otherwise (`-1`, `-0`, `2.0`, `1e3` and out-of-range values included),
    /// which is how serde_json deserializes a `usize`.
    public var nonNegativeInteger: Int? {
        guard case .number(let text) = value, !text.isEmpty else { return nil }
        var v = 0
        for c in text.utf8 {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"),
                  let m = Checked.mul(v, 10), let s = Checked.add(m, Int(c - UInt8(ascii: "0"))) else { return nil }
            v = s
        }
        return v
    }

    /// A short name of the value's kind for messages ("a string", "an array", ...).
    public var kindDescription: String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number(let t): "the number \(t)"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// One `"key": value` member of a JSON object.
public struct JSONMember: Sendable {
    public var key: String
    /// Offset of the key's opening quote in the parsed text.
    public var keyOffset: Int
    public var value: JSONNode

    public init(key: String, keyOffset: Int, value: JSONNode) {
        self.key = key
        self.keyOffset = keyOffset
        self.value = value
    }
}
