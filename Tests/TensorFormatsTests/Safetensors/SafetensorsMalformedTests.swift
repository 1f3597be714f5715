import Testing
@testable import TensorFormats

/// One byte-literal file per error case of ``SafetensorsReader``, each asserting that exact case
/// (reason, sentence, tensor, byte offset).
@Suite struct SafetensorsMalformedTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var bytes: [UInt8]
        var reason: FormatError.Reason
        var message: String
        var entry: String?
        var offset: Int?
        var testDescription: String { label }
    }

    static let f32x2 = #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
    static let eight = [UInt8](repeating: 0, count: 8)

    static let cases: [Case] = [
        Case(label: "shorter than the length field", bytes: [1, 0, 0], reason: .truncated,
             message: "truncated: the file is 3 bytes, shorter than the 8-byte header length", offset: 0),
        Case(label: "header over 100 MB", bytes: safetensorsBytes("{}", length: 100_000_001), reason: .limitExceeded,
             message: "header length 100000001 bytes is over the limit of 100000000 bytes", offset: 0),
        Case(label: "header length past the end", bytes: safetensorsBytes("{}", length: 3), reason: .truncated,
             message: "truncated: header length 3 bytes reaches past the end of the 10-byte file", offset: 0),
        Case(label: "huge u64 header length", bytes: safetensorsBytes("{}", length: UInt64.max), reason: .limitExceeded,
             message: "header length 18446744073709551615 bytes is over the limit", offset: 0),
        Case(label: "empty header", bytes: safetensorsBytes(""), reason: .corrupt,
             message: "invalid JSON: unexpected end of the JSON text, expected a value", offset: 8),
        Case(label: "header not an object", bytes: safetensorsBytes("[]"), reason: .corrupt,
             message: "header is not a JSON object", offset: 8),
        Case(label: "NUL padding", bytes: safetensorsBytes("{}\0\0\0\0\0\0"), reason: .corrupt,
             message: "invalid JSON: unexpected byte 0x00 after the end of the JSON value (trailing characters)", offset: 10),
        Case(label: "invalid UTF-8 in a name", bytes: safetensorsBytes(header: Array("{\"a".utf8) + [0xC3, 0x28] + Array("\":1}".utf8)), reason: .corrupt,
             message: "invalid UTF-8 sequence", offset: 11),
        Case(label: "unterminated object", bytes: safetensorsBytes(#"{"a":"#), reason: .corrupt,
             message: "invalid JSON: unexpected end of the JSON text, expected a value", entry: "a", offset: 13),
        Case(label: "trailing comma", bytes: safetensorsBytes(#"{"__metadata__":{},}"#), reason: .corrupt,
             message: "invalid JSON: unexpected '}' after ','", offset: 27),
        Case(label: "lone surrogate", bytes: safetensorsBytes(#"{"\ud800":1}"#), reason: .corrupt,
             message: "invalid JSON: lone leading surrogate in a \\u escape", offset: 16),
        Case(label: "raw control character in a string", bytes: safetensorsBytes("{\"a\tb\":1}"), reason: .corrupt,
             message: "invalid JSON: control character 0x09 inside a string", offset: 11),
        Case(label: "nesting deeper than serde_json's limit",
             bytes: safetensorsBytes(#"{"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":"# + String(repeating: "[", count: 126)
                                      + String(repeating: "]", count: 126) + "}}"),
             reason: .limitExceeded, message: "JSON nesting deeper than 127 levels", entry: "t", offset: 8 + 56 + 125),
        Case(label: "duplicate tensor name",
             bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#),
             reason: .corrupt, message: "duplicate tensor name in the header", entry: "a", offset: 8 + 53),
        Case(label: "duplicate __metadata__", bytes: safetensorsBytes(#"{"__metadata__":{},"__metadata__":null}"#), reason: .corrupt,
             message: "duplicate key \"__metadata__\" in the header", entry: "__metadata__", offset: 8 + 19),
        Case(label: "duplicate metadata key", bytes: safetensorsBytes(#"{"__metadata__":{"k":"1","k":"2"}}"#), reason: .corrupt,
             message: "duplicate key \"k\" in __metadata__", entry: "__metadata__", offset: 8 + 25),
        Case(label: "duplicate field in an entry",
             bytes: safetensorsBytes(#"{"a":{"dtype":"U8","dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#),
             reason: .corrupt, message: "duplicate field \"dtype\"", entry: "a", offset: 8 + 19),
        Case(label: "metadata value not a string", bytes: safetensorsBytes(#"{"__metadata__":{"x":1}}"#), reason: .corrupt,
             message: "__metadata__ value of \"x\" is not a string", entry: "__metadata__", offset: 8 + 21),
        Case(label: "metadata not an object", bytes: safetensorsBytes(#"{"__metadata__":"x"}"#), reason: .corrupt,
             message: "__metadata__ must be an object of strings or null", entry: "__metadata__", offset: 8 + 16),
        Case(label: "entry not an object", bytes: safetensorsBytes(#"{"a":[1]}"#), reason: .corrupt,
             message: "tensor entry is not a JSON object", entry: "a", offset: 8 + 5),
        Case(label: "missing dtype", bytes: safetensorsBytes(#"{"a":{"shape":[0],"data_offsets":[0,0]}}"#), reason: .corrupt,
             message: "tensor entry has no dtype", entry: "a", offset: 8 + 5),
        Case(label: "missing shape", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","data_offsets":[0,0]}}"#), reason: .corrupt,
             message: "tensor entry has no shape", entry: "a", offset: 8 + 5),
        Case(label: "missing data_offsets", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[0]}}"#), reason: .corrupt,
             message: "tensor entry has no data_offsets", entry: "a", offset: 8 + 5),
        Case(label: "dtype not a string", bytes: safetensorsBytes(#"{"a":{"dtype":8,"shape":[0],"data_offsets":[0,0]}}"#), reason: .corrupt,
             message: "dtype is not a string", entry: "a", offset: 8 + 14),
        Case(label: "unknown dtype (names are case-sensitive)",
             bytes: safetensorsBytes(#"{"a":{"dtype":"f32","shape":[0],"data_offsets":[0,0]}}"#), reason: .corrupt,
             message: "unknown dtype \"f32\"", entry: "a", offset: 8 + 14),
        Case(label: "negative dimension", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}"#), reason: .corrupt,
             message: "shape holds the number -1, expected a non-negative integer", entry: "a", offset: 8 + 28),
        Case(label: "fractional dimension", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[2.0],"data_offsets":[0,2]}}"#), reason: .corrupt,
             message: "shape holds the number 2.0, expected a non-negative integer", entry: "a", offset: 8 + 28),
        Case(label: "dimension beyond Int", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,0]}}"#),
             reason: .corrupt, message: "shape holds the number 18446744073709551616, expected a non-negative integer", entry: "a", offset: 8 + 28),
        Case(label: "nested array as a dimension", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}}"#, data: [0]),
             reason: .corrupt, message: "shape holds an array, expected a non-negative integer", entry: "a", offset: 8 + 28),
        Case(label: "shape not an array", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":2,"data_offsets":[0,2]}}"#), reason: .corrupt,
             message: "shape is not an array", entry: "a", offset: 8 + 27),
        Case(label: "rank over the limit",
             bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":["# + Array(repeating: "1", count: 33).joined(separator: ",") + #"],"data_offsets":[0,1]}}"#),
             reason: .limitExceeded, message: "shape has more than 32 dimensions", entry: "a", offset: 8 + 28 + 64),
        Case(label: "one data offset", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0]}}"#), reason: .corrupt,
             message: "data_offsets must hold 2 integers, found 1", entry: "a", offset: 8 + 46),
        Case(label: "three data offsets", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0,0]}}"#), reason: .corrupt,
             message: "data_offsets must hold 2 integers, found more", entry: "a", offset: 8 + 51),
        Case(label: "gap before the first tensor", bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [0, 0]),
             reason: .corrupt, message: "data_offsets [1, 2] leave a gap after the previous tensor's data, which ends at 0", entry: "a", offset: 8 + 53 + 1),
        Case(label: "gap between tensors",
             bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}"#, data: [0, 0, 0]),
             reason: .corrupt, message: "data_offsets [2, 3] leave a gap after the previous tensor's data, which ends at 1", entry: "b", offset: 8 + 105 + 2),
        Case(label: "overlapping tensors",
             bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#, data: [0, 0, 0]),
             reason: .corrupt, message: "data_offsets [1, 3] overlap the previous tensor's data, which ends at 2", entry: "b", offset: 8 + 105 + 1),
        Case(label: "aliased tensors (same bytes twice)",
             bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, data: [0, 0]),
             reason: .corrupt, message: "data_offsets [0, 2] overlap the previous tensor's data, which ends at 2", entry: "b", offset: 8 + 105),
        Case(label: "end before begin",
             bytes: safetensorsBytes(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"c":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}"#, data: [0]),
             reason: .corrupt, message: "data_offsets [1, 0] end before they begin", entry: "c", offset: 8 + 157 + 1),
        Case(label: "size does not match the shape",
             bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight), reason: .corrupt,
             message: "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8", entry: "a", offset: 8 + 54),
        Case(label: "element count × bits overflows",
             bytes: safetensorsBytes(#"{"a":{"dtype":"F64","shape":[4611686018427387904,2],"data_offsets":[0,0]}}"#), reason: .limitExceeded,
             message: "size of shape [4611686018427387904, 2] of F64 overflows", entry: "a", offset: 8 + 5),
        Case(label: "sub-byte tensor that is not whole bytes",
             bytes: safetensorsBytes(#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, data: [0, 0]), reason: .corrupt,
             message: "shape [3] of F4 is 12 bits, not whole bytes", entry: "a", offset: 8 + 5),
        Case(label: "data shorter than the offsets say",
             bytes: safetensorsBytes("{\"a\":\(f32x2)}", data: [0, 0, 0, 0]), reason: .truncated,
             message: "truncated: tensor data ends at byte 70, past the end of the 66-byte file", entry: "a", offset: 62),
        Case(label: "trailing bytes after the data",
             bytes: safetensorsBytes("{\"a\":\(f32x2)}", data: eight + [0]), reason: .corrupt,
             message: "1 trailing byte after the last tensor's data", offset: 70),
        Case(label: "dtype lstmkit does not hold",
             bytes: safetensorsBytes(#"{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#, data: [0, 0]), reason: .unsupported,
             message: "dtype F8_E4M3 is not supported", entry: "a", offset: 8 + 14),
        Case(label: "complex dtype", bytes: safetensorsBytes(#"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: eight), reason: .unsupported,
             message: "dtype C64 is not supported", entry: "a", offset: 8 + 14),
    ]

    @Test(arguments: cases) func malformedFileIsRefusedWithItsExactCase(_ c: Case) throws {
        let scratch = SafetensorsScratch()
        let path = scratch.file("bad.safetensors", c.bytes)
        let error = try #require(throws: FormatError.self) { try SafetensorsReader.read(path: path) }
        #expect(error.reason == c.reason)
        #expect(error.message.hasPrefix(c.message), "message: \(error.message)")
        #expect(error.entry == c.entry)
        #expect(error.offset == c.offset)
        #expect(error.file == path)
        #expect(error.description.hasPrefix(path))
    }

    /// What the reference implementation accepts is accepted here too.
    @Test func tolerancesOfTheReferenceImplementation() throws {
        let scratch = SafetensorsScratch()
        let accepted: [(String, [UInt8])] = [
            ("leading and trailing whitespace", safetensorsBytes(" \n\t{\"a\":\(Self.f32x2)}\r\n ", data: Self.eight)),
            ("unknown entry field", safetensorsBytes(#"{"a":{"extra":{"x":[1,{"y":null}]},"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [7])),
            ("null metadata", safetensorsBytes(#"{"__metadata__":null,"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [7])),
            ("key order inside an entry", safetensorsBytes(#"{"a":{"data_offsets":[0,1],"shape":[1],"dtype":"U8"}}"#, data: [7])),
            ("empty tensors sharing an offset", safetensorsBytes(#"{"z":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"y":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [7])),
            ("escaped names", safetensorsBytes(#"{"\u00e9\ud834\udd1e\/":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [7])),
            ("unpadded header", safetensorsBytes(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [7])),
            ("empty", safetensorsBytes("{}")),
        ]
        for (label, bytes) in accepted {
            let path = scratch.file("ok.safetensors", bytes)
            #expect(throws: Never.self, "\(label)") { try SafetensorsReader.read(path: path) }
        }
        let tie = try SafetensorsReader.read(path: scratch.file("tie.safetensors", accepted[4].1))
        #expect(tie.tensors.map(\.name) == ["z", "y", "a"])
        #expect(try #require(tie["y"]).shape == [2, 0])
        let escaped = try SafetensorsReader.read(path: scratch.file("esc.safetensors", accepted[5].1))
        #expect(escaped.tensors.map(\.name) == ["é𝄞/"])
    }
}
