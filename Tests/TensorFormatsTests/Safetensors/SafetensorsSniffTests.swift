import Testing
@testable import TensorFormats

/// Recognising safetensors by content, including damaged files, so that the reader (not a generic
/// "not a tensor file") explains what is wrong.
@Suite struct SafetensorsSniffTests {
    func sniff(_ bytes: [UInt8]) -> FileFormat? {
        bytes.withUnsafeBytes { raw in
            try? FormatRegistry.recognise(MappedFile(copying: raw, path: "sniffed")).descriptor.format
        }
    }

    @Test func headerLengthsThatLookLikeOtherMagicsStillSniff() {
        let header = "{" + String(repeating: " ", count: 127)
        #expect(sniff(safetensorsBytes(header)) == .safetensors, "a 128-byte header starts with 0x80, like a pickle")
        #expect(sniff(safetensorsBytes("\n\t {}")) == .safetensors)
        #expect(sniff(safetensorsBytes("{}", length: 5000)) == .safetensors, "length past the end")
        #expect(sniff(safetensorsBytes("{}", length: 100_000_001)) == .safetensors, "length over the cap")
        #expect(sniff([0x28, 0x01, 0, 0, 0]) == .safetensors, "cut inside the length field")
    }

    @Test func otherContentDoesNotSniffAsSafetensors() {
        #expect(sniff(safetensorsBytes("{}", length: 1 << 41)) == nil)
        #expect(sniff(safetensorsBytes("[]")) == nil)
        #expect(sniff([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20]) == .pytorchLegacy)
        #expect(sniff([0x08, 0x07, 0x12, 0x07] + Array("pytorch{".utf8)) == .onnx)
        #expect(sniff([0x28, 0x01, 0, 0, 1]) == nil)
        #expect(sniff([1, 2, 3]) == nil)
    }

    @Test(arguments: [
        (safetensorsBytes("{}", length: 5000), "truncated: header length 5000 bytes reaches past the end of the 10-byte file"),
        (safetensorsBytes("{}", length: 100_000_001), "header length 100000001 bytes is over the limit of 100000000 bytes"),
        ([0x28, 0x01, 0, 0, 0], "truncated: the file is 5 bytes, shorter than the 8-byte header length"),
    ])
    func damagedFilesGetTheReadersSentence(_ bytes: [UInt8], _ message: String) throws {
        let scratch = SafetensorsScratch()
        let path = scratch.file("x.bin", bytes)
        let error = try #require(throws: FormatError.self) { try TensorFileIO.read(path: path) }
        #expect(error.description == "\(path) at byte 0: \(message)")
    }
}
