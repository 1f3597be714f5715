import Foundation
import LSTMSchema
import Testing
@testable import TensorFormats

@Suite struct ConvertAtomicityTests {
    @Test func failingInputLeavesNothingBehind() throws {
        let s = ConvertScratch()
        let input = s.write("bad.safetensors", truncatedSafetensors)
        let error = try #require(throws: ConversionError.self) {
            try Conversion.run(ConversionRequest(input: input, output: s.path("out.safetensors")))
        }
        #expect(error.kind == .unusable && error.exitCode == 2)
        #expect(error.description.hasPrefix(input + ": 'w' at byte"))
        #expect(s.listing == ["bad.safetensors"])
        #expect(s.bytes("bad.safetensors") == truncatedSafetensors)
    }

    @Test func failingInputKeepsAnExistingOutputEvenWithForce() throws {
        let s = ConvertScratch()
        let input = s.write("bad.safetensors", truncatedSafetensors)
        s.write("out.safetensors", Array("previous".utf8))
        #expect(throws: ConversionError.self) {
            try Conversion.run(ConversionRequest(input: input, output: s.path("out.safetensors"), overwrite: true))
        }
        #expect(s.bytes("out.safetensors") == Array("previous".utf8))
        #expect(s.listing == ["bad.safetensors", "out.safetensors"])
    }

    @Test func existingOutputIsRefusedWithoutForce() throws {
        let s = ConvertScratch()
        let input = try s.validInput()
        let before = s.bytes("in.safetensors")
        s.write("out.safetensors", Array("previous".utf8))
        let error = try #require(throws: ConversionError.self) {
            try Conversion.run(ConversionRequest(input: input, output: s.path("out.safetensors")))
        }
        #expect(error.exitCode == 2)
        #expect(error.description == s.path("out.safetensors") + ": output exists (use --force to replace it)")
        #expect(s.bytes("out.safetensors") == Array("previous".utf8))
        #expect(s.bytes("in.safetensors") == before)

        let report = try Conversion.run(ConversionRequest(input: input, output: s.path("out.safetensors"), overwrite: true))
        #expect(report.tensors.map(\.name) == ["n", "w"])
        #expect(s.bytes("out.safetensors") == before)
        #expect(s.listing == ["in.safetensors", "out.safetensors"])
    }

    @Test func theInputIsNeverTheOutput() throws {
        let s = ConvertScratch()
        let input = try s.validInput()
        let before = s.bytes("in.safetensors")
        let error = try #require(throws: ConversionError.self) {
            try Conversion.run(ConversionRequest(input: input, output: s.dir + "/./in.safetensors", overwrite: true))
        }
        #expect(error.exitCode == 2)
        #expect(error.description.contains("the output is the input file"))
        #expect(s.bytes("in.safetensors") == before)
    }

    @Test func unknownOutputExtensionIsAUsageError() throws {
        let s = ConvertScratch()
        let input = try s.validInput()
        let error = try #require(throws: ConversionError.self) {
            try Conversion.run(ConversionRequest(input: input, output: s.path("out.bin")))
        }
        #expect(error.kind == .usage && error.exitCode == 64)
        #expect(s.listing == ["in.safetensors"])
    }

    /// A write that fails half-way (here: the second tensor cannot be produced) removes its
    /// temporary file and leaves the destination as it was.
    @Test func writeFailingMidwayLeavesTheTargetUntouched() throws {
        let s = ConvertScratch()
        s.write("out.safetensors", Array("previous".utf8))
        do {
            let out = try OutputFile(path: s.path("out.safetensors"), overwrite: true)
            let entries = [
                TensorEntry(NamedTensor(name: "a", tensor: try Tensor(float32: Array(repeating: 1, count: 1 << 20), shape: [1 << 20]))),
                TensorEntry(name: "b", dtype: .float32, shape: [1]) { () throws(FormatError) in
                    throw FormatError(.corrupt, "cannot produce b", entry: "b")
                },
            ]
            #expect(throws: FormatError.self) {
                _ = try TensorFileWriter.write(entries, metadata: [], format: .safetensors, to: out)
            }
            #expect(s.listing.count == 2, "the temporary file exists while the output is open")
        }
        #expect(s.listing == ["out.safetensors"])
        #expect(s.bytes("out.safetensors") == Array("previous".utf8))
    }

    @Test func outputHasTheModeOfAPlainCreate() throws {
        let s = ConvertScratch()
        let input = try s.validInput()
        _ = try Conversion.run(ConversionRequest(input: input, output: s.path("out.npz")))
        let attributes = try FileManager.default.attributesOfItem(atPath: s.path("out.npz"))
        let mask = umask(0)
        umask(mask)
        #expect((attributes[.posixPermissions] as? Int) == Int(0o666 & ~mask))
    }

    @Test func metadataIsCarriedToSafetensorsAndNotedElsewhere() throws {
        let s = ConvertScratch()
        let input = try s.validInput()
        let report = try Conversion.run(ConversionRequest(input: input, output: s.path("out.safetensors")))
        #expect(report.notes.isEmpty)
        let back = try SafetensorsReader.read(path: s.path("out.safetensors"))
        #expect(back.metadata.map(\.key) == ["epoch"] && back.metadata.map(\.value) == ["3"])
        let note = droppedMetadataNote([("epoch", "3")], target: "npz")
        #expect(note == "1 metadata entry (epoch) not written: npz holds tensors only")
    }

    @Test func compressOutsideNpzIsNoted() throws {
        let s = ConvertScratch()
        let input = try s.validInput()
        let report = try Conversion.run(ConversionRequest(input: input, output: s.path("c.safetensors"), compress: true))
        #expect(report.notes == ["--compress applies to .npz outputs only; ignored"])
        let npz = try Conversion.run(ConversionRequest(input: input, output: s.path("c.npz"), compress: true))
        #expect(!npz.notes.contains { $0.contains("--compress") })
    }

    @Test func dtypeCastsFloatsOnlyWithRoundToNearestEven() throws {
        let s = ConvertScratch()
        let input = try s.validInput()
        let report = try Conversion.run(ConversionRequest(input: input, output: s.path("h.safetensors"), dtype: .float16))
        #expect(report.tensors.map(\.dtype) == [.int64, .float16])
        let back = try SafetensorsReader.read(path: s.path("h.safetensors"))
        #expect(try #require(back["w"]).dtype == .float16)
        #expect(try #require(back["w"]).floats() == [1, 2, 3, 4, 5, 6])
        #expect(try #require(back["n"]).int64s() == [7])
    }
}
