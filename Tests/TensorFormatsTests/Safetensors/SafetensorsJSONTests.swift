import Testing
@testable import TensorFormats

/// The JSON reader/writer behind safetensors headers.
@Suite struct SafetensorsJSONTests {
    func parse(_ text: String) throws -> JSONNode {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { raw in try JSONReader.parse(raw) }
    }

    @Test func parsesEveryKindOfValue() throws {
        let v = try parse(#" {"a": [1, -2.5e3, true, false, null, "s\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00"], "b": {}} "#)
        let members = try #require(v.members)
        #expect(members.map(\.key) == ["a", "b"])
        #expect(members[0].keyOffset == 2)
        let a = try #require(members[0].value.elements)
        #expect(a.count == 6)
        if case .number(let t) = a[1].value { #expect(t == "-2.5e3") } else { Issue.record("not a number") }
        if case .bool(let b) = a[2].value { #expect(b) } else { Issue.record("not a bool") }
        #expect(a[4].isNull)
        #expect(a[5].string == "s\"\\/\u{08}\u{0C}\n\r\tAé😀")
        #expect(members[1].value.members?.isEmpty == true)
    }

    @Test func integersAreReadWithoutRounding() throws {
        #expect(try parse("9007199254740993").nonNegativeInteger == 9_007_199_254_740_993)
        #expect(try parse("9223372036854775807").nonNegativeInteger == Int.max)
        #expect(try parse("9223372036854775808").nonNegativeInteger == nil)
        for t in ["-0", "-1", "1.0", "1e2", "0.5"] {
            #expect(try parse(t).nonNegativeInteger == nil, "\(t)")
        }
    }

    @Test func duplicateKeysAreRefusedAtTheSecondKey() throws {
        let error = try #require(throws: FormatError.self) { try parse(#"{"x": {"k": 1, "k": 2}}"#) }
        #expect(error.message == "duplicate key \"k\" in a JSON object")
        #expect(error.offset == 15)
    }

    @Test(arguments: [
        ("", "unexpected end of the JSON text, expected a value", 0),
        ("01", "unexpected '1' after the end of the JSON value (trailing characters)", 1),
        ("1.", "expected a digit after the decimal point", 2),
        ("-", "expected a digit in a number", 1),
        ("1e+", "expected a digit in an exponent", 3),
        ("[1 2]", "unexpected '2', expected ',' or ']'", 3),
        ("[1,]", "unexpected ']' after ','", 3),
        ("{\"a\" 1}", "expected ':' after the object key \"a\"", 5),
        ("{1:2}", "unexpected '1', expected a quoted object key", 1),
        ("tru", "invalid literal, expected true or false", 0),
        ("nul", "invalid literal, expected null", 0),
        ("\"\\x\"", "invalid escape \\'x'", 2),
        ("\"\\u12G4\"", "invalid hex digit 'G' in a \\u escape", 5),
        ("\"\\udc00\"", "lone trailing surrogate in a \\u escape", 7),
        ("\"abc", "unexpected end of the JSON text inside a string", 4),
        ("'a'", "unexpected ''', expected a value", 0),
    ])
    func syntaxErrorsNameTheOffset(_ text: String, _ message: String, _ offset: Int) throws {
        let error = try #require(throws: FormatError.self) { try parse(text) }
        #expect(error.reason == .corrupt)
        #expect(error.message == "invalid JSON: " + message)
        #expect(error.offset == offset)
    }

    @Test func invalidUTF8IsRefused() throws {
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFF]] {
            let text: [UInt8] = [0x22] + bad + [0x22]
            let error = try #require(throws: FormatError.self) {
                try text.withUnsafeBytes { raw in try JSONReader.parse(raw) }
            }
            #expect(error.offset == 1)
            #expect(error.message.contains("UTF-8"), "\(bad): \(error.message)")
        }
    }

    @Test func depthIsLimited() throws {
        #expect(throws: Never.self) { try parse(String(repeating: "[", count: 127) + String(repeating: "]", count: 127)) }
        let error = try #require(throws: FormatError.self) {
            try parse(String(repeating: "[", count: 128) + String(repeating: "]", count: 128))
        }
        #expect(error.reason == .limitExceeded)
        #expect(error.offset == 127)
    }

    @Test func quotingMatchesSerdeJSON() {
        #expect(JSONText.quoted("a\"b\\c/\u{08}\u{0C}\n\r\t\u{01}\u{1F}\u{7F}é") == "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7F}é\"")
    }
}
